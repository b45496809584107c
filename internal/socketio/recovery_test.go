package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recoveryServer has recovery on and a "/" namespace whose sockets join the
// rooms named in their auth and keep a nickname.
func recoveryServer(t *testing.T, rec *RecoveryOptions) (*Server, chan *Socket) {
	t.Helper()
	s := newTestServer(t, Options{Recovery: rec})
	sockets := make(chan *Socket, 4)
	s.Of("/").OnConnection(func(so *Socket) {
		if !so.Recovered() {
			so.Join("lobby")
			so.Set("nick", map[string]string{"name": "frog"})
		}
		sockets <- so
	})
	return s, sockets
}

// lastArg returns the last argument of an EVENT frame, as a string.
func lastArg(t *testing.T, text string) string {
	t.Helper()
	var args []any
	if err := json.Unmarshal([]byte(text[strings.IndexByte(text, '['):]), &args); err != nil {
		t.Fatalf("frame %q: %v", text, err)
	}
	s, _ := args[len(args)-1].(string)
	return s
}

func TestRecoveryInMemory(t *testing.T) {
	s, sockets := recoveryServer(t, &RecoveryOptions{})
	n := s.Of("/")
	fc := dial(t, s)
	sid, pid := fc.connect("/", "")
	if pid == "" {
		t.Fatal("CONNECT reply without pid")
	}
	so := <-sockets
	so.Join("extra")

	if err := n.To("lobby").Emit("chat", "before"); err != nil {
		t.Fatal(err)
	}
	got := fc.nextText()
	offset := lastArg(t, got)
	expect(t, "broadcast", got, fmt.Sprintf(`42["chat","before",%q]`, offset))

	fc.drop("transport close")
	// Missed: two events to its rooms, in order; none to other rooms.
	_ = n.To("lobby").Emit("chat", "one")
	_ = n.To("elsewhere").Emit("chat", "not for you")
	_ = n.To("extra").Except("nobody").Emit("chat", "two", []byte{7})

	back := dial(t, s)
	sid2, pid2 := back.connect("/", fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, offset))
	expect(t, "sid kept", sid2, sid)
	expect(t, "pid kept", pid2, pid)
	so2 := <-sockets
	expect(t, "recovered", so2.Recovered(), true)
	rooms := so2.Rooms()
	slices.Sort(rooms)
	want := []string{sid, "extra", "lobby"}
	slices.Sort(want)
	expect(t, "rooms", strings.Join(rooms, ","), strings.Join(want, ","))
	var nick struct{ Name string }
	if err := so2.Decode("nick", &nick); err != nil {
		t.Fatal(err)
	}
	expect(t, "state", nick.Name, "frog")

	first := back.nextText()
	expect(t, "first missed", strings.HasPrefix(first, `42["chat","one",`), true)
	second := back.nextText()
	expect(t, "second missed", strings.HasPrefix(second, `451-["chat","two",{"_placeholder":true,"num":0},`), true)
	expect(t, "attachment", string(back.next().bin), "\x07")
	expect(t, "nothing else", len(back.pending()), 0)

	// Live broadcasts reach it once.
	_ = n.To("lobby").Emit("chat", "live")
	expect(t, "live", strings.HasPrefix(back.nextText(), `42["chat","live",`), true)
	expect(t, "once", len(back.pending()), 0)

	// A session is taken once: the same pid again starts afresh.
	back.drop("client namespace disconnect") // not recoverable: nothing saved
	again := dial(t, s)
	sid3, _ := again.connect("/", fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, offset))
	if sid3 == sid {
		t.Fatal("session recovered twice")
	}
	expect(t, "fresh socket", (<-sockets).Recovered(), false)
}

func TestRecoveryRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string
		auth   func(pid, offset string) string
	}{
		{"unknown pid", "transport close", func(_, o string) string { return fmt.Sprintf(`{"pid":"nope","offset":%q}`, o) }},
		{"unknown offset", "transport close", func(p, _ string) string { return fmt.Sprintf(`{"pid":%q,"offset":"nope"}`, p) }},
		{"not recoverable reason", "client namespace disconnect", func(p, o string) string { return fmt.Sprintf(`{"pid":%q,"offset":%q}`, p, o) }},
		{"auth not an object", "transport close", func(string, string) string { return `` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, sockets := recoveryServer(t, &RecoveryOptions{})
			fc := dial(t, s)
			sid, pid := fc.connect("/", "")
			<-sockets
			_ = s.Of("/").To("lobby").Emit("chat", "x")
			offset := lastArg(t, fc.nextText())
			fc.drop(tc.reason)
			back := dial(t, s)
			sid2, pid2 := back.connect("/", tc.auth(pid, offset))
			if sid2 == sid || pid2 == pid || pid2 == "" {
				t.Fatalf("got sid %s pid %s, want a new session", sid2, pid2)
			}
			expect(t, "recovered", (<-sockets).Recovered(), false)
		})
	}
}

