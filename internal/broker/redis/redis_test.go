package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"colachat/internal/chat"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testURL() string {
	if u := os.Getenv("COLACHAT_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// newPrefix isolates a test's keys and channel from every other test's.
func newPrefix(t *testing.T) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "colachat-test-" + hex.EncodeToString(b) + ":"
}

func openNode(t *testing.T, prefix, node string) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Open(ctx, Options{URL: testURL(), NodeID: node, Prefix: prefix, NodeTTL: time.Second})
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("Redis not reachable at %s (run scripts/services.sh): %v", testURL(), err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEventsReachEveryNodeInOrder(t *testing.T) {
	prefix := newPrefix(t)
	a, b := openNode(t, prefix, "a"), openNode(t, prefix, "b")
	const n = 200
	got := make(chan int64, 2*n)
	for _, node := range []*Cluster{a, b} {
		node.Broker().Subscribe(func(ev chat.Event) { got <- ev.Message.ID })
	}
	ctx := context.Background()
	for i := int64(1); i <= n; i++ {
		ev := chat.Event{Kind: chat.EventMessage, RoomID: "r1", Message: &chat.Message{ID: i, Content: "hi", SentAt: time.Now().UTC()}}
		if err := a.Broker().Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int64]int{}
	timeout := time.After(5 * time.Second)
	for i := 0; i < 2*n; i++ {
		select {
		case id := <-got:
			seen[id]++
		case <-timeout:
			t.Fatalf("got %d deliveries, want %d", i, 2*n)
		}
	}
	for id := int64(1); id <= n; id++ {
		if seen[id] != 2 {
			t.Fatalf("message %d delivered %d times, want 2 (once per node)", id, seen[id])
		}
	}
}

func TestEventOrderPerSubscriber(t *testing.T) {
	prefix := newPrefix(t)
	a, b := openNode(t, prefix, "a"), openNode(t, prefix, "b")
	var mu sync.Mutex
	var order []int64
	done := make(chan struct{})
	b.Broker().Subscribe(func(ev chat.Event) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, ev.Message.ID)
		if len(order) == 100 {
			close(done)
		}
	})
	for i := int64(1); i <= 100; i++ {
		a.Broker().Publish(context.Background(), chat.Event{Kind: chat.EventMessage, Message: &chat.Message{ID: i}})
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
	}
	for i, id := range order {
		if id != int64(i+1) {
			t.Fatalf("delivery %d: got message %d, want %d", i, id, i+1)
		}
	}
}

