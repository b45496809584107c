package redis

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestCapacityRaceAcrossNodes(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		nodes := []*Cluster{openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b"), openNode(t, url, prefix, "c")}
		for round := range 5 {
			room := fmt.Sprint("room-", round)
			const capacity = 4
			var admitted atomic.Int32
			var wg sync.WaitGroup
			for i := range 30 {
				wg.Go(func() {
					ok, err := nodes[i%3].Presence().TryAdd(context.Background(), room, fmt.Sprint("chatter-", i), fmt.Sprint("conn-", i), capacity)
					if err != nil {
						t.Error(err)
					}
					if ok {
						admitted.Add(1)
					}
				})
			}
			wg.Wait()
			if got := admitted.Load(); got != capacity {
				t.Fatalf("round %d: admitted %d chatters, want %d", round, got, capacity)
			}
			for _, n := range nodes {
				online, err := n.Presence().Online(context.Background(), room)
				if err != nil || len(online) != capacity {
					t.Fatalf("round %d: online: got %v (err %v), want %d chatters", round, online, err, capacity)
				}
			}
		}
	})
}

func TestReturningChatterNotCountedTwice(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
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
		if on, _ := a.Presence().IsOnline(ctx, "r", "x"); !on {
			t.Fatal("IsOnline: got false while a socket remains")
		}
		still, _ = b.Presence().Remove(ctx, "r", "x", "c2")
		if still {
			t.Fatal("chatter still online after its last socket left")
		}
	})
}

// Online lists chatters by arrival, across nodes; one socket in several rooms is in each.
func TestOnlineInArrivalOrder(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
		ctx := context.Background()
		for i, add := range []struct {
			node          *Cluster
			room, chatter string
		}{{b, "r", "first"}, {a, "r", "second"}, {b, "r", "third"}, {a, "r2", "second"}} {
			if ok, err := add.node.Presence().TryAdd(ctx, add.room, add.chatter, "conn-"+add.chatter, 0); !ok || err != nil {
				t.Fatalf("add %d: %v %v", i, ok, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		for _, n := range []*Cluster{a, b} {
			if got, _ := n.Presence().Online(ctx, "r"); !slices.Equal(got, []string{"first", "second", "third"}) {
				t.Fatalf("online: got %v, want [first second third]", got)
			}
		}
		if got, _ := b.Presence().Online(ctx, "r2"); !slices.Equal(got, []string{"second"}) {
			t.Fatalf("online in r2: got %v, want [second]", got)
		}
		// The same socket in two rooms: two entries, both kept locally for a restore.
		if n := len(a.presence.local); n != 2 {
			t.Fatalf("a keeps %d local entries, want 2", n)
		}
	})
}

// A node that has just started, and that another node has not seen in the registry yet,
// is alive: its chatters count.
func TestANewNodeCountsBeforeOthersSeeIt(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a := openNode(t, url, prefix, "a")
		a.stop() // a's view of the registry is frozen from now on
		a.wg.Wait()
		b := openNode(t, url, prefix, "b")
		ctx := context.Background()
		if ok, _ := b.Presence().TryAdd(ctx, "r", "on-b", "b1", 1); !ok {
			t.Fatal("add refused")
		}
		if online, _ := a.Presence().Online(ctx, "r"); !slices.Equal(online, []string{"on-b"}) {
			t.Fatalf("a's online list: got %v, want [on-b]", online)
		}
		if ok, _ := a.Presence().TryAdd(ctx, "r", "on-a", "a1", 1); ok {
			t.Fatal("a admitted a second chatter to a room of 1: it did not count b's")
		}
	})
}

func TestLeaveMarks(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
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
		a.Presence().MarkLeft(ctx, "r", "y", 200*time.Millisecond)
		time.Sleep(400 * time.Millisecond)
		if has, _ := b.Presence().HasLeft(ctx, "r", "y"); has {
			t.Fatal("a leave mark outlived its grace")
		}
	})
}

func TestDeadNodeEntriesStopCounting(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, doomed := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "doomed")
		ctx := context.Background()
		doomed.Presence().TryAdd(ctx, "r", "ghost", "g1", 0)
		if ok, _ := a.Presence().TryAdd(ctx, "r", "alive", "c1", 0); !ok {
			t.Fatal("add refused")
		}
		if online, _ := a.Presence().Online(ctx, "r"); len(online) != 2 {
			t.Fatalf("before the crash: got %v, want ghost and alive", online)
		}
		crash(doomed)
		eventually(t, 5*time.Second, func() bool {
			online, err := a.Presence().Online(ctx, "r")
			return err == nil && slices.Equal(online, []string{"alive"})
		}, "after the crash: online %s, want [alive]", mustOnline(a, "r"))
		if ok, _ := a.Presence().TryAdd(ctx, "r", "next", "c2", 2); !ok {
			t.Fatal("a ghost still counted against capacity")
		}
	})
}

func TestRestartedNodeDoesNotReviveItsGhosts(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		ctx := context.Background()
		observer := openNode(t, url, prefix, "observer")
		first := openNode(t, url, prefix, "same")
		first.Presence().TryAdd(ctx, "r", "ghost", "c1", 0)
		crash(first)
		openNode(t, url, prefix, "same") // at once, under the same id
		eventually(t, 5*time.Second, func() bool {
			online, err := observer.Presence().Online(ctx, "r")
			return err == nil && len(online) == 0
		}, "online after a restart under the same node id: %s, want none", mustOnline(observer, "r"))
	})
}

