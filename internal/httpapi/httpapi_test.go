package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"colachat/internal/chat"
)

type reply struct {
	status int
	header http.Header
	raw    string
	env    map[string]any
}

func serve(t *testing.T, svc Service, opts Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(svc, opts))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, body string, header map[string]string) reply {
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
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	rep := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &rep.env); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, raw, err)
		}
	}
	return rep
}

// checkEnvelope asserts the status, the envelope's success, code and (when given) message.
func checkEnvelope(t *testing.T, rep reply, status int, success bool, code, message string) {
	t.Helper()
	if rep.status != status {
		t.Fatalf("got status %d, want %d (body %s)", rep.status, status, rep.raw)
	}
	if ct := rep.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("got Content-Type %q, want application/json; charset=utf-8", ct)
	}
	if rep.env["success"] != success {
		t.Fatalf("got success %v, want %v (body %s)", rep.env["success"], success, rep.raw)
	}
	if _, ok := rep.env["data"]; !ok {
		t.Fatalf("envelope %s has no data field", rep.raw)
	}
	gotCode, _ := rep.env["code"].(string)
	if gotCode != code {
		t.Fatalf("got code %q, want %q (body %s)", gotCode, code, rep.raw)
	}
	if message != "" && rep.env["message"] != message {
		t.Fatalf("got message %q, want %q", rep.env["message"], message)
	}
	if !success && rep.env["data"] != nil {
		t.Fatalf("got data %v on a failure, want null", rep.env["data"])
	}
}

const (
	roomID    = "11111111-1111-4111-8111-111111111111"
	chatterID = "22222222-2222-4222-8222-222222222222"
	okText    = "요청이 성공적으로 처리되었습니다."
	badText   = "요청된 데이터가 올바르지 않습니다."
)

