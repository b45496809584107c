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

// claimingStore adds chat.ExpiryClaimer to the SQLite store: one claim per room wins.
type claimingStore struct {
	*sqlite.Store
	mu      sync.Mutex
	claimed map[string]bool
}

func (s *claimingStore) ClaimRoomExpiry(ctx context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claimed[id] {
		return false, nil
	}
	s.claimed[id] = true
	return true, s.MarkRoomExpired(ctx, id)
}

// Two nodes sharing one store and one broker notice the same expiry: with a claiming store
// exactly one announces it.
func TestExpiryIsAnnouncedOnceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	store := &claimingStore{Store: st, claimed: map[string]bool{}}
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

	// A node that loses the claim announces nothing, even though the row looked unmarked.
	other, err := nodes[0].CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "t", Capacity: 2})
	if err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.claimed[other.ID] = true // claimed elsewhere, not yet marked
	store.mu.Unlock()
	c.Advance(time.Hour)
	if _, _, err := nodes[1].AccessCheck(ctx, other.ID, ""); chat.CodeOf(err) != chat.CodeRoomExpired {
		t.Fatalf("got %v, want ROOM_EXPIRED", err)
	}
	if got := events.alerts(other.ID); len(got) != 0 {
		t.Fatalf("got alerts %v from the node that lost the claim, want none", got)
	}
}
