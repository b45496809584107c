package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"colachat/internal/broker/memory"
	"colachat/internal/chat"
	"colachat/internal/ratelimit"
	"colachat/internal/sioclient"
	"colachat/internal/socketio"
	"colachat/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	svc      *chat.Service
	gw       *Gateway
	srv      *socketio.Server
	sessions *SessionStore
	url      string
	clock    *clock
	stop     func() // graceful stop, as on a restart; also run at cleanup
}

// newEnv runs the whole socket side over loopback: SQLite, the in-process broker, the chat
// service, the socket.io server with recovery, and the gateway.
func newEnv(t *testing.T, cfg chat.Config, opts Options) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "chat.db"), "", cfg, opts)
}

// newEnvAt is newEnv on the database at dbPath; with sessionsFile set, sessions are restored
// from it at start and persisted to it at stop.
func newEnvAt(t *testing.T, dbPath, sessionsFile string, cfg chat.Config, opts Options) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clock: &clock{t: time.Now().UTC()}}
	cfg.Now = e.clock.Now
	cfg.PasswordCost = bcrypt.MinCost
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = time.Hour
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	broker := memory.NewBroker()
	e.svc, err = chat.NewService(cfg, st, broker, memory.NewPresence(), log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		_ = e.svc.Run(runCtx)
	}()
	e.sessions = NewSessionStore(e.svc, time.Minute)
	if sessionsFile != "" {
		if err := e.sessions.Restore(sessionsFile); err != nil {
			t.Fatal(err)
		}
	}
	e.srv = socketio.NewServer(socketio.Options{
		Recovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute, Sessions: e.sessions},
		Logger:   log,
	})
	opts.Logger = log
	e.gw = New(e.svc, e.srv, opts)
	e.gw.Start()
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", e.srv)
	ts := httptest.NewServer(mux)
	e.url = ts.URL
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := e.srv.Close(closeCtx); err != nil {
				t.Errorf("close socket.io: %v", err)
			}
			ts.Close()
			e.gw.Stop()
			stopRun()
			<-runDone
			if sessionsFile != "" {
				if err := e.sessions.Persist(sessionsFile); err != nil {
					t.Errorf("persist sessions: %v", err)
				}
			}
			if err := st.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
	}
	t.Cleanup(e.stop)
	return e
}

func (e *env) room(t *testing.T, in chat.CreateRoomInput) chat.Room {
	t.Helper()
	if in.Namespace == "" {
		in.Namespace = "anonymous"
	}
	in.Title = "room"
	if in.Capacity == 0 {
		in.Capacity = 8
	}
	r, err := e.svc.CreateRoom(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// event is one received event.
type event struct {
	name string
	args sioclient.Args
}

// client is a socket.io client that records every event it receives.
type client struct {
	*sioclient.Client
	mu     sync.Mutex
	events []event
	notify chan struct{}
}

func (e *env) dial(t *testing.T, nsp string, auth any) *client {
	t.Helper()
	c := &client{notify: make(chan struct{}, 1)}
	sc, err := sioclient.Dial(context.Background(), sioclient.Options{
		URL: e.url, Namespace: nsp, Auth: auth,
		OnEvent: func(name string, args sioclient.Args) {
			copied := make(sioclient.Args, len(args))
			for i, a := range args {
				copied[i] = append(json.RawMessage(nil), a...)
			}
			c.mu.Lock()
			c.events = append(c.events, event{name, copied})
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Client = sc
	t.Cleanup(func() { _ = sc.Close() })
	return c
}

func (c *client) all() []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event(nil), c.events...)
}

// wait returns the first event called name whose first argument satisfies match.
func (c *client) wait(t *testing.T, name string, match func(json.RawMessage) bool) event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, ev := range c.all() {
			if ev.name == name && (match == nil || match(ev.args[0])) {
				return ev
			}
		}
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("never got %s; got %d events: %s", name, len(c.all()), describe(c.all()))
		}
	}
}

func describe(evs []event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.name)
		b.WriteString(" ")
		for _, a := range ev.args {
			b.Write(a)
			b.WriteString(" ")
		}
		b.WriteString("\n")
	}
	return b.String()
}

type envelope struct {
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Code    string          `json:"code"`
}

