package chat_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"colachat/internal/broker/memory"
	"colachat/internal/chat"
	"colachat/internal/store/sqlite"
)

// markedPresence is an in-process stand-in for the Redis presence: shared by the "nodes"
// of a test, with cluster-wide leave marks.
type markedPresence struct {
	*memory.Presence
	mu    sync.Mutex
	marks map[string]bool
}

func (p *markedPresence) MarkLeft(_ context.Context, roomID, chatterID string, _ time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.marks[roomID+"/"+chatterID] = true
	return nil
}

func (p *markedPresence) TakeLeft(_ context.Context, roomID, chatterID string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	had := p.marks[roomID+"/"+chatterID]
	delete(p.marks, roomID+"/"+chatterID)
	return had, nil
}

func (p *markedPresence) HasLeft(_ context.Context, roomID, chatterID string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.marks[roomID+"/"+chatterID], nil
}

// twoNodes builds two services over one store, one broker and one marked presence, as two
// nodes of a cluster would share PostgreSQL and Redis.
func twoNodes(t *testing.T, grace time.Duration) (a, b *chat.Service, events *recorder) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	presence := &markedPresence{Presence: memory.NewPresence(), marks: map[string]bool{}}
	broker := memory.NewBroker()
	events = &recorder{notify: make(chan struct{}, 1)}
	unsubscribe := broker.Subscribe(events.add)
	cfg := chat.Config{LeaveGrace: grace, PasswordCost: bcrypt.MinCost, SweepEvery: time.Hour, TicketKey: []byte("0123456789abcdef0123456789abcdef")}
	var stops []func()
	node := func() *chat.Service {
		svc, err := chat.NewService(cfg, st, broker, presence, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); svc.Run(ctx) }()
		stops = append(stops, func() { cancel(); <-done })
		return svc
	}
	a, b = node(), node()
	t.Cleanup(func() {
		for _, stop := range stops {
			stop()
		}
		unsubscribe()
		st.Close()
	})
	return a, b, events
}

func TestReloadOntoAnotherNodeMakesNoNoise(t *testing.T) {
	ctx := context.Background()
	nodeA, nodeB, events := twoNodes(t, 200*time.Millisecond)
	room, err := nodeA.CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "t", Capacity: 4})
	if err != nil {
		t.Fatal(err)
	}
	c, token, err := nodeA.Join(ctx, chat.JoinInput{Namespace: "/anonymous", RoomID: room.ID, ConnID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	events.reset()
	if err := nodeA.Leave(ctx, room.ID, c.ID, "a1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := nodeB.ReentryCheck(ctx, room.ID, c.ID); !ok {
		t.Fatal("reentry-check on the other node within the grace: got false, want true")
	}
	if _, _, err := nodeB.Join(ctx, chat.JoinInput{Namespace: "/anonymous", RoomID: room.ID, ChatterID: c.ID, Token: token, ConnID: "b1"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond) // past node A's grace timer
	if got := events.alerts(room.ID); len(got) != 0 {
		t.Fatalf("got alerts %v after a reload onto another node, want none", got)
	}
}

func TestLeaveThroughAnotherNodeIsAnnouncedOnce(t *testing.T) {
	ctx := context.Background()
	nodeA, nodeB, events := twoNodes(t, 50*time.Millisecond)
	room, _ := nodeA.CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "t", Capacity: 4})
	c, _, err := nodeB.Join(ctx, chat.JoinInput{Namespace: "/anonymous", RoomID: room.ID, ConnID: "b1"})
	if err != nil {
		t.Fatal(err)
	}
	events.reset()
	nodeB.Leave(ctx, room.ID, c.ID, "b1")
	events.waitFor(t, "leave alert", func(ev chat.Event) bool { return ev.Kind == chat.EventAlert })
	time.Sleep(200 * time.Millisecond)
	if got := events.alerts(room.ID); len(got) != 1 || got[0] != chat.AlertLeave {
		t.Fatalf("got alerts %v, want one leave", got)
	}
	if ok, _ := nodeA.ReentryCheck(ctx, room.ID, c.ID); ok {
		t.Fatal("reentry-check after the leave became final: got true, want false")
	}
}

func TestDepartedMakesTheLeaveOfAChatterWhoseNodeDied(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	r := h.room(t, chat.CreateRoomInput{})
	gone := h.join(t, chat.JoinInput{RoomID: r.ID})
	stays := h.join(t, chat.JoinInput{RoomID: r.ID})
	// What presence looks like once the dead node's entries are reaped.
	if _, err := h.presence.Remove(ctx, r.ID, gone.ID, gone.conn); err != nil {
		t.Fatal(err)
	}
	h.events.reset()
	if err := h.svc.Departed(ctx, r.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Departed(ctx, r.ID, stays.ID); err != nil { // still online: nothing to do
		t.Fatal(err)
	}
	if got := h.events.alerts(r.ID); len(got) != 1 || got[0] != chat.AlertLeave {
		t.Fatalf("got alerts %v, want one leave", got)
	}
	online := h.events.waitFor(t, "online list", func(ev chat.Event) bool { return ev.Kind == chat.EventChatters })
	if len(online.Chatters) != 1 || online.Chatters[0].ID != stays.ID {
		t.Fatalf("got online %+v, want only the chatter who stayed", online.Chatters)
	}
}