func TestChattersOfADeadNodeAreReportedGoneOnce(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, c := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "c")
		type departure struct{ room, chatter string }
		gone := make(chan departure, 16)
		for _, n := range []*Cluster{a, c} {
			n.OnGone(func(roomID, chatterID string) { gone <- departure{roomID, chatterID} })
		}
		ctx := context.Background()
		b := openNode(t, url, prefix, "b")
		// Rooms on several slots: each is reaped by the script of its own slot.
		for _, room := range []string{"r1", "r2", "r3"} {
			b.Presence().TryAdd(ctx, room, "only-on-b", "b1", 0)
			b.Presence().TryAdd(ctx, room, "also-on-a", "b2", 0)
			a.Presence().TryAdd(ctx, room, "also-on-a", "a1", 0)
		}
		crash(b)

		got := map[departure]int{}
		timeout := time.After(6 * time.Second)
		for len(got) < 3 {
			select {
			case d := <-gone:
				got[d]++
			case <-timeout:
				t.Fatalf("departures: got %v, want only-on-b from r1, r2, r3", got)
			}
		}
		select {
		case d := <-gone:
			got[d]++
		case <-time.After(1500 * time.Millisecond):
		}
		want := map[departure]int{{"r1", "only-on-b"}: 1, {"r2", "only-on-b"}: 1, {"r3", "only-on-b"}: 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("departures: got %v, want each once: %v", got, want)
		}
		for _, room := range []string{"r1", "r2", "r3"} {
			if online, _ := a.Presence().Online(ctx, room); !slices.Equal(online, []string{"also-on-a"}) {
				t.Fatalf("online in %s after the reap: got %v, want [also-on-a]", room, online)
			}
		}
		raw := rawClient(t, url)
		defer raw.Close()
		if n, _ := raw.Exists(ctx, b.presence.roomsKey(b.presence.run)).Result(); n != 0 {
			t.Fatal("the dead node's room set outlived its reaping")
		}
	})
}

// A node stopped gracefully is reaped at once: its leftovers do not wait for its heartbeat
// to age.
func TestClosedNodeIsReapedAtOnce(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a := openNode(t, url, prefix, "a")
		gone := make(chan string, 1)
		a.OnGone(func(_, chatterID string) { gone <- chatterID })
		ctx := context.Background()
		ctxOpen, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		b, err := Open(ctxOpen, Options{URL: url, NodeID: "b", Prefix: prefix, NodeTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		b.Presence().TryAdd(ctx, "r", "left-behind", "b1", 0)
		b.Close()
		select {
		case c := <-gone:
			if c != "left-behind" {
				t.Fatalf("got %q gone, want left-behind", c)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("a closed node's entry was not reaped within a few heartbeats of the survivor")
		}
	})
}

// Redis lost this node's data (simulated by deleting its keys): the entries come back.
func TestPresenceComesBackAfterRedisLosesIt(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a := openNode(t, url, prefix, "a")
		ctx := context.Background()
		for _, room := range []string{"r1", "r2"} {
			if ok, _ := a.Presence().TryAdd(ctx, room, "x", "c1", 0); !ok {
				t.Fatal("add refused")
			}
		}
		raw := rawClient(t, url)
		defer raw.Close()
		for _, key := range []string{a.presence.roomKey("r1"), a.presence.roomKey("r2"), a.presence.nodesKey()} {
			raw.Del(ctx, key)
		}
		for _, room := range []string{"r1", "r2"} {
			eventually(t, 3*time.Second, func() bool {
				online, err := a.Presence().Online(ctx, room)
				return err == nil && slices.Equal(online, []string{"x"})
			}, "online in %s after Redis lost its data: %s, want [x] again", room, mustOnline(a, room))
		}
	})
}

// A node that was declared dead while it still lived (cut off from Redis for longer than
// the TTL, and reaped) writes its entries again under a new run name.
func TestNodeDeclaredDeadWhileAliveComesBack(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
		ctx := context.Background()
		b.Presence().TryAdd(ctx, "r", "on-b", "b1", 0)
		oldRun := b.presence.run
		// What a reaper does to b's run after its heartbeat aged: marked reaped, entries gone.
		raw := rawClient(t, url)
		defer raw.Close()
		raw.ZAdd(ctx, b.presence.nodesKey(), goredis.Z{Score: -float64(time.Now().UnixMilli()), Member: oldRun})
		raw.Del(ctx, b.presence.roomKey("r"))
		eventually(t, 3*time.Second, func() bool {
			online, err := a.Presence().Online(ctx, "r")
			return err == nil && slices.Equal(online, []string{"on-b"})
		}, "online after b came back: %s, want [on-b]", mustOnline(a, "r"))
		b.presence.mu.Lock()
		newRun := b.presence.run
		b.presence.mu.Unlock()
		if newRun == oldRun {
			t.Fatal("b kept the run name it was declared dead under")
		}
	})
}