// ack emits event with args and decodes the ack envelope.
func (c *client) ack(t *testing.T, event string, args ...any) envelope {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := c.EmitWithAck(ctx, event, args...)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	var env envelope
	if err := got.Decode(0, &env); err != nil {
		t.Fatalf("%s ack: %v", event, err)
	}
	return env
}

type chatterJSON struct {
	ID        string  `json:"id"`
	Nickname  string  `json:"nickname"`
	CreatedAt string  `json:"createdAt"`
	DeletedAt *string `json:"deletedAt"`
	IsActive  bool    `json:"isActive"`
	Token     string  `json:"token"`
}

type messageJSON struct {
	ID        int64       `json:"id"`
	Seq       int64       `json:"seq"`
	Type      string      `json:"type"`
	Content   string      `json:"content"`
	RoomID    string      `json:"roomId"`
	ChatterID string      `json:"chatterId"`
	Chatter   chatterJSON `json:"chatter"`
	Alert     *chat.Alert `json:"alert"`
}

// join joins room as a new chatter (or as who) and returns the ack's chatter.
func (c *client) join(t *testing.T, roomID string, extra map[string]any) chatterJSON {
	t.Helper()
	payload := map[string]any{"roomId": roomID, "chatterId": nil}
	for k, v := range extra {
		payload[k] = v
	}
	env := c.ack(t, "joinRoom", payload)
	if !env.Success {
		t.Fatalf("join: got %+v, want success", env)
	}
	var ch chatterJSON
	if err := json.Unmarshal(env.Data, &ch); err != nil {
		t.Fatal(err)
	}
	return ch
}

