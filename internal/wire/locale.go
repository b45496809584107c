package wire

import (
	"strconv"
	"strings"

	"colachat/internal/chat"
)

// maxLanguageRanges bounds the work on a hostile Accept-Language header.
const maxLanguageRanges = 16

// AcceptedLocale picks, from an Accept-Language header ("en-US,en;q=0.9,ko;q=0.8"), the
// language colachat has ("ko" or "en") that the client ranks highest, "" when it ranks
// neither (or the header is empty or malformed). Ties go to the one listed first.
func AcceptedLocale(header string) string {
	best, bestQ := "", 0.0
	for i, part := range strings.Split(header, ",") {
		if i == maxLanguageRanges {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		locale := chat.NormalizeLocale(tag)
		if locale == "" {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			parsed, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || parsed < 0 || parsed > 1 {
				continue
			}
			q = parsed
		}
		if q > bestQ {
			best, bestQ = locale, q
		}
	}
	return best
}
