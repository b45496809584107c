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

// readCounter is a real store that counts the reads the service makes.
type readCounter struct {
	chat.Store
	mu    sync.Mutex
	reads map[string]int
}

func (r *readCounter) count(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads[what]++
}

func (r *readCounter) taken() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reads
	r.reads = map[string]int{}
	return out
}

func (r *readCounter) Room(ctx context.Context, id string) (chat.Room, error) {
	r.count("Room")
	return r.Store.Room(ctx, id)
}

func (r *readCounter) Chatter(ctx context.Context, id string) (chat.Chatter, error) {
	r.count("Chatter")
	return r.Store.Chatter(ctx, id)
}

func (r *readCounter) Chatters(ctx context.Context, ids []string) ([]chat.Chatter, error) {
	r.count("Chatters")
	return r.Store.Chatters(ctx, ids)
}

func (r *readCounter) FirstMessageID(ctx context.Context, roomID, chatterID string) (int64, error) {
	r.count("FirstMessageID")
	return r.Store.FirstMessageID(ctx, roomID, chatterID)
}

func (r *readCounter) RoomChatters(ctx context.Context, roomID string) ([]chat.RoomChatter, error) {
	r.count("RoomChatters")
	return r.Store.RoomChatters(ctx, roomID)
}

func TestSendsAndNewChattersJoinWithoutStoreReads(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	store := &readCounter{Store: st, reads: map[string]int{}}
	svc, err := chat.NewService(chat.Config{PasswordCost: bcrypt.MinCost, SweepEvery: time.Hour},
		store, memory.NewBroker(), memory.NewPresence(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	room, err := svc.CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "t", Capacity: 4})
	if err != nil {
		t.Fatal(err)
	}
	var chatters []chat.Chatter
	for i, conn := range []string{"c1", "c2", "c3"} {
		c, _, err := svc.Join(ctx, chat.JoinInput{Namespace: "/anonymous", RoomID: room.ID, ConnID: conn})
		if err != nil {
			t.Fatal(err)
		}
		if got := store.taken(); len(got) != 0 {
			t.Fatalf("join %d of a new chatter: got store reads %v, want none", i+1, got)
		}
		chatters = append(chatters, c)
	}
	for i := range 5 {
		m, err := svc.Send(ctx, chat.SendInput{Namespace: "/anonymous", RoomID: room.ID, ChatterID: chatters[i%3].ID, Content: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Chatter.Nickname != chatters[i%3].Nickname {
			t.Fatalf("got nickname %q embedded, want %q", m.Chatter.Nickname, chatters[i%3].Nickname)
		}
	}
	if _, err := svc.RequestOnline(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	if got := store.taken(); len(got) != 0 {
		t.Fatalf("sends and an online list: got store reads %v, want none", got)
	}
}

func TestRenameOnAnotherNodeReachesThisNodesMessages(t *testing.T) {
	ctx := context.Background()
	nodeA, nodeB, _ := twoNodes(t, time.Hour)
	room, err := nodeA.CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "t", Capacity: 4})
	if err != nil {
		t.Fatal(err)
	}
	c, token, err := nodeA.Join(ctx, chat.JoinInput{Namespace: "/anonymous", RoomID: room.ID, ConnID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(content string) chat.Message {
		t.Helper()
		m, err := nodeA.Send(ctx, chat.SendInput{Namespace: "/anonymous", RoomID: room.ID, ChatterID: c.ID, Content: content})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	send("before") // node A now knows the chatter
	if _, err := nodeB.Rename(ctx, c.ID, token, "renamed"); err != nil {
		t.Fatal(err)
	}
	if got := send("after").Chatter.Nickname; got != "renamed" {
		t.Fatalf("got nickname %q on node A after a rename on node B, want renamed", got)
	}
	online, err := nodeA.Online(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(online) != 1 || online[0].Nickname != "renamed" {
		t.Fatalf("got online %+v on node A, want the renamed chatter", online)
	}
}