func decodeMessage(t *testing.T, raw json.RawMessage) messageJSON {
	t.Helper()
	var m messageJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func isAlert(kind chat.AlertKind) func(json.RawMessage) bool {
	return func(raw json.RawMessage) bool {
		var m messageJSON
		return json.Unmarshal(raw, &m) == nil && m.Alert != nil && m.Alert.Kind == kind
	}
}

func TestJoinSendAndBroadcast(t *testing.T) {
	e := newEnv(t, chat.Config{}, Options{})
	r := e.room(t, chat.CreateRoomInput{})
	a := e.dial(t, "/anonymous", nil)
	b := e.dial(t, "/anonymous", nil)

	ca := a.join(t, r.ID, nil)
	if ca.ID == "" || ca.Token == "" || ca.Nickname == "" || !ca.IsActive || ca.CreatedAt == "" {
		t.Fatalf("got joinRoom data %+v, want the chatter with its token", ca)
	}
	// The joiner sees its own join alert and the online list.
	joinAlert := decodeMessage(t, a.wait(t, "sendAlert", isAlert(chat.AlertJoin)).args[0])
	if joinAlert.Content != ca.Nickname+"님이 입장했습니다." || joinAlert.Chatter.ID != ca.ID || joinAlert.Chatter.Token != "" {
		t.Fatalf("got join alert %+v", joinAlert)
	}
	a.wait(t, "returnChatters", nil)

	cb := b.join(t, r.ID, nil)
	list := a.wait(t, "returnChatters", func(raw json.RawMessage) bool {
		var cs []chatterJSON
		return json.Unmarshal(raw, &cs) == nil && len(cs) == 2 && cs[1].ID == cb.ID && cs[1].Token == ""
	})
	// The room comes second, for a socket in several rooms.
	if want := `{"roomId":"` + r.ID + `"}`; len(list.args) < 2 || string(list.args[1]) != want {
		t.Fatalf("got returnChatters arguments %s, want the room %s second", describe([]event{list}), want)
	}

	env := a.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "안녕"})
	if !env.Success || string(env.Data) != "null" || env.Message != "요청이 성공적으로 처리되었습니다." {
		t.Fatalf("got ack %+v, want success with null data", env)
	}
	for _, c := range []*client{a, b} {
		ev := c.wait(t, "sendMessage", nil)
		m := decodeMessage(t, ev.args[0])
		if m.Content != "안녕" || m.Type != "MESSAGE" || m.Chatter.ID != ca.ID || m.Chatter.Nickname != ca.Nickname || m.ID == 0 || m.RoomID != r.ID {
			t.Fatalf("got %+v, want the message with its chatter", m)
		}
		if len(ev.args) != 2 || string(ev.args[1]) != `"`+r.ID+":"+itoa(m.Seq)+`"` {
			t.Fatalf("got args %s, want the message's room and position as recovery offset", describe([]event{ev}))
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestRefusalsReachAckAndMessageEvent(t *testing.T) {
	e := newEnv(t, chat.Config{}, Options{})
	r := e.room(t, chat.CreateRoomInput{})
	other := e.room(t, chat.CreateRoomInput{Namespace: "other"})
	a := e.dial(t, "/anonymous", nil)
	tests := []struct {
		name  string
		event string
		args  []any
		code  string
	}{
		{"send before joining", "sendMessage", []any{map[string]any{"roomId": r.ID, "content": "hi"}}, "NOT_JOINED"},
		{"payload not an object", "joinRoom", []any{"room"}, "BAD_REQUEST"},
		{"payload missing", "sendMessage", nil, "BAD_REQUEST"},
		{"roomId of the wrong type", "joinRoom", []any{map[string]any{"roomId": 5}}, "BAD_REQUEST"},
		{"content of the wrong type", "sendMessage", []any{map[string]any{"roomId": r.ID, "content": []int{1}}}, "BAD_REQUEST"},
		{"unknown room", "joinRoom", []any{map[string]any{"roomId": "nowhere"}}, "ROOM_NOT_FOUND"},
		{"room of another namespace", "joinRoom", []any{map[string]any{"roomId": other.ID}}, "NAMESPACE_MISMATCH"},
		{"forged alert", "sendAlert", []any{map[string]any{"roomId": r.ID, "content": "x"}}, "NOT_JOINED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(a.all())
			env := a.ack(t, tt.event, tt.args...)
			if env.Success || env.Code != tt.code || env.Message == "" || string(env.Data) != "null" {
				t.Fatalf("got %+v, want failure %s", env, tt.code)
			}
			ev := a.wait(t, "message", func(raw json.RawMessage) bool {
				var text string
				return json.Unmarshal(raw, &text) == nil && strings.Contains(text, tt.code)
			})
			var text string
			_ = json.Unmarshal(ev.args[0], &text)
			var inner envelope
			if err := json.Unmarshal([]byte(text), &inner); err != nil || inner.Success || inner.Message != env.Message {
				t.Fatalf("got message event %q, want the envelope as a JSON string", text)
			}
			a.mu.Lock()
			a.events = a.events[:before] // forget it, so the next case waits for its own
			a.mu.Unlock()
		})
	}
	// The connection survived every refusal.
	a.join(t, r.ID, nil)
	if env := a.ack(t, "sendAlert", map[string]any{"roomId": r.ID, "content": "관리자님이 입장했습니다."}); env.Code != "ALERT_FORBIDDEN" {
		t.Fatalf("got %+v, want ALERT_FORBIDDEN", env)
	}
}

func TestEnglishErrors(t *testing.T) {
	e := newEnv(t, chat.Config{}, Options{Locale: "en"})
	a := e.dial(t, "/anonymous", nil)
	env := a.ack(t, "joinRoom", map[string]any{"roomId": "nowhere"})
	if env.Message != "The chat room does not exist." {
		t.Fatalf("got %q, want the English text", env.Message)
	}
}

func TestTypingGoesToOthersOnly(t *testing.T) {
	e := newEnv(t, chat.Config{}, Options{})
	r := e.room(t, chat.CreateRoomInput{})
	a := e.dial(t, "/anonymous", nil)
	a2 := e.dial(t, "/anonymous", nil) // a second socket of the same chatter
	b := e.dial(t, "/anonymous", nil)
	ca := a.join(t, r.ID, nil)
	a2.join(t, r.ID, map[string]any{"chatterId": ca.ID, "token": ca.Token})
	b.join(t, r.ID, nil)
	if env := a.ack(t, "typing", map[string]any{"roomId": r.ID}); !env.Success {
		t.Fatalf("got %+v", env)
	}
	ev := b.wait(t, "typing", nil)
	var p typingPayload
	if err := json.Unmarshal(ev.args[0], &p); err != nil || p.ChatterID != ca.ID || p.Nickname != ca.Nickname || p.RoomID != r.ID {
		t.Fatalf("got typing %s, want %s typing", ev.args[0], ca.ID)
	}
	// A message sent afterwards reaches everyone after the typing event would have.
	a.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "done"})
	for _, c := range []*client{a, a2} {
		c.wait(t, "sendMessage", nil)
		for _, ev := range c.all() {
			if ev.name == "typing" {
				t.Fatal("the typer's own socket got its typing event")
			}
		}
	}
}

