package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"colachat/internal/broker/memory"
	"colachat/internal/chat"
	"colachat/internal/httpapi"
	"colachat/internal/store/sqlite"
)

// realServer runs the API over the real chat service, a real SQLite file and the
// in-process broker.
func realServer(t *testing.T, identity chat.IdentityMode) (*httptest.Server, *chat.Service) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := chat.NewService(chat.Config{Identity: identity}, store, memory.NewBroker(), memory.NewPresence(), nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{CORSOrigins: []string{"*"}}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service Run: %v", err)
		}
		if err := store.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	return srv, svc
}

type envelope struct {
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Code    string          `json:"code"`
	Ticket  string          `json:"ticket"`
}

func do(t *testing.T, srv *httptest.Server, method, path, body, token string) (int, envelope) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, env
}

func TestRealServiceRoomLifecycle(t *testing.T) {
	srv, svc := realServer(t, chat.IdentityStrict)
	ctx := context.Background()

	status, env := do(t, srv, "POST", "/chat/rooms", `{"namespace":"anonymous","title":"비밀 콜라방","capacity":2,"isPassword":true,"password":"1234"}`, "")
	if status != 201 || !env.Success {
		t.Fatalf("create: got %d %+v, want 201 success", status, env)
	}
	var room struct {
		ID         string `json:"id"`
		IsPassword bool   `json:"isPassword"`
	}
	if err := json.Unmarshal(env.Data, &room); err != nil || room.ID == "" || !room.IsPassword {
		t.Fatalf("create: got data %s (%v), want a password room", env.Data, err)
	}
	if strings.Contains(string(env.Data), "password\"") || strings.Contains(string(env.Data), "$2") {
		t.Fatalf("create leaks the password: %s", env.Data)
	}

	status, env = do(t, srv, "GET", "/chat/rooms", "", "")
	if status != 200 || !strings.Contains(string(env.Data), room.ID) {
		t.Fatalf("list: got %d %s, want the room", status, env.Data)
	}

	status, env = do(t, srv, "POST", "/chat/rooms/"+room.ID+"/access-check", `{"password":"wrong"}`, "")
	if status != 200 || !env.Success || string(env.Data) != "null" || env.Ticket != "" {
		t.Fatalf("wrong password: got %d %+v, want success with null data", status, env)
	}
	status, env = do(t, srv, "POST", "/chat/rooms/"+room.ID+"/access-check", `{"password":"1234"}`, "")
	if status != 200 || string(env.Data) != "true" || env.Ticket == "" {
		t.Fatalf("right password: got %d %+v, want true with a ticket", status, env)
	}

	// A chatter joins with the ticket, as a socket would.
	c, token, err := svc.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: room.ID, Ticket: env.Ticket, ConnID: "conn-1"})
	if err != nil {
		t.Fatalf("join: %v", err)
	}

	status, env = do(t, srv, "GET", "/chat/rooms/"+room.ID, "", "")
	if status != 200 || !strings.Contains(string(env.Data), `"roomChatters":[{`) || !strings.Contains(string(env.Data), c.ID) {
		t.Fatalf("detail: got %d %s, want the membership of %s", status, env.Data, c.ID)
	}
	if strings.Contains(string(env.Data), "$2") {
		t.Fatalf("detail leaks the password hash: %s", env.Data)
	}

	status, env = do(t, srv, "GET", "/chat/rooms/"+room.ID+"/"+c.ID+"/reentry-check", "", "")
	if status != 200 || string(env.Data) != "true" {
		t.Fatalf("reentry online: got %d %s, want true", status, env.Data)
	}
	status, env = do(t, srv, "GET", "/chat/rooms/"+room.ID+"/undefined/reentry-check", "", "")
	if status != 200 || !env.Success || string(env.Data) != "false" {
		t.Fatalf("reentry undefined: got %d %+v, want success false", status, env)
	}

	status, env = do(t, srv, "GET", "/chat/messages/"+room.ID+"/1/"+c.ID, "", "")
	if status != 403 || env.Code != "FORBIDDEN" {
		t.Fatalf("history without token: got %d %+v, want 403 FORBIDDEN", status, env)
	}
	status, env = do(t, srv, "GET", "/chat/messages/"+room.ID+"/1/"+c.ID, "", token)
	if status != 200 || !strings.Contains(string(env.Data), "님이 입장했습니다.") {
		t.Fatalf("history: got %d %s, want the join alert", status, env.Data)
	}
	status, env = do(t, srv, "GET", "/chat/messages/"+room.ID+"/1", "", "")
	if status != 200 || string(env.Data) != "[]" {
		t.Fatalf("history without chatter: got %d %s, want []", status, env.Data)
	}
	status, env = do(t, srv, "GET", "/chat/messages/"+room.ID+"/1/"+c.ID+"?after=0&limit=10", "", token)
	if status != 200 || !strings.Contains(string(env.Data), "님이 입장했습니다.") {
		t.Fatalf("history cursor: got %d %s, want the join alert", status, env.Data)
	}

	status, env = do(t, srv, "PATCH", "/chat/chatters/"+c.ID+"/nickname", `{"nickname":"콜라"}`, "wrong-token")
	if status != 403 || env.Code != "FORBIDDEN" {
		t.Fatalf("rename with a wrong token: got %d %+v, want 403", status, env)
	}
	status, env = do(t, srv, "PATCH", "/chat/chatters/"+c.ID+"/nickname", `{"nickname":"콜라"}`, token)
	if status != 200 || !strings.Contains(string(env.Data), `"nickname":"콜라"`) || strings.Contains(string(env.Data), "token") {
		t.Fatalf("rename: got %d %s, want the renamed chatter", status, env.Data)
	}
	status, env = do(t, srv, "PATCH", "/chat/chatters/"+c.ID+"/nickname", `{"nickname":"열한글자가넘는아주긴별명"}`, token)
	if status != 400 || env.Code != "BAD_REQUEST" {
		t.Fatalf("rename too long: got %d %+v, want 400", status, env)
	}

	// The room holds 2: a second chatter fills it, a third is told it is full.
	if _, _, err := svc.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: room.ID, Password: "1234", ConnID: "conn-2"}); err != nil {
		t.Fatalf("second join: %v", err)
	}
	status, env = do(t, srv, "POST", "/chat/rooms/"+room.ID+"/access-check", `{"password":"1234"}`, "")
	if status != 404 || env.Code != "ROOM_FULL" || env.Message != "채팅방 인원수가 가득차서 입장할 수 없습니다." {
		t.Fatalf("full room: got %d %+v, want 404 ROOM_FULL", status, env)
	}
}

