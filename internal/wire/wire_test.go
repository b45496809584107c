package wire

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"colachat/internal/chat"
)

func TestTimeMarshalsAsOriginalISO(t *testing.T) {
	tm := time.Date(2024, 9, 18, 18, 39, 3, 7_000_000, time.FixedZone("KST", 9*3600))
	got, err := json.Marshal(Time(tm))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"2024-09-18T09:39:03.007Z"`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestFail(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		locale     string
		wantStatus int
		wantMsg    string
		wantCode   string
	}{
		{"room full ko", &chat.Error{Code: chat.CodeRoomFull}, "ko", http.StatusNotFound, "채팅방 인원수가 가득차서 입장할 수 없습니다.", "ROOM_FULL"},
		{"expired en", &chat.Error{Code: chat.CodeRoomExpired}, "en", http.StatusNotFound, "The chat has expired and can no longer be used.", "ROOM_EXPIRED"},
		{"bad request with detail", &chat.Error{Code: chat.CodeBadRequest, Detail: "title"}, "ko", http.StatusBadRequest, "요청된 데이터가 올바르지 않습니다. (title)", "BAD_REQUEST"},
		{"nickname taken ko", &chat.Error{Code: chat.CodeNicknameTaken}, "ko", http.StatusConflict, "이 채팅방에서 이미 사용 중인 닉네임입니다.", "NICKNAME_TAKEN"},
		{"nickname taken en", &chat.Error{Code: chat.CodeNicknameTaken}, "en", http.StatusConflict, "Someone in this chat room already has this nickname.", "NICKNAME_TAKEN"},
		{"internal hides cause", errors.New("disk on fire"), "ko", http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "INTERNAL"},
		{"unknown locale falls back", &chat.Error{Code: chat.CodeForbidden}, "fr", http.StatusForbidden, "권한이 없습니다.", "FORBIDDEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, status := Fail(tt.err, tt.locale)
			if status != tt.wantStatus || env.Message != tt.wantMsg || env.Code != tt.wantCode || env.Success {
				t.Fatalf("got (%d, %q, %q, %v), want (%d, %q, %q, false)",
					status, env.Message, env.Code, env.Success, tt.wantStatus, tt.wantMsg, tt.wantCode)
			}
		})
	}
}

func TestEveryCodeHasTextInEveryLocale(t *testing.T) {
	for locale, texts := range errorTexts {
		for code := range errorTexts["ko"] {
			if texts[code] == "" {
				t.Errorf("locale %s: no text for %s", locale, code)
			}
		}
	}
}

func TestEmptyListsEncodeAsArrays(t *testing.T) {
	got, _ := json.Marshal(OK(FromMessages(nil)))
	if want := `{"success":true,"message":"요청이 성공적으로 처리되었습니다.","data":[]}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