func TestDisconnectLeavesEveryRoom(t *testing.T) {
	e := newEnv(t, chat.Config{LeaveGrace: time.Millisecond}, Options{})
	r1 := e.room(t, chat.CreateRoomInput{})
	r2 := e.room(t, chat.CreateRoomInput{})
	a := e.dial(t, "/anonymous", nil)
	b := e.dial(t, "/anonymous", nil)
	ca := a.join(t, r1.ID, nil)
	a.join(t, r2.ID, map[string]any{"chatterId": ca.ID, "token": ca.Token})
	b.join(t, r1.ID, nil)
	b.join(t, r2.ID, nil)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []chat.Room{r1, r2} {
		ev := b.wait(t, "sendAlert", func(raw json.RawMessage) bool {
			m := decodeMessage(t, raw)
			return m.Alert != nil && m.Alert.Kind == chat.AlertLeave && m.RoomID == r.ID
		})
		if m := decodeMessage(t, ev.args[0]); m.Content != ca.Nickname+"님이 퇴장했습니다." {
			t.Fatalf("got %q", m.Content)
		}
	}
}

func TestLeaveRoomEvent(t *testing.T) {
	e := newEnv(t, chat.Config{LeaveGrace: time.Millisecond}, Options{})
	r := e.room(t, chat.CreateRoomInput{})
	a := e.dial(t, "/anonymous", nil)
	b := e.dial(t, "/anonymous", nil)
	a.join(t, r.ID, nil)
	b.join(t, r.ID, nil)
	if env := a.ack(t, "leaveRoom"); !env.Success || string(env.Data) != "null" {
		t.Fatalf("got %+v", env)
	}
	b.wait(t, "sendAlert", isAlert(chat.AlertLeave))
	// Out of the room: no more broadcasts, and sending is refused.
	if env := a.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "hi"}); env.Code != "NOT_JOINED" {
		t.Fatalf("got %+v, want NOT_JOINED", env)
	}
	b.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "still here"})
	b.wait(t, "sendMessage", nil)
	if err := a.Close(); err != nil { // closing makes no second leave alert
		t.Fatal(err)
	}
	b.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "last"})
	b.wait(t, "sendMessage", func(raw json.RawMessage) bool { return decodeMessage(t, raw).Content == "last" })
	leaves := 0
	for _, ev := range a.all() {
		if ev.name == "sendMessage" {
			t.Fatalf("a left but got %s", ev.args[0])
		}
	}
	for _, ev := range b.all() {
		if ev.name == "sendAlert" && isAlert(chat.AlertLeave)(ev.args[0]) {
			leaves++
		}
	}
	if leaves != 1 {
		t.Fatalf("got %d leave alerts, want 1", leaves)
	}
}

func TestCapacityAndPassword(t *testing.T) {
	e := newEnv(t, chat.Config{}, Options{})
	r := e.room(t, chat.CreateRoomInput{Capacity: 2, IsPassword: true, Password: "pw"})
	a := e.dial(t, "/anonymous", nil)
	if env := a.ack(t, "joinRoom", map[string]any{"roomId": r.ID}); env.Code != "PASSWORD_REQUIRED" {
		t.Fatalf("got %+v, want PASSWORD_REQUIRED", env)
	}
	_, ticket, err := e.svc.AccessCheck(context.Background(), r.ID, "pw")
	if err != nil {
		t.Fatal(err)
	}
	a.join(t, r.ID, map[string]any{"ticket": ticket})
	e.dial(t, "/anonymous", nil).join(t, r.ID, map[string]any{"password": "pw"})
	env := e.dial(t, "/anonymous", nil).ack(t, "joinRoom", map[string]any{"roomId": r.ID, "password": "pw"})
	if env.Code != "ROOM_FULL" || env.Message != "채팅방 인원수가 가득차서 입장할 수 없습니다." {
		t.Fatalf("got %+v, want ROOM_FULL", env)
	}
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t, chat.Config{}, Options{MessageLimit: ratelimit.Rate{Burst: 2, Per: time.Hour}})
	r := e.room(t, chat.CreateRoomInput{})
	a := e.dial(t, "/anonymous", nil)
	a.join(t, r.ID, nil)
	for i := range 2 {
		if env := a.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "m"}); !env.Success {
			t.Fatalf("message %d: got %+v", i, env)
		}
	}
	if env := a.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "m"}); env.Code != "RATE_LIMITED" {
		t.Fatalf("got %+v, want RATE_LIMITED", env)
	}
	// Another connection has its own budget.
	b := e.dial(t, "/anonymous", nil)
	b.join(t, r.ID, nil)
	if env := b.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "m"}); !env.Success {
		t.Fatalf("got %+v", env)
	}
}

