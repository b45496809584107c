package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"colachat/internal/chat"
)

var lifecycleTests = []subtest{
	{"Ping", testPing},
	{"CancelledAppend", testCancelledAppend},
	{"CloseFlushesPendingAppends", testCloseFlushes},
	{"ReopenFindsEverything", testReopen},
}

func testPing(t *testing.T, h *harness) {
	f := h.newFixture(t)
	if err := f.s.Ping(f.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// testCancelledAppend checks that an append whose context has ended is refused, not stored.
func testCancelledAppend(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, c := f.room(base), f.chatter("개구리")
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := f.s.AppendMessage(ctx, message(r, c, "too late")); err == nil {
		t.Error("AppendMessage with a cancelled context: got no error, want one")
	}
	if got := f.allMessages(r.ID); len(got) != 0 {
		t.Errorf("stored after a cancelled append: got %d messages, want 0", len(got))
	}
}

// testCloseFlushes closes the store while appends are in flight. Each of them must either
// succeed, and then be stored, or fail: never be acknowledged and lost.
func testCloseFlushes(t *testing.T, h *harness) {
	s := h.open(t)
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
	ctx := t.Context()
	f := &fixture{t: t, s: s, ctx: ctx}
	r, c := f.room(base), f.chatter("개구리")

	const writers = 64
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		acked  []chat.Message
		total  atomic.Int64
		warmed = make(chan struct{})
		once   sync.Once
	)
	for w := range writers {
		wg.Go(func() {
			// Append until the store refuses: Close must make every writer stop.
			for i := 0; ; i++ {
				m, err := s.AppendMessage(ctx, message(r, c, fmt.Sprintf("w%d m%d", w, i)))
				if err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, m)
				mu.Unlock()
				if total.Add(1) == 200 {
					once.Do(func() { close(warmed) })
				}
			}
		})
	}
	<-warmed // appends are in flight from every writer when Close is called
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	closed = true
	wg.Wait()
	if _, err := s.AppendMessage(context.Background(), message(r, c, "after close")); err == nil {
		t.Error("AppendMessage after Close: got no error, want one")
	}

	if h.reopen == nil {
		t.Skip("no WithReopen: cannot check that acknowledged appends were stored")
	}
	s2 := h.reopen(t, s)
	t.Cleanup(func() { s2.Close() })
	stored := map[int64]chat.Message{}
	for _, m := range allMessages(t, s2, r.ID) {
		stored[m.ID] = m
	}
	lost := 0
	for _, m := range acked {
		got, ok := stored[m.ID]
		if !ok {
			lost++
			continue
		}
		d := diffMessage(got, m)
		d.report(t, fmt.Sprintf("acknowledged message %d", m.ID))
	}
	if lost > 0 {
		t.Errorf("after Close and reopen: %d of %d acknowledged messages missing", lost, len(acked))
	}
}

// testReopen closes a store with data of every kind and checks that a reopened store
// returns all of it.
func testReopen(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("no WithReopen")
	}
	s := h.open(t)
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
	f := &fixture{t: t, s: s, ctx: t.Context()}
	r := f.room(base, func(r *chat.Room) { r.IsPassword, r.PasswordHash = true, "$2a$10$hash" })
	expired := f.room(base.Add(-48 * time.Hour))
	a, b := f.chatter("개구리"), f.chatter("메뚜기")
	rcA := f.join(r, a, base.Add(time.Second))
	rcB := f.join(r, b, base.Add(2*time.Second))
	left := base.Add(3 * time.Second)
	if err := s.LeaveRoom(f.ctx, r.ID, b.ID, left); err != nil {
		t.Fatalf("LeaveRoom: %v", err)
	}
	rcB.IsActive, rcB.LeftAt = false, &left
	if _, err := s.ClaimRoomExpiry(f.ctx, expired.ID); err != nil {
		t.Fatalf("ClaimRoomExpiry: %v", err)
	}
	expired.IsExpired = true
	renamed, err := s.RenameChatter(f.ctx, a.ID, "올챙이")
	if err != nil {
		t.Fatalf("RenameChatter: %v", err)
	}
	if err := s.SetChatterActive(f.ctx, b.ID, false); err != nil {
		t.Fatalf("SetChatterActive: %v", err)
	}
	b.IsActive = false
	join := message(r, renamed, "올챙이님이 입장했습니다.")
	join.Type, join.Alert = chat.TypeAlert, &chat.Alert{Kind: chat.AlertJoin, Nickname: "올챙이"}
	msgs := []chat.Message{f.append(join)}
	msgs = append(msgs, f.appendN(r, renamed, "hello", 5)...)
	for i := range msgs {
		msgs[i].Chatter = renamed
	}
	closed = true
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := h.reopen(t, s)
	t.Cleanup(func() { s2.Close() })
	ctx := t.Context()
	for _, want := range []chat.Room{r, expired} {
		got, err := s2.Room(ctx, want.ID)
		if err != nil {
			t.Fatalf("Room after reopen: %v", err)
		}
		d := diffRoom(got, want)
		d.report(t, "Room after reopen")
	}
	for _, want := range []chat.Chatter{renamed, b} {
		got, err := s2.Chatter(ctx, want.ID)
		if err != nil {
			t.Fatalf("Chatter after reopen: %v", err)
		}
		d := diffChatter(got, want)
		d.report(t, "Chatter after reopen")
	}
	members, err := s2.RoomChatters(ctx, r.ID)
	if err != nil || len(members) != 2 {
		t.Fatalf("RoomChatters after reopen: got (%d, %v), want (2, nil)", len(members), err)
	}
	for i, want := range []chat.RoomChatter{rcA, rcB} {
		d := diffMember(members[i], want)
		d.report(t, "RoomChatters after reopen")
	}
	checkMessages(t, "messages after reopen", allMessages(t, s2, r.ID), msgs)
	first, err := s2.FirstMessageID(ctx, r.ID, a.ID)
	if err != nil || first != msgs[0].ID {
		t.Errorf("FirstMessageID after reopen: got (%d, %v), want (%d, nil)", first, err, msgs[0].ID)
	}
	// Ids keep growing after a restart.
	next, err := s2.AppendMessage(ctx, message(r, renamed, "after reopen"))
	if err != nil {
		t.Fatalf("AppendMessage after reopen: %v", err)
	}
	if next.ID <= msgs[len(msgs)-1].ID {
		t.Errorf("AppendMessage after reopen: got id %d, want more than %d", next.ID, msgs[len(msgs)-1].ID)
	}
}