func TestRealServiceRefusals(t *testing.T) {
	srv, _ := realServer(t, chat.IdentityStrict)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown room", "GET", "/chat/rooms/00000000-0000-4000-8000-000000000000", "", 404, "ROOM_NOT_FOUND"},
		{"malformed room id", "GET", "/chat/rooms/not-a-uuid", "", 404, "ROOM_NOT_FOUND"},
		{"capacity too small", "POST", "/chat/rooms", `{"namespace":"anonymous","title":"t","capacity":1,"isPassword":false}`, 400, "BAD_REQUEST"},
		{"title too long", "POST", "/chat/rooms", `{"namespace":"anonymous","title":"` + strings.Repeat("가", 31) + `","capacity":2,"isPassword":false}`, 400, "BAD_REQUEST"},
		{"empty title", "POST", "/chat/rooms", `{"namespace":"anonymous","title":"","capacity":2,"isPassword":false}`, 400, "BAD_REQUEST"},
		{"unknown chatter rename", "PATCH", "/chat/chatters/00000000-0000-4000-8000-000000000000/nickname", `{"nickname":"n"}`, 404, "CHATTER_NOT_FOUND"},
		{"access unknown room", "POST", "/chat/rooms/00000000-0000-4000-8000-000000000000/access-check", `{}`, 404, "ROOM_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, env := do(t, srv, tt.method, tt.path, tt.body, "")
			if status != tt.status || env.Code != tt.code || env.Success || string(env.Data) != "null" {
				t.Fatalf("got %d %+v, want %d %s", status, env, tt.status, tt.code)
			}
		})
	}
}