func TestCapacityRaceAcrossNodes(t *testing.T) {
	prefix := newPrefix(t)
	nodes := []*Cluster{openNode(t, prefix, "a"), openNode(t, prefix, "b"), openNode(t, prefix, "c")}
	const capacity = 4
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := nodes[i%3].Presence()
			ok, err := p.TryAdd(context.Background(), "room", "chatter-"+string(rune('A'+i)), "conn-"+string(rune('A'+i)), capacity)
			if err != nil {
				t.Error(err)
			}
			if ok {
				admitted.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if got := admitted.Load(); got != capacity {
		t.Fatalf("admitted %d chatters, want %d", got, capacity)
	}
	online, err := nodes[0].Presence().Online(context.Background(), "room")
	if err != nil || len(online) != capacity {
		t.Fatalf("online: got %v (err %v), want %d chatters", online, err, capacity)
	}
}

func TestReturningChatterNotCountedTwice(t *testing.T) {
	prefix := newPrefix(t)
	a, b := openNode(t, prefix, "a"), openNode(t, prefix, "b")
	ctx := context.Background()
	if ok, _ := a.Presence().TryAdd(ctx, "r", "x", "c1", 1); !ok {
		t.Fatal("first add refused")
	}
	if ok, _ := b.Presence().TryAdd(ctx, "r", "x", "c2", 1); !ok {
		t.Fatal("second socket of the same chatter refused in a room of 1")
	}
	if ok, _ := b.Presence().TryAdd(ctx, "r", "y", "c3", 1); ok {
		t.Fatal("another chatter admitted to a full room")
	}
	still, err := a.Presence().Remove(ctx, "r", "x", "c1")
	if err != nil || !still {
		t.Fatalf("remove one of two sockets: still online %v (err %v), want true", still, err)
	}
	still, _ = b.Presence().Remove(ctx, "r", "x", "c2")
	if still {
		t.Fatal("chatter still online after its last socket left")
	}
}

func TestDeadNodeEntriesDisappear(t *testing.T) {
	prefix := newPrefix(t)
	a := openNode(t, prefix, "a")
	ctx := context.Background()
	// A node that died without cleaning up: its entry stays, its heartbeat key expires.
	raw := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer raw.Close()
	raw.Set(ctx, prefix+"node:dead", 1, 300*time.Millisecond)
	raw.HSet(ctx, prefix+"presence:r", "ghost-conn", "dead|ghost|1")
	if ok, _ := a.Presence().TryAdd(ctx, "r", "alive", "c1", 0); !ok {
		t.Fatal("add refused")
	}
	if online, _ := a.Presence().Online(ctx, "r"); len(online) != 2 {
		t.Fatalf("before expiry: got %v, want ghost and alive", online)
	}
	time.Sleep(400 * time.Millisecond)
	online, err := a.Presence().Online(ctx, "r")
	if err != nil || len(online) != 1 || online[0] != "alive" {
		t.Fatalf("after the dead node's key expired: got %v (err %v), want [alive]", online, err)
	}
	if ok, _ := a.Presence().TryAdd(ctx, "r", "next", "c2", 2); !ok {
		t.Fatal("a ghost still counted against capacity")
	}
}

func TestLeaveMarks(t *testing.T) {
	prefix := newPrefix(t)
	a, b := openNode(t, prefix, "a"), openNode(t, prefix, "b")
	ctx := context.Background()
	if err := a.Presence().MarkLeft(ctx, "r", "x", time.Second); err != nil {
		t.Fatal(err)
	}
	if has, _ := b.Presence().HasLeft(ctx, "r", "x"); !has {
		t.Fatal("other node does not see the leave mark")
	}
	if took, _ := b.Presence().TakeLeft(ctx, "r", "x"); !took {
		t.Fatal("TakeLeft: got false, want true")
	}
	if took, _ := a.Presence().TakeLeft(ctx, "r", "x"); took {
		t.Fatal("a mark was taken twice")
	}
}

func TestPublishWithoutRedisDeliversLocally(t *testing.T) {
	prefix := newPrefix(t)
	a := openNode(t, prefix, "a")
	got := make(chan chat.Event, 1)
	a.Broker().Subscribe(func(ev chat.Event) { got <- ev })
	a.rdb.Close() // Redis gone, as far as this node can tell
	if err := a.Broker().Publish(context.Background(), chat.Event{Kind: chat.EventMessage, Message: &chat.Message{ID: 7}}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev.Message.ID != 7 {
			t.Fatalf("got message %d, want 7", ev.Message.ID)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("event not delivered locally while Redis was unreachable")
	}
}

func TestPresenceComesBackAfterRedisLosesIt(t *testing.T) {
	prefix := newPrefix(t)
	a := openNode(t, prefix, "a")
	ctx := context.Background()
	if ok, _ := a.Presence().TryAdd(ctx, "r", "x", "c1", 0); !ok {
		t.Fatal("add refused")
	}
	// What a Redis restart without persistence does to this node's keys.
	a.rdb.Del(ctx, prefix+"presence:r", a.nodeKey())
	deadline := time.Now().Add(3 * time.Second)
	for {
		online, err := a.Presence().Online(ctx, "r")
		if err == nil && len(online) == 1 && online[0] == "x" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("online after Redis lost its data: got %v (err %v), want [x] again", online, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRestartedNodeDoesNotReviveItsGhosts(t *testing.T) {
	prefix := newPrefix(t)
	ctx := context.Background()
	first := openNode(t, prefix, "same")
	first.Presence().TryAdd(ctx, "r", "ghost", "c1", 0)
	first.stop() // dies without cleaning up: its entry stays, its key lives on until it expires
	first.broker.ps.Close()
	first.wg.Wait()
	second := openNode(t, prefix, "same")
	time.Sleep(1500 * time.Millisecond) // past NodeTTL: the dead run's heartbeat has expired
	online, err := second.Presence().Online(ctx, "r")
	if err != nil || len(online) != 0 {
		t.Fatalf("online after a restart under the same node id: got %v (err %v), want none", online, err)
	}
}

func TestChattersOfADeadNodeAreReportedGoneOnce(t *testing.T) {
	prefix := newPrefix(t)
	a, c := openNode(t, prefix, "a"), openNode(t, prefix, "c")
	type departure struct{ room, chatter string }
	gone := make(chan departure, 8)
	for _, n := range []*Cluster{a, c} {
		n.OnGone(func(roomID, chatterID string) { gone <- departure{roomID, chatterID} })
	}
	ctx := context.Background()
	b := openNode(t, prefix, "b")
	b.Presence().TryAdd(ctx, "r", "only-on-b", "b1", 0)
	b.Presence().TryAdd(ctx, "r", "also-on-a", "b2", 0)
	a.Presence().TryAdd(ctx, "r", "also-on-a", "a1", 0)
	// b dies: no more heartbeats, no clean-up.
	b.stop()
	b.broker.ps.Close()
	b.wg.Wait()

	select {
	case d := <-gone:
		if d != (departure{"r", "only-on-b"}) {
			t.Fatalf("got departure %+v, want only-on-b from room r", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no departure reported for the dead node's chatter")
	}
	select {
	case d := <-gone:
		t.Fatalf("got a second departure %+v; want only-on-b once (also-on-a is still on node a)", d)
	case <-time.After(1500 * time.Millisecond):
	}
	if online, _ := a.Presence().Online(ctx, "r"); len(online) != 1 || online[0] != "also-on-a" {
		t.Fatalf("online after the reap: got %v, want [also-on-a]", online)
	}
}