// appStore serves sessions and missed events as an application would from
// its own database: offsets are message ids.
type appStore struct {
	mu       sync.Mutex
	sessions map[string]Session
	messages []MissedEvent // id order
	asked    string
	during   func() // runs inside Missed, as a concurrent broadcast would
}

func (a *appStore) Save(_ context.Context, s Session) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[s.PID] = s
	return nil
}

func (a *appStore) Take(_ context.Context, pid string) (Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[pid]
	if !ok {
		return Session{}, ErrSessionNotFound
	}
	delete(a.sessions, pid)
	return s, nil
}

func (a *appStore) Missed(_ context.Context, s Session, offset string, _ json.RawMessage) ([]MissedEvent, func(string) bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = offset + " " + strings.Join(s.Rooms, ",")
	if a.during != nil {
		a.mu.Unlock()
		a.during()
		a.mu.Lock()
	}
	var out []MissedEvent
	for _, m := range a.messages {
		if m.Offset > offset {
			out = append(out, m)
		}
	}
	return out, func(o string) bool { return o <= offset }, nil
}

func TestRecoveryFromApplicationStore(t *testing.T) {
	store := &appStore{sessions: make(map[string]Session)}
	s, sockets := recoveryServer(t, &RecoveryOptions{Sessions: store})
	fc := dial(t, s)
	_, pid := fc.connect("/", "")
	<-sockets
	if err := s.Of("/").To("lobby").Offset("101").Emit("sendMessage", map[string]int{"id": 101}); err != nil {
		t.Fatal(err)
	}
	expect(t, "offset from the application", fc.nextText(), `42["sendMessage",{"id":101},"101"]`)
	fc.drop("ping timeout")

	store.messages = []MissedEvent{
		{Event: "sendMessage", Args: []any{json.RawMessage(`{"id":101}`)}, Offset: "101"},
		{Event: "sendMessage", Args: []any{json.RawMessage(`{"id":102}`)}, Offset: "102"},
		{Event: "sendAlert", Args: []any{json.RawMessage(`{"id":103}`)}, Offset: "103"},
	}
	back := dial(t, s)
	back.connect("/", fmt.Sprintf(`{"pid":%q,"offset":"101"}`, pid))
	expect(t, "recovered", (<-sockets).Recovered(), true)
	expect(t, "store asked", store.asked, "101 lobby")
	expect(t, "missed 1", back.nextText(), `42["sendMessage",{"id":102},"102"]`)
	expect(t, "missed 2", back.nextText(), `42["sendAlert",{"id":103},"103"]`)
}

// A live broadcast held back during the catch-up is dropped when the client had it already
// (a node whose live stream lags behind the store) or when a missed event carried it.
func TestRecoveryDropsHeldBroadcastsTheClientHad(t *testing.T) {
	store := &appStore{sessions: make(map[string]Session)}
	s, sockets := recoveryServer(t, &RecoveryOptions{Sessions: store})
	fc := dial(t, s)
	_, pid := fc.connect("/", "")
	<-sockets
	fc.drop("ping timeout")
	store.messages = []MissedEvent{{Event: "sendMessage", Args: []any{json.RawMessage(`{"id":102}`)}, Offset: "102"}}
	store.during = func() {
		for _, id := range []string{"101", "102", "103"} {
			if err := s.Of("/").To("lobby").Offset(id).Emit("sendMessage", json.RawMessage(`{"id":`+id+`}`)); err != nil {
				t.Error(err)
			}
		}
	}
	back := dial(t, s)
	back.connect("/", fmt.Sprintf(`{"pid":%q,"offset":"101"}`, pid))
	expect(t, "recovered", (<-sockets).Recovered(), true)
	expect(t, "missed", back.nextText(), `42["sendMessage",{"id":102},"102"]`)
	expect(t, "live after the missed ones, without those the client had", back.nextText(), `42["sendMessage",{"id":103},"103"]`)
}

type expiredStore struct{ appStore }

func (e *expiredStore) Take(ctx context.Context, pid string) (Session, error) {
	s, err := e.appStore.Take(ctx, pid)
	s.DisconnectedAt = s.DisconnectedAt.Add(-time.Hour)
	return s, err
}

