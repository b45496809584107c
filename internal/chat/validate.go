package chat

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input limits, in characters.
const (
	MaxTitle     = 30
	MaxPassword  = 12
	MaxNickname  = 10
	MaxContent   = 1000
	MaxNamespace = 50
	MinCapacity  = 2
	MaxCapacity  = 1000 // the largest room any deployment allows (Config.MaxCapacity)
	// DefaultMaxCapacity is the largest room when Config.MaxCapacity is not set.
	DefaultMaxCapacity = 1000
	maxID              = 64
)

// checkText validates a required text field: valid UTF-8, 1..max characters, not blank.
func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return newError(CodeBadRequest, field+": not valid UTF-8")
	}
	if strings.TrimSpace(v) == "" {
		return newError(CodeBadRequest, field+": required")
	}
	if n := utf8.RuneCountInString(v); n > max {
		return newError(CodeBadRequest, field+": at most "+strconv.Itoa(max)+" characters")
	}
	return nil
}

// validID reports whether s can be an id: short printable ASCII. Anything else (garbage from
// a client) is simply not found, without a store round trip.
func validID(s string) bool {
	if s == "" || len(s) > maxID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// checkNamespace validates a namespace name (without its leading slash).
func checkNamespace(ns string) error {
	if err := checkText("namespace", ns, MaxNamespace); err != nil {
		return err
	}
	for _, r := range ns {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return newError(CodeBadRequest, "namespace: no spaces or control characters")
		}
	}
	return nil
}

// sameNamespace compares namespaces ignoring leading slashes ("/anonymous" is "anonymous").
func sameNamespace(a, b string) bool {
	return strings.TrimLeft(a, "/") == strings.TrimLeft(b, "/")
}
