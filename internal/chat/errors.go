package chat

import "errors"

// ErrNotFound is what a Store returns for a missing row.
var ErrNotFound = errors.New("not found")

// ErrUnavailable is what a Store wraps when the database cannot be reached: the request is
// refused with CodeUnavailable (nothing was stored) and can be tried again.
var ErrUnavailable = errors.New("database unavailable")

// Code is a stable, machine-readable reason for a refused request (docs/protocol.md).
type Code string

const (
	CodeBadRequest        Code = "BAD_REQUEST"
	CodeRoomNotFound      Code = "ROOM_NOT_FOUND"
	CodeRoomExpired       Code = "ROOM_EXPIRED"
	CodeRoomFull          Code = "ROOM_FULL"
	CodeChatterNotFound   Code = "CHATTER_NOT_FOUND"
	CodePasswordRequired  Code = "PASSWORD_REQUIRED"
	CodeWrongPassword     Code = "WRONG_PASSWORD"
	CodeForbidden         Code = "FORBIDDEN"
	CodeNotJoined         Code = "NOT_JOINED"
	CodeNamespaceMismatch Code = "NAMESPACE_MISMATCH"
	CodeAlertForbidden    Code = "ALERT_FORBIDDEN"
	CodeNicknameTaken     Code = "NICKNAME_TAKEN"
	CodeRateLimited       Code = "RATE_LIMITED"
	CodePayloadTooLarge   Code = "PAYLOAD_TOO_LARGE"
	CodeUnavailable       Code = "UNAVAILABLE"
	CodeInternal          Code = "INTERNAL"
)

// Error is a refusal the client should see: a code and, optionally, a more precise detail
// (such as the field that failed validation). Its text is localized at the edge.
type Error struct {
	Code   Code
	Detail string
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return string(e.Code) + ": " + e.Detail
	}
	return string(e.Code)
}

// Is makes errors.Is(err, &Error{Code: X}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf-free constructors keep call sites short.
func newError(code Code, detail string) error { return &Error{Code: code, Detail: detail} }

// CodeOf returns the code of err, CodeInternal when it carries none.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrUnavailable):
		return CodeUnavailable
	}
	return CodeInternal
}