func TestRecoveryExpired(t *testing.T) {
	store := &expiredStore{appStore{sessions: make(map[string]Session)}}
	s, sockets := recoveryServer(t, &RecoveryOptions{Sessions: store, MaxDisconnectionDuration: time.Minute})
	fc := dial(t, s)
	sid, pid := fc.connect("/", "")
	<-sockets
	fc.drop("transport close")
	back := dial(t, s)
	sid2, _ := back.connect("/", fmt.Sprintf(`{"pid":%q,"offset":"1"}`, pid))
	if sid2 == sid {
		t.Fatal("expired session recovered")
	}
	<-sockets
}

func TestRecoverySavedOnClose(t *testing.T) {
	store := &appStore{sessions: make(map[string]Session)}
	s := newServer(Options{Recovery: &RecoveryOptions{Sessions: store}})
	s.Of("/").OnConnection(func(so *Socket) { so.Join("r") })
	fc := dial(t, s)
	sid, pid := fc.connect("/", "")
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	fc.waitClosed()
	sess, err := store.Take(context.Background(), pid)
	if err != nil {
		t.Fatalf("session not saved on shutdown: %v", err)
	}
	expect(t, "sid", sess.SID, sid)
	expect(t, "rooms", strings.Join(sess.Rooms, ","), "r")
}

func TestMemoryStoreBounds(t *testing.T) {
	m := NewMemorySessionStore(time.Minute, 2)
	ctx := context.Background()
	if _, err := m.Take(ctx, "x"); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("got %v, want ErrSessionNotFound", err)
	}
	if err := m.Save(ctx, Session{PID: "p", SID: "s", Namespace: "/", DisconnectedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m.Record("/", BroadcastOptions{}, MissedEvent{Event: "e", Offset: fmt.Sprint(i)})
	}
	sess, err := m.Take(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	// Offset 0 fell out of the two-event buffer: recovery is impossible.
	if _, _, err := m.Missed(ctx, sess, "0", nil); !errors.Is(err, ErrOffsetUnknown) {
		t.Fatalf("got %v, want ErrOffsetUnknown", err)
	}
	got, _, err := m.Missed(ctx, sess, "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "missed after 1", len(got), 1)
	expect(t, "offset", got[0].Offset, "2")
}

func TestRecoveryNoGapNoDuplicate(t *testing.T) {
	store := &appStore{sessions: make(map[string]Session)}
	s, sockets := recoveryServer(t, &RecoveryOptions{Sessions: store})
	room := s.Of("/").To("lobby")
	fc := dial(t, s)
	_, pid := fc.connect("/", "")
	<-sockets
	fc.drop("transport close")

	store.messages = []MissedEvent{{Event: "m", Args: []any{102}, Offset: "102"}}
	// While the store answers, 102 is broadcast (already in the answer) and
	// 103 (too new for it): each must arrive once, after the missed ones.
	store.during = func() {
		_ = room.Offset("102").Emit("m", 102)
		_ = room.Offset("103").Emit("m", 103)
	}
	back := dial(t, s)
	back.connect("/", fmt.Sprintf(`{"pid":%q,"offset":"101"}`, pid))
	expect(t, "recovered", (<-sockets).Recovered(), true)
	expect(t, "missed", back.nextText(), `42["m",102,"102"]`)
	expect(t, "held back", back.nextText(), `42["m",103,"103"]`)
	expect(t, "nothing twice", len(back.pending()), 0)
	_ = room.Offset("104").Emit("m", 104)
	expect(t, "live", back.nextText(), `42["m",104,"104"]`)
}

func TestRecoveryMiddlewares(t *testing.T) {
	for _, rerun := range []bool{false, true} {
		t.Run(fmt.Sprintf("rerun=%v", rerun), func(t *testing.T) {
			s, sockets := recoveryServer(t, &RecoveryOptions{RunMiddlewaresOnRecovery: rerun})
			var calls atomic.Int32
			s.Of("/").Use(func(*Socket, json.RawMessage) error { calls.Add(1); return nil })
			fc := dial(t, s)
			_, pid := fc.connect("/", "")
			<-sockets
			_ = s.Of("/").To("lobby").Emit("chat", "x")
			offset := lastArg(t, fc.nextText())
			fc.drop("transport close")
			back := dial(t, s)
			back.connect("/", fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, offset))
			expect(t, "recovered", (<-sockets).Recovered(), true)
			want := int32(1)
			if rerun {
				want = 2
			}
			expect(t, "middleware calls", calls.Load(), want)
		})
	}
}