func TestRoutes(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		header  map[string]string
		allowed bool
		status  int
		data    string // JSON of the expected data
		call    string // the service call expected last
	}{
		{"create room", "POST", "/chat/rooms", `{"namespace":"anonymous","title":"cola","capacity":4,"isPassword":false,"password":""}`, nil, false,
			201, `{"id":"11111111-1111-4111-8111-111111111111","title":"cola","namespace":"anonymous","capacity":4,"createdAt":"2024-09-18T18:39:03.000Z","expiresAt":"2024-09-19T18:39:03.000Z","isPassword":false,"isExpired":false,"userId":null}`, "CreateRoom"},
		{"list rooms", "GET", "/chat/rooms", "", nil, false,
			200, `[{"id":"11111111-1111-4111-8111-111111111111","title":"cola","namespace":"anonymous","capacity":4,"createdAt":"2024-09-18T18:39:03.000Z","expiresAt":"2024-09-19T18:39:03.000Z","isPassword":false,"isExpired":false,"userId":null}]`, "Rooms"},
		{"room detail", "GET", "/chat/rooms/" + roomID, "", nil, false,
			200, `{"id":"11111111-1111-4111-8111-111111111111","title":"cola","namespace":"anonymous","capacity":4,"createdAt":"2024-09-18T18:39:03.000Z","expiresAt":"2024-09-19T18:39:03.000Z","isPassword":false,"isExpired":false,"userId":null,"roomChatters":[{"id":7,"joinedAt":"2024-09-18T18:39:03.000Z","leftAt":null,"isActive":true,"roomId":"11111111-1111-4111-8111-111111111111","chatterId":"22222222-2222-4222-8222-222222222222"}],"online":1}`, "RoomDetail " + roomID},
		{"room detail without members keeps the array", "GET", "/chat/rooms/empty", "", nil, false,
			200, `{"id":"11111111-1111-4111-8111-111111111111","title":"cola","namespace":"anonymous","capacity":4,"createdAt":"2024-09-18T18:39:03.000Z","expiresAt":"2024-09-19T18:39:03.000Z","isPassword":false,"isExpired":false,"userId":null,"roomChatters":[],"online":1}`, "RoomDetail empty"},
		{"access allowed", "POST", "/chat/rooms/" + roomID + "/access-check", `{"password":"pw"}`, nil, true, 200, `true`, "AccessCheck " + roomID},
		{"access wrong password", "POST", "/chat/rooms/" + roomID + "/access-check", `{"password":"nope"}`, nil, false, 200, `null`, "AccessCheck " + roomID},
		{"access empty body", "POST", "/chat/rooms/" + roomID + "/access-check", "", nil, true, 200, `true`, "AccessCheck " + roomID},
		{"reentry online", "GET", "/chat/rooms/" + roomID + "/" + chatterID + "/reentry-check", "", nil, false, 200, `true`, "ReentryCheck " + roomID + " " + chatterID},
		{"reentry undefined", "GET", "/chat/rooms/" + roomID + "/undefined/reentry-check", "", nil, false, 200, `false`, "ReentryCheck " + roomID + " undefined"},
		{"history without chatter", "GET", "/chat/messages/" + roomID + "/1", "", nil, false, 200, `[]`, "History"},
		{"history", "GET", "/chat/messages/" + roomID + "/1/" + chatterID, "", map[string]string{"Authorization": "Bearer tok"}, false,
			200, `[{"id":3,"seq":2,"type":"MESSAGE","content":"hi","sentAt":"2024-09-18T18:39:03.000Z","roomId":"11111111-1111-4111-8111-111111111111","chatterId":"22222222-2222-4222-8222-222222222222","chatter":{"id":"22222222-2222-4222-8222-222222222222","nickname":"개구리","createdAt":"2024-09-18T18:39:03.000Z","deletedAt":null,"isActive":true}}]`, "History"},
		{"limits", "GET", "/chat/limits", "", nil, false,
			200, `{"minCapacity":2,"maxCapacity":1000,"maxTitle":30,"maxPassword":12,"maxNickname":10,"maxContent":1000}`, "Limits"},
		{"rename", "PATCH", "/chat/chatters/" + chatterID + "/nickname", `{"nickname":"콜라"}`, map[string]string{"Authorization": "Bearer tok"}, false,
			200, `{"id":"22222222-2222-4222-8222-222222222222","nickname":"콜라","createdAt":"2024-09-18T18:39:03.000Z","deletedAt":null,"isActive":true}`, "Rename"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{allowed: tt.allowed}
			srv := serve(t, svc, Options{})
			rep := call(t, srv, tt.method, tt.path, tt.body, tt.header)
			checkEnvelope(t, rep, tt.status, true, "", okText)
			got, _ := json.Marshal(rep.env["data"])
			var want any
			if err := json.Unmarshal([]byte(tt.data), &want); err != nil {
				t.Fatal(err)
			}
			wantJSON, _ := json.Marshal(want)
			if string(got) != string(wantJSON) {
				t.Fatalf("got data %s, want %s", got, wantJSON)
			}
			if strings.Contains(rep.raw, "secret") || strings.Contains(rep.raw, "password\"") || strings.Contains(rep.raw, "token") {
				t.Fatalf("response leaks a secret: %s", rep.raw)
			}
			if n := len(svc.calls); n == 0 || svc.calls[n-1] != tt.call {
				t.Fatalf("got calls %v, want last %q", svc.calls, tt.call)
			}
		})
	}
}

func TestAccessCheckTicket(t *testing.T) {
	svc := &fakeService{allowed: true}
	srv := serve(t, svc, Options{})
	rep := call(t, srv, "POST", "/chat/rooms/"+roomID+"/access-check", `{"password":"pw"}`, nil)
	if rep.env["ticket"] != "ticket-1" || svc.accessPwd != "pw" {
		t.Fatalf("got ticket %v and password %q, want ticket-1 and pw", rep.env["ticket"], svc.accessPwd)
	}
	svc.allowed = false
	rep = call(t, srv, "POST", "/chat/rooms/"+roomID+"/access-check", `{"password":null}`, nil)
	if _, has := rep.env["ticket"]; has || rep.env["data"] != nil || svc.accessPwd != "" {
		t.Fatalf("got %s with password %q, want data null, no ticket, empty password", rep.raw, svc.accessPwd)
	}
}

func TestCreateRoomInput(t *testing.T) {
	svc := &fakeService{}
	srv := serve(t, svc, Options{})
	call(t, srv, "POST", "/chat/rooms", `{"namespace":"anonymous","title":"비밀방","capacity":16,"isPassword":true,"password":"1234","extra":[1]}`, nil)
	want := chat.CreateRoomInput{Namespace: "anonymous", Title: "비밀방", Capacity: 16, IsPassword: true, Password: "1234"}
	if svc.createIn != want {
		t.Fatalf("got %+v, want %+v", svc.createIn, want)
	}
}

