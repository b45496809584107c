package chat_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"colachat/internal/broker/memory"
	"colachat/internal/chat"
	"colachat/internal/store/sqlite"
)

// Two nodes sharing one store and one broker notice the same expiry: the store's claim lets
// exactly one announce it.
func TestExpiryIsAnnouncedOnceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	store := st
	broker := memory.NewBroker()
	events := &recorder{notify: make(chan struct{}, 1)}
	defer broker.Subscribe(events.add)()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var nodes []*chat.Service
	for range 2 {
		svc, err := chat.NewService(chat.Config{RoomTTL: time.Hour, Now: c.Now, PasswordCost: 4}, store, broker, memory.NewPresence(), nil)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, svc)
	}
	r, err := nodes[0].CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "t", Capacity: 2})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	var wg sync.WaitGroup
	for _, svc := range nodes {
		wg.Go(func() {
			_, _, err := svc.AccessCheck(ctx, r.ID, "")
			if chat.CodeOf(err) != chat.CodeRoomExpired {
				t.Errorf("got %v, want ROOM_EXPIRED", err)
			}
		})
	}
	wg.Wait()
	expired := 0
	for _, ev := range events.all() {
		if ev.Kind == chat.EventExpired {
			expired++
		}
	}
	if got := events.alerts(r.ID); len(got) != 1 || expired != 1 {
		t.Fatalf("got alerts %v and %d roomExpired events, want exactly one of each", got, expired)
	}

}
