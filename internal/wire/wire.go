// Package wire holds the JSON shapes of the Cola Chat contract, shared by the REST API and
// the Socket.IO gateway: the response envelope, rooms, chatters, messages, and the
// localized text of every refusal.
package wire

import (
	"errors"
	"net/http"
	"time"

	"colachat/internal/chat"
)

// SuccessMessage is the original server's text for every successful answer.
const SuccessMessage = "요청이 성공적으로 처리되었습니다."

// Envelope is every REST answer and every ack: {success, message, data}. Code and Ticket are
// colachat additions, omitted when empty.
type Envelope struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Data    any    `json:"data"`
	Code    string `json:"code,omitempty"`
	Ticket  string `json:"ticket,omitempty"`
}

// OK wraps data in a success envelope. A nil data stays null, as the original sends it.
func OK(data any) Envelope {
	return Envelope{Success: true, Message: SuccessMessage, Data: data}
}

// Fail turns any error into a failure envelope in the given locale, with its HTTP status.
// Errors that are not *chat.Error become INTERNAL; their text never reaches the client.
func Fail(err error, locale string) (Envelope, int) {
	code := chat.CodeOf(err)
	msg := ErrorText(code, locale)
	var ce *chat.Error
	if errors.As(err, &ce) && ce.Detail != "" && code == chat.CodeBadRequest {
		msg += " (" + ce.Detail + ")"
	}
	return Envelope{Success: false, Message: msg, Data: nil, Code: string(code)}, Status(code)
}

// Status is the HTTP status of a refusal code.
func Status(code chat.Code) int {
	switch code {
	case chat.CodeBadRequest, chat.CodeNamespaceMismatch:
		return http.StatusBadRequest
	case chat.CodeRoomNotFound, chat.CodeRoomExpired, chat.CodeRoomFull, chat.CodeChatterNotFound:
		return http.StatusNotFound
	case chat.CodePasswordRequired, chat.CodeWrongPassword, chat.CodeForbidden,
		chat.CodeNotJoined, chat.CodeAlertForbidden:
		return http.StatusForbidden
	case chat.CodeNicknameTaken:
		return http.StatusConflict
	case chat.CodeRateLimited:
		return http.StatusTooManyRequests
	case chat.CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case chat.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

var errorTexts = map[string]map[chat.Code]string{
	"ko": {
		chat.CodeBadRequest:        "요청된 데이터가 올바르지 않습니다.",
		chat.CodeRoomNotFound:      "채팅방이 존재하지 않습니다.",
		chat.CodeRoomExpired:       "채팅이 만료되어 더 이상 사용할 수 없습니다.",
		chat.CodeRoomFull:          "채팅방 인원수가 가득차서 입장할 수 없습니다.",
		chat.CodeChatterNotFound:   "채팅 참여자를 찾을 수 없습니다.",
		chat.CodePasswordRequired:  "비밀번호가 필요합니다.",
		chat.CodeWrongPassword:     "비밀번호가 올바르지 않습니다.",
		chat.CodeForbidden:         "권한이 없습니다.",
		chat.CodeNotJoined:         "채팅방에 입장하지 않았습니다.",
		chat.CodeNamespaceMismatch: "채팅방이 이 네임스페이스에 속하지 않습니다.",
		chat.CodeAlertForbidden:    "시스템 알림은 서버만 보낼 수 있습니다.",
		chat.CodeNicknameTaken:     "이 채팅방에서 이미 사용 중인 닉네임입니다.",
		chat.CodeRateLimited:       "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
		chat.CodePayloadTooLarge:   "요청이 너무 큽니다.",
		chat.CodeUnavailable:       "일시적으로 처리할 수 없습니다. 잠시 후 다시 시도해 주세요.",
		chat.CodeInternal:          "INTERNAL_SERVER_ERROR",
	},
	"en": {
		chat.CodeBadRequest:        "The request data is not valid.",
		chat.CodeRoomNotFound:      "The chat room does not exist.",
		chat.CodeRoomExpired:       "The chat has expired and can no longer be used.",
		chat.CodeRoomFull:          "The chat room is full.",
		chat.CodeChatterNotFound:   "The chatter was not found.",
		chat.CodePasswordRequired:  "A password is required.",
		chat.CodeWrongPassword:     "The password is not correct.",
		chat.CodeForbidden:         "Not allowed.",
		chat.CodeNotJoined:         "You have not joined this chat room.",
		chat.CodeNamespaceMismatch: "The chat room does not belong to this namespace.",
		chat.CodeAlertForbidden:    "Only the server may send system alerts.",
		chat.CodeNicknameTaken:     "Someone in this chat room already has this nickname.",
		chat.CodeRateLimited:       "Too many requests. Please try again shortly.",
		chat.CodePayloadTooLarge:   "The request is too large.",
		chat.CodeUnavailable:       "Temporarily unavailable. Please try again shortly.",
		chat.CodeInternal:          "INTERNAL_SERVER_ERROR",
	},
}

// ErrorText is the client-facing text of a code; unknown locales fall back to Korean.
func ErrorText(code chat.Code, locale string) string {
	texts, ok := errorTexts[locale]
	if !ok {
		texts = errorTexts["ko"]
	}
	if t, ok := texts[code]; ok {
		return t
	}
	return texts[chat.CodeInternal]
}

// Time renders as the original's ISO-8601 UTC with milliseconds.
type Time time.Time

const timeLayout = "2006-01-02T15:04:05.000Z"

func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timeLayout)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, timeLayout)
	return append(b, '"'), nil
}

func timePtr(t *time.Time) *Time {
	if t == nil {
		return nil
	}
	wt := Time(*t)
	return &wt
}