func TestHistoryQuery(t *testing.T) {
	tests := []struct {
		path   string
		header string
		want   chat.HistoryQuery
	}{
		{"/chat/messages/r/2", "", chat.HistoryQuery{RoomID: "r", Page: 2}},
		{"/chat/messages/r/1/c", "Bearer  abc ", chat.HistoryQuery{RoomID: "r", ChatterID: "c", Token: "abc", Page: 1}},
		{"/chat/messages/r/1/c", "bearer abc", chat.HistoryQuery{RoomID: "r", ChatterID: "c", Token: "abc", Page: 1}},
		{"/chat/messages/r/1/c", "Basic abc", chat.HistoryQuery{RoomID: "r", ChatterID: "c", Page: 1}},
		{"/chat/messages/r/1/c?before=40", "", chat.HistoryQuery{RoomID: "r", ChatterID: "c", Page: 1, Before: 40, Limit: 50}},
		{"/chat/messages/r/1/c?before=40&limit=10", "", chat.HistoryQuery{RoomID: "r", ChatterID: "c", Page: 1, Before: 40, Limit: 10}},
		{"/chat/messages/r/1/c?after=0&limit=100", "", chat.HistoryQuery{RoomID: "r", ChatterID: "c", Page: 1, HasAfter: true, Limit: 100}},
		{"/chat/messages/r/1/c?after=12", "", chat.HistoryQuery{RoomID: "r", ChatterID: "c", Page: 1, After: 12, HasAfter: true, Limit: 50}},
		{"/chat/messages/r/1/c?limit=1", "", chat.HistoryQuery{RoomID: "r", ChatterID: "c", Page: 1, Limit: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			svc := &fakeService{}
			srv := serve(t, svc, Options{})
			rep := call(t, srv, "GET", tt.path, "", map[string]string{"Authorization": tt.header})
			checkEnvelope(t, rep, 200, true, "", okText)
			if svc.historyQ != tt.want {
				t.Fatalf("got %+v, want %+v", svc.historyQ, tt.want)
			}
		})
	}
}

func TestRenameArgs(t *testing.T) {
	svc := &fakeService{}
	srv := serve(t, svc, Options{})
	call(t, srv, "PATCH", "/chat/chatters/"+chatterID+"/nickname", `{"nickname":"콜라"}`, map[string]string{"Authorization": "Bearer t0k"})
	if want := [3]string{chatterID, "t0k", "콜라"}; svc.renameArg != want {
		t.Fatalf("got %q, want %q", svc.renameArg, want)
	}
}

