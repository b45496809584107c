package wire

import (
	"strings"
	"testing"
)

func TestAcceptedLocale(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", ""},
		{"en-US,en;q=0.9", "en"},
		{"ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"},
		{"fr-FR,fr;q=0.9,en;q=0.5,ko;q=0.4", "en"},
		{"fr, de", ""},
		{"ko;q=0.2, en;q=0.8", "en"},
		{"en;q=0, ko;q=0.1", "ko"},
		{"EN-gb", "en"},
		{"en;q=2, ko", "ko"},                // an out-of-range weight is ignored
		{"en;q=abc", ""},                    // so is a malformed one
		{"*", ""},                           // no preference among ours
		{"ko_KR", "ko"},                     // a common misspelling
		{"  en  ;  q=0.5 , ko;q=0.5", "en"}, // a tie goes to the first
	}
	for _, tt := range tests {
		if got := AcceptedLocale(tt.header); got != tt.want {
			t.Errorf("AcceptedLocale(%q): got %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestAcceptedLocaleLooksAtTheFirstRangesOnly(t *testing.T) {
	header := strings.Repeat("fr,", 100) + "en"
	if got := AcceptedLocale(header); got != "" {
		t.Fatalf("got %q for a language past the first %d ranges, want none", got, maxLanguageRanges)
	}
}

func FuzzAcceptedLocale(f *testing.F) {
	for _, seed := range []string{"", "en-US,en;q=0.9", "ko;q=0.2, en;q=0.8", "en;q=", ";;,,", "ko;q=1e400", "en;q=NaN"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		switch got := AcceptedLocale(header); got {
		case "", "ko", "en":
		default:
			t.Fatalf("AcceptedLocale(%q) = %q, want ko, en or empty", header, got)
		}
	})
}
