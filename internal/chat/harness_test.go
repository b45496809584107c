package chat_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"colachat/internal/broker/memory"
	"colachat/internal/chat"
	"colachat/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable Config.Now.
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

// recorder keeps every broker event.
type recorder struct {
	mu     sync.Mutex
	events []chat.Event
	notify chan struct{}
}

func (r *recorder) add(ev chat.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) all() []chat.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chat.Event(nil), r.events...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

// waitFor returns the first event matching match, waiting for it to be published.
func (r *recorder) waitFor(t *testing.T, what string, match func(chat.Event) bool) chat.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, ev := range r.all() {
			if match(ev) {
				return ev
			}
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("never got %s; events: %+v", what, r.all())
		}
	}
}

// alerts lists the alert kinds published for a room, in order.
func (r *recorder) alerts(roomID string) []chat.AlertKind {
	var out []chat.AlertKind
	for _, ev := range r.all() {
		if ev.Kind == chat.EventAlert && ev.RoomID == roomID && ev.Message.Alert != nil {
			out = append(out, ev.Message.Alert.Kind)
		}
	}
	return out
}

type harness struct {
	svc      *chat.Service
	store    *sqlite.Store
	presence *memory.Presence
	events   *recorder
	clock    *clock
	conns    atomic.Int64
	stop     func() // stops Run and waits for it
}

// newHarness builds a service over a real SQLite file and the in-process broker, and runs it.
func newHarness(t *testing.T, cfg chat.Config) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{store: st, presence: memory.NewPresence(), events: &recorder{notify: make(chan struct{}, 1)},
		clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	if cfg.Now == nil {
		cfg.Now = h.clock.Now
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = bcrypt.MinCost // the default 10 takes seconds under -race
	}
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = time.Hour // sweep tests set their own
	}
	broker := memory.NewBroker()
	unsubscribe := broker.Subscribe(h.events.add)
	h.svc, err = chat.NewService(cfg, st, broker, h.presence, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := h.svc.Run(runCtx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(func() {
		h.stop()
		unsubscribe()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return h
}

func (h *harness) room(t *testing.T, in chat.CreateRoomInput) chat.Room {
	t.Helper()
	if in.Namespace == "" {
		in.Namespace = "anonymous"
	}
	if in.Title == "" {
		in.Title = "room"
	}
	if in.Capacity == 0 {
		in.Capacity = 8
	}
	r, err := h.svc.CreateRoom(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type joined struct {
	chat.Chatter
	token, conn string
}

// join joins a new chatter (or in.ChatterID) and fails the test on error.
func (h *harness) join(t *testing.T, in chat.JoinInput) joined {
	t.Helper()
	if in.Namespace == "" {
		in.Namespace = "/anonymous"
	}
	if in.ConnID == "" {
		in.ConnID = "conn" + strconv.FormatInt(h.conns.Add(1), 10)
	}
	c, token, err := h.svc.Join(context.Background(), in)
	if err != nil {
		t.Fatalf("join %+v: %v", in, err)
	}
	return joined{Chatter: c, token: token, conn: in.ConnID}
}

// wantCode fails unless err carries code (code "" means no error).
func wantCode(t *testing.T, err error, code chat.Code) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var ce *chat.Error
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("got error %v, want code %s", err, code)
	}
}