func TestRefusals(t *testing.T) {
	big := `{"namespace":"anonymous","title":"` + strings.Repeat("a", MaxBody) + `","capacity":2}`
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		svcErr  error
		status  int
		code    string
		message string
		reaches bool // whether the service is called
	}{
		{"not JSON", "POST", "/chat/rooms", `{"title":`, nil, 400, "BAD_REQUEST", "", false},
		{"array body", "POST", "/chat/rooms", `[1,2]`, nil, 400, "BAD_REQUEST", "", false},
		{"null body", "POST", "/chat/rooms", `null`, nil, 400, "BAD_REQUEST", "", false},
		{"string body", "POST", "/chat/rooms", `"room"`, nil, 400, "BAD_REQUEST", "", false},
		{"empty body", "POST", "/chat/rooms", ``, nil, 400, "BAD_REQUEST", "", false},
		{"trailing data", "POST", "/chat/rooms", `{"namespace":"a","title":"t","capacity":2} {}`, nil, 400, "BAD_REQUEST", "", false},
		{"invalid UTF-8", "POST", "/chat/rooms", "{\"namespace\":\"a\",\"title\":\"\xff\xfe\",\"capacity\":2}", nil, 400, "BAD_REQUEST", "", false},
		{"capacity as string", "POST", "/chat/rooms", `{"namespace":"a","title":"t","capacity":"4"}`, nil, 400, "BAD_REQUEST", badText + " (capacity: must be an integer)", false},
		{"capacity fraction", "POST", "/chat/rooms", `{"namespace":"a","title":"t","capacity":4.5}`, nil, 400, "BAD_REQUEST", "", false},
		{"capacity exponent", "POST", "/chat/rooms", `{"namespace":"a","title":"t","capacity":4e0}`, nil, 400, "BAD_REQUEST", "", false},
		{"capacity missing", "POST", "/chat/rooms", `{"namespace":"a","title":"t"}`, nil, 400, "BAD_REQUEST", badText + " (capacity: required)", false},
		{"title missing", "POST", "/chat/rooms", `{"namespace":"a","capacity":2}`, nil, 400, "BAD_REQUEST", badText + " (title: required)", false},
		{"title number", "POST", "/chat/rooms", `{"namespace":"a","title":5,"capacity":2}`, nil, 400, "BAD_REQUEST", badText + " (title: must be a string)", false},
		{"isPassword string", "POST", "/chat/rooms", `{"namespace":"a","title":"t","capacity":2,"isPassword":"true","password":"x"}`, nil, 400, "BAD_REQUEST", "", false},
		{"password without isPassword", "POST", "/chat/rooms", `{"namespace":"a","title":"t","capacity":2,"isPassword":false,"password":"x"}`, nil, 400, "BAD_REQUEST", badText, false},
		{"isPassword without password", "POST", "/chat/rooms", `{"namespace":"a","title":"t","capacity":2,"isPassword":true,"password":""}`, nil, 400, "BAD_REQUEST", badText, false},
		{"isPassword with absent password", "POST", "/chat/rooms", `{"namespace":"a","title":"t","capacity":2,"isPassword":true}`, nil, 400, "BAD_REQUEST", badText, false},
		{"too large", "POST", "/chat/rooms", big, nil, 413, "PAYLOAD_TOO_LARGE", "요청이 너무 큽니다.", false},
		{"service validation", "POST", "/chat/rooms", `{"namespace":"a","title":"t","capacity":1}`, &chat.Error{Code: chat.CodeBadRequest, Detail: "capacity: between 2 and 100"}, 400, "BAD_REQUEST", badText + " (capacity: between 2 and 100)", true},
		{"room not found", "GET", "/chat/rooms/nope", "", &chat.Error{Code: chat.CodeRoomNotFound}, 404, "ROOM_NOT_FOUND", "채팅방이 존재하지 않습니다.", true},
		{"room expired", "POST", "/chat/rooms/" + roomID + "/access-check", `{}`, &chat.Error{Code: chat.CodeRoomExpired}, 404, "ROOM_EXPIRED", "채팅이 만료되어 더 이상 사용할 수 없습니다.", true},
		{"room full", "POST", "/chat/rooms/" + roomID + "/access-check", `{}`, &chat.Error{Code: chat.CodeRoomFull}, 404, "ROOM_FULL", "채팅방 인원수가 가득차서 입장할 수 없습니다.", true},
		{"access attempts", "POST", "/chat/rooms/" + roomID + "/access-check", `{"password":"x"}`, &chat.Error{Code: chat.CodeRateLimited}, 429, "RATE_LIMITED", "", true},
		{"access password number", "POST", "/chat/rooms/" + roomID + "/access-check", `{"password":1234}`, nil, 400, "BAD_REQUEST", "", false},
		{"chatter not found", "PATCH", "/chat/chatters/x/nickname", `{"nickname":"n"}`, &chat.Error{Code: chat.CodeChatterNotFound}, 404, "CHATTER_NOT_FOUND", "채팅 참여자를 찾을 수 없습니다.", true},
		{"rename forbidden", "PATCH", "/chat/chatters/x/nickname", `{"nickname":"n"}`, &chat.Error{Code: chat.CodeForbidden}, 403, "FORBIDDEN", "권한이 없습니다.", true},
		{"rename without nickname", "PATCH", "/chat/chatters/x/nickname", `{}`, nil, 400, "BAD_REQUEST", badText + " (nickname: required)", false},
		{"rename nickname array", "PATCH", "/chat/chatters/x/nickname", `{"nickname":["a"]}`, nil, 400, "BAD_REQUEST", "", false},
		{"history forbidden", "GET", "/chat/messages/r/1/c", "", &chat.Error{Code: chat.CodeForbidden}, 403, "FORBIDDEN", "", true},
		{"history page zero", "GET", "/chat/messages/r/0/c", "", nil, 400, "BAD_REQUEST", badText + " (page: an integer from 1)", false},
		{"history page word", "GET", "/chat/messages/r/one", "", nil, 400, "BAD_REQUEST", "", false},
		{"history page negative", "GET", "/chat/messages/r/-1", "", nil, 400, "BAD_REQUEST", "", false},
		{"history page huge", "GET", "/chat/messages/r/99999999999999999999", "", nil, 400, "BAD_REQUEST", "", false},
		{"history limit zero", "GET", "/chat/messages/r/1/c?limit=0", "", nil, 400, "BAD_REQUEST", "", false},
		{"history limit too big", "GET", "/chat/messages/r/1/c?limit=101", "", nil, 400, "BAD_REQUEST", "", false},
		{"history before zero", "GET", "/chat/messages/r/1/c?before=0", "", nil, 400, "BAD_REQUEST", "", false},
		{"history before word", "GET", "/chat/messages/r/1/c?before=x", "", nil, 400, "BAD_REQUEST", "", false},
		{"history after negative", "GET", "/chat/messages/r/1/c?after=-5", "", nil, 400, "BAD_REQUEST", "", false},
		{"internal error hidden", "GET", "/chat/rooms", "", errDisk, 500, "INTERNAL", "INTERNAL_SERVER_ERROR", true},
		{"unknown route", "GET", "/chat/nowhere", "", nil, 404, "NOT_FOUND", "", false},
		{"unknown deep route", "GET", "/chat/rooms/a/b/c/d", "", nil, 404, "NOT_FOUND", "", false},
		{"wrong method", "DELETE", "/chat/rooms", "", nil, 405, "METHOD_NOT_ALLOWED", "", false},
		{"wrong method on room", "PUT", "/chat/rooms/" + roomID, "", nil, 405, "METHOD_NOT_ALLOWED", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{err: tt.svcErr}
			srv := serve(t, svc, Options{})
			rep := call(t, srv, tt.method, tt.path, tt.body, nil)
			checkEnvelope(t, rep, tt.status, false, tt.code, tt.message)
			if reached := len(svc.calls) > 0; reached != tt.reaches {
				t.Fatalf("got service called %v (%v), want %v", reached, svc.calls, tt.reaches)
			}
			if tt.status == 405 && rep.header.Get("Allow") == "" {
				t.Fatalf("got no Allow header on a 405")
			}
			if strings.Contains(rep.raw, "disk on fire") {
				t.Fatalf("internal error text leaked: %s", rep.raw)
			}
		})
	}
}

