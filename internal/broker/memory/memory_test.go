package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"colachat/internal/chat"
)

var (
	_ chat.Broker   = (*Broker)(nil)
	_ chat.Presence = (*Presence)(nil)
)

func TestBrokerFansOutToEverySubscriberUntilUnsubscribed(t *testing.T) {
	ctx := context.Background()
	b := NewBroker()
	var mu sync.Mutex
	got := map[string][]string{}
	record := func(name string) func(chat.Event) {
		return func(ev chat.Event) {
			mu.Lock()
			defer mu.Unlock()
			got[name] = append(got[name], ev.RoomID)
		}
	}
	unsubA := b.Subscribe(record("a"))
	unsubB := b.Subscribe(record("b"))
	if err := b.Publish(ctx, chat.Event{Kind: chat.EventMessage, RoomID: "r1"}); err != nil {
		t.Fatal(err)
	}
	unsubA()
	unsubA() // twice is harmless
	if err := b.Publish(ctx, chat.Event{Kind: chat.EventMessage, RoomID: "r2"}); err != nil {
		t.Fatal(err)
	}
	unsubB()
	if err := b.Publish(ctx, chat.Event{Kind: chat.EventMessage, RoomID: "r3"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"r1"}; !slices.Equal(got["a"], want) {
		t.Errorf("subscriber a got %v, want %v", got["a"], want)
	}
	if want := []string{"r1", "r2"}; !slices.Equal(got["b"], want) {
		t.Errorf("subscriber b got %v, want %v", got["b"], want)
	}
}

func TestBrokerPublishRefusesCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := NewBroker()
	called := false
	b.Subscribe(func(chat.Event) { called = true })
	if err := b.Publish(ctx, chat.Event{}); err == nil || called {
		t.Fatalf("got err %v, called %v; want an error and no delivery", err, called)
	}
}

func TestBrokerConcurrentSubscribeAndPublish(t *testing.T) {
	ctx := context.Background()
	b := NewBroker()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			unsub := b.Subscribe(func(chat.Event) {})
			for range 100 {
				_ = b.Publish(ctx, chat.Event{RoomID: fmt.Sprint(i)})
			}
			unsub()
		})
	}
	wg.Wait()
	if n := len(*b.subs.Load()); n != 0 {
		t.Fatalf("got %d subscribers left, want 0", n)
	}
}

func TestPresence(t *testing.T) {
	ctx := context.Background()
	type step struct {
		op            string // add, remove
		chatter, conn string
		capacity      int
		want          bool
		wantOnline    []string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"capacity counts chatters, not sockets", []step{
			{op: "add", chatter: "a", conn: "1", capacity: 2, want: true, wantOnline: []string{"a"}},
			{op: "add", chatter: "a", conn: "2", capacity: 2, want: true, wantOnline: []string{"a"}},
			{op: "add", chatter: "b", conn: "3", capacity: 2, want: true, wantOnline: []string{"a", "b"}},
			{op: "add", chatter: "c", conn: "4", capacity: 2, want: false, wantOnline: []string{"a", "b"}},
			{op: "add", chatter: "b", conn: "5", capacity: 2, want: true, wantOnline: []string{"a", "b"}},
		}},
		{"remove reports the chatter still online while a socket remains", []step{
			{op: "add", chatter: "a", conn: "1", capacity: 2, want: true, wantOnline: []string{"a"}},
			{op: "add", chatter: "a", conn: "2", capacity: 2, want: true, wantOnline: []string{"a"}},
			{op: "remove", chatter: "a", conn: "1", want: true, wantOnline: []string{"a"}},
			{op: "remove", chatter: "a", conn: "2", want: false, wantOnline: []string{}},
			{op: "remove", chatter: "a", conn: "2", want: false, wantOnline: []string{}},
		}},
		{"a freed seat can be taken; order is arrival", []step{
			{op: "add", chatter: "a", conn: "1", capacity: 2, want: true, wantOnline: []string{"a"}},
			{op: "add", chatter: "b", conn: "2", capacity: 2, want: true, wantOnline: []string{"a", "b"}},
			{op: "remove", chatter: "a", conn: "1", want: false, wantOnline: []string{"b"}},
			{op: "add", chatter: "c", conn: "3", capacity: 2, want: true, wantOnline: []string{"b", "c"}},
		}},
		{"no capacity means no limit", []step{
			{op: "add", chatter: "a", conn: "1", capacity: 0, want: true, wantOnline: []string{"a"}},
			{op: "add", chatter: "b", conn: "2", capacity: 0, want: true, wantOnline: []string{"a", "b"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPresence()
			for i, s := range tt.steps {
				var got bool
				var err error
				if s.op == "add" {
					got, err = p.TryAdd(ctx, "room", s.chatter, s.conn, s.capacity)
				} else {
					got, err = p.Remove(ctx, "room", s.chatter, s.conn)
				}
				if err != nil {
					t.Fatal(err)
				}
				if got != s.want {
					t.Fatalf("step %d %s %s/%s: got %v, want %v", i, s.op, s.chatter, s.conn, got, s.want)
				}
				online, _ := p.Online(ctx, "room")
				if !slices.Equal(online, s.wantOnline) {
					t.Fatalf("step %d: online got %v, want %v", i, online, s.wantOnline)
				}
				for _, id := range s.wantOnline {
					if ok, _ := p.IsOnline(ctx, "room", id); !ok {
						t.Fatalf("step %d: IsOnline(%s) got false, want true", i, id)
					}
				}
			}
			if len(tt.steps) > 0 && len(tt.steps[len(tt.steps)-1].wantOnline) == 0 && len(p.rooms) != 0 {
				t.Fatalf("got %d rooms kept, want 0 once empty", len(p.rooms))
			}
		})
	}
}

func TestPresenceTryAddIsAtomic(t *testing.T) {
	ctx := context.Background()
	p := NewPresence()
	const capacity = 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for i := range 50 {
		wg.Go(func() {
			ok, err := p.TryAdd(ctx, "room", fmt.Sprint("c", i), fmt.Sprint("conn", i), capacity)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	online, _ := p.Online(ctx, "room")
	if admitted != capacity || len(online) != capacity {
		t.Fatalf("got %d admitted, %d online; want %d each", admitted, len(online), capacity)
	}
}

func TestBrokerDeliversEveryRoomWithoutHosting(t *testing.T) {
	ctx := context.Background()
	b := NewBroker()
	var got []string
	b.Subscribe(func(ev chat.Event) { got = append(got, ev.RoomID) })
	if err := b.Host(ctx, "hosted"); err != nil {
		t.Fatal(err)
	}
	for _, room := range []string{"hosted", "never-hosted"} {
		if err := b.Publish(ctx, chat.Event{Kind: chat.EventMessage, RoomID: room}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Unhost(ctx, "hosted"); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, chat.Event{Kind: chat.EventMessage, RoomID: "hosted"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"hosted", "never-hosted", "hosted"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v: one node delivers every room's events", got, want)
	}
}