func TestConnectLimitPerIPWithExemption(t *testing.T) {
	e := newEnv(t, chat.Config{}, Options{ConnectLimit: ratelimit.Rate{Burst: 1, Per: time.Hour}})
	e.dial(t, "/anonymous", nil)
	_, err := sioclient.Dial(context.Background(), sioclient.Options{URL: e.url, Namespace: "/anonymous"})
	var ce *sioclient.ConnectError
	if !errors.As(err, &ce) || ce.Message != "RATE_LIMITED" {
		t.Fatalf("got %v, want a RATE_LIMITED connect error", err)
	}
	exempt, _ := ratelimit.ParseExempt([]string{"127.0.0.0/8"})
	e2 := newEnv(t, chat.Config{}, Options{ConnectLimit: ratelimit.Rate{Burst: 1, Per: time.Hour}, Exempt: exempt})
	e2.dial(t, "/anonymous", nil)
	e2.dial(t, "/anonymous", nil)
}

func TestExpiryRemovesSockets(t *testing.T) {
	e := newEnv(t, chat.Config{RoomTTL: time.Hour, SweepEvery: 5 * time.Millisecond, LeaveGrace: time.Millisecond}, Options{})
	r := e.room(t, chat.CreateRoomInput{})
	a := e.dial(t, "/anonymous", nil)
	a.join(t, r.ID, nil)
	e.clock.Advance(time.Hour)
	alert := a.wait(t, "sendAlert", isAlert(chat.AlertExpire))
	if m := decodeMessage(t, alert.args[0]); m.Content != "채팅방이 만료되었습니다." || m.Chatter.ID == "" {
		t.Fatalf("got %+v", m)
	}
	ev := a.wait(t, "roomExpired", nil)
	if string(ev.args[0]) != `{"roomId":"`+r.ID+`"}` {
		t.Fatalf("got %s", ev.args[0])
	}
	// The socket was removed from the room and its presence let go.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		online, err := e.svc.Online(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(online) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired room's chatter stayed online")
		}
	}
	if env := a.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "hi"}); env.Code != "ROOM_EXPIRED" {
		t.Fatalf("got %+v, want ROOM_EXPIRED", env)
	}
	if _, ok := e.gw.connOf(e.serverSocket(t, a.SID())).member(r.ID); ok {
		t.Fatal("the socket still holds a membership of the expired room")
	}
}