func TestEnglishLocale(t *testing.T) {
	srv := serve(t, &fakeService{err: &chat.Error{Code: chat.CodeRoomNotFound}}, Options{Locale: "en"})
	rep := call(t, srv, "GET", "/chat/rooms/x", "", nil)
	checkEnvelope(t, rep, 404, false, "ROOM_NOT_FOUND", "The chat room does not exist.")
	rep = call(t, srv, "GET", "/chat/zzz", "", nil)
	checkEnvelope(t, rep, 404, false, "NOT_FOUND", "The requested path does not exist.")
}

func TestPanicBecomes500(t *testing.T) {
	srv := serve(t, &fakeService{panics: true}, Options{})
	rep := call(t, srv, "GET", "/chat/rooms", "", nil)
	checkEnvelope(t, rep, 500, false, "INTERNAL", "INTERNAL_SERVER_ERROR")
	// The server keeps serving.
	rep = call(t, srv, "GET", "/chat/nowhere", "", nil)
	checkEnvelope(t, rep, 404, false, "NOT_FOUND", "")
}

func TestCORS(t *testing.T) {
	tests := []struct {
		name        string
		origins     []string
		method      string
		path        string
		header      map[string]string
		status      int
		allowOrigin string
	}{
		{"preflight allowed", []string{"http://localhost:3000"}, "OPTIONS", "/chat/rooms",
			map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}, 204, "http://localhost:3000"},
		{"preflight any origin", []string{"*"}, "OPTIONS", "/chat/chatters/x/nickname",
			map[string]string{"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "PATCH"}, 204, "https://elsewhere.example"},
		{"preflight refused", []string{"http://localhost:3000"}, "OPTIONS", "/chat/rooms",
			map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, 403, ""},
		{"simple request allowed", []string{"http://localhost:3000"}, "GET", "/chat/rooms",
			map[string]string{"Origin": "http://localhost:3000"}, 200, "http://localhost:3000"},
		{"simple request other origin", []string{"http://localhost:3000"}, "GET", "/chat/rooms",
			map[string]string{"Origin": "http://evil.example"}, 200, ""},
		{"error keeps CORS headers", []string{"*"}, "GET", "/chat/nowhere",
			map[string]string{"Origin": "http://a.example"}, 404, "http://a.example"},
		{"no origin", []string{"*"}, "GET", "/chat/rooms", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, &fakeService{}, Options{CORSOrigins: tt.origins})
			rep := call(t, srv, tt.method, tt.path, "", tt.header)
			if rep.status != tt.status {
				t.Fatalf("got status %d, want %d (%s)", rep.status, tt.status, rep.raw)
			}
			if got := rep.header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
				t.Fatalf("got Allow-Origin %q, want %q", got, tt.allowOrigin)
			}
			if tt.allowOrigin != "" && rep.header.Get("Access-Control-Allow-Credentials") != "true" {
				t.Fatalf("got no Allow-Credentials: true")
			}
			if !strings.Contains(strings.Join(rep.header.Values("Vary"), ","), "Origin") {
				t.Fatalf("got Vary %q, want Origin in it", rep.header.Values("Vary"))
			}
			if tt.status == 204 {
				if got := rep.header.Get("Access-Control-Allow-Headers"); got != "Content-Type, Authorization" {
					t.Fatalf("got Allow-Headers %q", got)
				}
				if got := rep.header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "PATCH") || !strings.Contains(got, "POST") {
					t.Fatalf("got Allow-Methods %q", got)
				}
				if rep.raw != "" {
					t.Fatalf("got preflight body %q, want none", rep.raw)
				}
			}
			if tt.status == 403 {
				checkEnvelope(t, rep, 403, false, "ORIGIN_NOT_ALLOWED", "")
			}
		})
	}
}

func TestPerIPLimit(t *testing.T) {
	tests := []struct {
		name   string
		exempt []netip.Prefix
		want   []int
	}{
		{"limited", nil, []int{200, 200, 429, 429}},
		{"exempt loopback", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, []int{200, 200, 200, 200}},
		{"exempt elsewhere", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, []int{200, 200, 429, 429}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, &fakeService{}, Options{Limiter: &allowN{n: 2}, Exempt: tt.exempt, CORSOrigins: []string{"*"}})
			var got []int
			for range tt.want {
				rep := call(t, srv, "GET", "/chat/rooms", "", map[string]string{"Origin": "http://a.example"})
				got = append(got, rep.status)
				if rep.status == 429 {
					checkEnvelope(t, rep, 429, false, "RATE_LIMITED", "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.")
					if rep.header.Get("Retry-After") == "" || rep.header.Get("Access-Control-Allow-Origin") == "" {
						t.Fatalf("got headers %v, want Retry-After and CORS on a 429", rep.header)
					}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got statuses %v, want %v", got, tt.want)
			}
			// Preflights are never limited.
			rep := call(t, srv, "OPTIONS", "/chat/rooms", "", map[string]string{"Origin": "http://a.example", "Access-Control-Request-Method": "POST"})
			if rep.status != 204 {
				t.Fatalf("got preflight status %d, want 204", rep.status)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"127.0.0.1:5000", "127.0.0.1"},
		{"[::1]:5000", "::1"},
		{"[::ffff:10.1.2.3]:80", "10.1.2.3"},
		{"[fe80::1%eth0]:80", "fe80::1"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		ip, ok := ClientIP(r)
		if !ok || ip.String() != tt.want {
			t.Errorf("%s: got %v %v, want %s", tt.remote, ip, ok, tt.want)
		}
	}
}

func TestBodyJustUnderLimit(t *testing.T) {
	svc := &fakeService{}
	srv := serve(t, svc, Options{})
	title := strings.Repeat("a", MaxBody-100)
	var body bytes.Buffer
	json.NewEncoder(&body).Encode(map[string]any{"namespace": "anonymous", "title": title, "capacity": 2, "isPassword": false})
	rep := call(t, srv, "POST", "/chat/rooms", body.String(), nil)
	checkEnvelope(t, rep, 201, true, "", okText)
	if svc.createIn.Title != title {
		t.Fatalf("got a title of %d bytes, want %d", len(svc.createIn.Title), len(title))
	}
}