func TestRecoveryReplaysMissedMessagesFromTheStore(t *testing.T) {
	e := newEnv(t, chat.Config{LeaveGrace: time.Hour}, Options{})
	r := e.room(t, chat.CreateRoomInput{})
	a := e.dial(t, "/anonymous", nil)
	b := e.dial(t, "/anonymous", nil)
	ca := a.join(t, r.ID, nil)
	b.join(t, r.ID, nil)
	b.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "seen"})
	last := a.wait(t, "sendMessage", nil)
	offset := ""
	_ = json.Unmarshal(last.args[len(last.args)-1], &offset)
	pid, sid := a.PID(), a.SID()
	if pid == "" {
		t.Fatal("got no pid, want recovery on")
	}
	// Cut a's transport as a network failure would.
	e.serverSocket(t, sid).CloseTransport()
	<-a.Done()
	for _, content := range []string{"m1", "m2", "m3"} {
		b.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": content})
	}
	a2 := e.dial(t, "/anonymous", map[string]string{"pid": pid, "offset": offset})
	if a2.SID() != sid {
		t.Fatalf("got sid %q, want the recovered %q", a2.SID(), sid)
	}
	a2.wait(t, "sendMessage", func(raw json.RawMessage) bool { return decodeMessage(t, raw).Content == "m3" })
	var got []string
	for _, ev := range a2.all() {
		if ev.name == "sendMessage" {
			got = append(got, decodeMessage(t, ev.args[0]).Content)
		}
	}
	if strings.Join(got, ",") != "m1,m2,m3" {
		t.Fatalf("got missed %v, want [m1 m2 m3] once and in order", got)
	}
	// The recovered socket is a member again: it can send, and it made no leave/join noise.
	if env := a2.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "back"}); !env.Success {
		t.Fatalf("got %+v", env)
	}
	b.wait(t, "sendMessage", func(raw json.RawMessage) bool { return decodeMessage(t, raw).Content == "back" })
	for _, ev := range b.all() {
		if ev.name == "sendAlert" {
			if m := decodeMessage(t, ev.args[0]); m.ChatterID == ca.ID && m.Alert.Kind != chat.AlertJoin {
				t.Fatalf("got alert %q about the recovered chatter", m.Content)
			}
		}
	}
}

func TestReturnChatters(t *testing.T) {
	e := newEnv(t, chat.Config{}, Options{})
	r := e.room(t, chat.CreateRoomInput{})
	a := e.dial(t, "/anonymous", nil)
	ca := a.join(t, r.ID, nil)
	a.wait(t, "returnChatters", nil)
	a.mu.Lock()
	a.events = nil
	a.mu.Unlock()
	if env := a.ack(t, "returnChatters", map[string]any{"roomId": r.ID}); !env.Success || string(env.Data) != "null" {
		t.Fatalf("got %+v", env)
	}
	ev := a.wait(t, "returnChatters", nil)
	var cs []chatterJSON
	if err := json.Unmarshal(ev.args[0], &cs); err != nil || len(cs) != 1 || cs[0].ID != ca.ID {
		t.Fatalf("got %s, want [a]", ev.args[0])
	}
}

// The unmodified original client in compat mode: no token, a reload within the grace makes
// no noise, and its rename notice echo is accepted without a second alert.
func TestOriginalClientFlowInCompatMode(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, chat.Config{Identity: chat.IdentityCompat, LeaveGrace: time.Hour}, Options{})
	r := e.room(t, chat.CreateRoomInput{IsPassword: true, Password: "pw"})
	b := e.dial(t, "/anonymous", nil)
	b.join(t, r.ID, map[string]any{"password": "pw"})
	a := e.dial(t, "/anonymous", nil)
	ca := a.join(t, r.ID, nil) // compat: no password needed
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.svc.ReentryCheck(ctx, r.ID, ca.ID); !ok || err != nil {
		t.Fatalf("got reentry %v %v within the grace, want true", ok, err)
	}
	a2 := e.dial(t, "/anonymous", nil)
	again := a2.join(t, r.ID, map[string]any{"chatterId": ca.ID})
	if again.ID != ca.ID {
		t.Fatalf("got chatter %s, want %s back", again.ID, ca.ID)
	}
	if _, err := e.svc.Rename(ctx, ca.ID, "", "새이름"); err != nil {
		t.Fatal(err)
	}
	notice := ca.Nickname + "님의 닉네임이 새이름로 변경되었습니다."
	b.wait(t, "sendAlert", isAlert(chat.AlertRename))
	if env := a2.ack(t, "sendAlert", map[string]any{"roomId": r.ID, "content": notice}); !env.Success {
		t.Fatalf("got %+v, want the echo accepted", env)
	}
	b.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "fence"})
	b.wait(t, "sendMessage", nil)
	var alerts []string
	for _, ev := range b.all() {
		if ev.name == "sendAlert" {
			alerts = append(alerts, decodeMessage(t, ev.args[0]).Content)
		}
	}
	want := []string{ca.Nickname + "님이 입장했습니다.", notice}
	if len(alerts) < 2 || strings.Join(alerts[len(alerts)-2:], "|") != strings.Join(want, "|") || len(alerts) != 3 {
		t.Fatalf("got alerts %q, want b's join, then a's join and one rename notice (no leave, no rejoin)", alerts)
	}
}

func TestStrictModeRefusesTokenlessRejoin(t *testing.T) {
	e := newEnv(t, chat.Config{}, Options{})
	r := e.room(t, chat.CreateRoomInput{})
	a := e.dial(t, "/anonymous", nil)
	ca := a.join(t, r.ID, nil)
	intruder := e.dial(t, "/anonymous", nil)
	if env := intruder.ack(t, "joinRoom", map[string]any{"roomId": r.ID, "chatterId": ca.ID}); env.Code != "FORBIDDEN" {
		t.Fatalf("got %+v, want FORBIDDEN", env)
	}
	if env := intruder.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "as a"}); env.Code != "NOT_JOINED" {
		t.Fatalf("got %+v, want NOT_JOINED", env)
	}
	back := e.dial(t, "/anonymous", nil).join(t, r.ID, map[string]any{"chatterId": ca.ID, "token": ca.Token})
	if back.Token != ca.Token {
		t.Fatalf("got token %q, want the same token back", back.Token)
	}
}

func TestRecoveryAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	db, sessions := filepath.Join(dir, "chat.db"), filepath.Join(dir, "sessions.json")
	cfg := chat.Config{LeaveGrace: time.Hour}
	e1 := newEnvAt(t, db, sessions, cfg, Options{})
	r := e1.room(t, chat.CreateRoomInput{})
	a := e1.dial(t, "/anonymous", nil)
	b := e1.dial(t, "/anonymous", nil)
	a.join(t, r.ID, nil)
	cb := b.join(t, r.ID, nil)
	b.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "before restart"})
	last := a.wait(t, "sendMessage", nil)
	var offset string
	_ = json.Unmarshal(last.args[len(last.args)-1], &offset)
	pid, sid := a.PID(), a.SID()

	e1.stop()
	<-a.Done()
	if st, err := os.Stat(sessions); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("got %v %v, want a private sessions file", st, err)
	}

	e2 := newEnvAt(t, db, sessions, cfg, Options{})
	if e2.sessions.Len() == 0 {
		t.Fatal("no session restored")
	}
	if _, err := os.Stat(sessions); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want the sessions file consumed", err)
	}
	b2 := e2.dial(t, "/anonymous", nil)
	b2.join(t, r.ID, map[string]any{"chatterId": cb.ID, "token": cb.Token})
	missed := []string{"after 1", "after 2", "after 3"}
	for _, content := range missed {
		b2.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": content})
	}
	a2 := e2.dial(t, "/anonymous", map[string]string{"pid": pid, "offset": offset})
	if a2.SID() != sid {
		t.Fatalf("got sid %q, want the recovered %q", a2.SID(), sid)
	}
	a2.wait(t, "sendMessage", func(raw json.RawMessage) bool { return decodeMessage(t, raw).Content == "after 3" })
	if env := a2.ack(t, "sendMessage", map[string]any{"roomId": r.ID, "content": "A is back"}); !env.Success {
		t.Fatalf("got %+v, want A still in its room", env)
	}
	b2.wait(t, "sendMessage", func(raw json.RawMessage) bool { return decodeMessage(t, raw).Content == "A is back" })
	var got []string
	var lastID int64
	for _, ev := range a2.all() {
		if ev.name != "sendMessage" && ev.name != "sendAlert" {
			continue
		}
		m := decodeMessage(t, ev.args[0])
		if m.ID <= lastID {
			t.Fatalf("got message %d after %d, want each once and in order", m.ID, lastID)
		}
		lastID = m.ID
		if m.Type == "MESSAGE" {
			got = append(got, m.Content)
		}
	}
	if want := append(missed, "A is back"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// serverSocket is the server side of a client socket of the /anonymous namespace.
func (e *env) serverSocket(t *testing.T, sid string) *socketio.Socket {
	t.Helper()
	for _, n := range e.gw.namespaces("anonymous") {
		if s := n.Socket(sid); s != nil {
			return s
		}
	}
	t.Fatalf("no server socket %s", sid)
	return nil
}
