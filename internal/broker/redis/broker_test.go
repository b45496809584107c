package redis

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"colachat/internal/chat"
)

// recorder collects the events a node's subscribers get, per room.
type recorder struct {
	mu    sync.Mutex
	rooms map[string][]int64
}

func record(c *Cluster) *recorder {
	r := &recorder{rooms: map[string][]int64{}}
	c.Broker().Subscribe(func(ev chat.Event) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.rooms[ev.RoomID] = append(r.rooms[ev.RoomID], ev.Message.ID)
	})
	return r
}

func (r *recorder) ids(room string) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rooms[room])
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ids := range r.rooms {
		n += len(ids)
	}
	return n
}

func message(room string, id int64) chat.Event {
	return chat.Event{Kind: chat.EventMessage, RoomID: room, Message: &chat.Message{ID: id, Content: "hi", SentAt: time.Now().UTC()}}
}

func host(t *testing.T, c *Cluster, rooms ...string) {
	t.Helper()
	for _, room := range rooms {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Broker().Host(ctx, room)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func publish(t *testing.T, c *Cluster, ev chat.Event) {
	t.Helper()
	if err := c.Broker().Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// A node receives the events of the rooms it hosts, and nothing of the others. Twenty
// rooms spread over every master of a Redis Cluster.
func TestEventsReachOnlyTheNodesHostingTheRoom(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b, c := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b"), openNode(t, url, prefix, "c")
		ra, rb, rc := record(a), record(b), record(c)
		var rooms, even []string
		for i := range 20 {
			rooms = append(rooms, "room-"+strconv.Itoa(i))
			if i%2 == 0 {
				even = append(even, rooms[i])
			}
		}
		host(t, a, rooms...)
		host(t, b, even...)
		const perRoom = 10
		for i := int64(1); i <= perRoom; i++ {
			for _, room := range rooms {
				publish(t, c, message(room, i)) // c hosts nothing but may publish
			}
		}
		want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
		eventually(t, 5*time.Second, func() bool { return ra.total() == 20*perRoom && rb.total() == 10*perRoom },
			"deliveries: a got %d, want %d; b got %d, want %d", ra.total(), 20*perRoom, rb.total(), 10*perRoom)
		time.Sleep(200 * time.Millisecond) // room for a stray event to show up
		for i, room := range rooms {
			if got := ra.ids(room); !slices.Equal(got, want) {
				t.Errorf("a, %s: got %v, want %v", room, got, want)
			}
			wantB := want
			if i%2 == 1 {
				wantB = nil
			}
			if got := rb.ids(room); !slices.Equal(got, wantB) {
				t.Errorf("b, %s: got %v, want %v", room, got, wantB)
			}
		}
		if n := rc.total(); n != 0 {
			t.Errorf("c hosts no room and got %d events", n)
		}
		for name, n := range map[string]*Cluster{"a": a, "b": b, "c": c} {
			st := n.Broker().Stats()
			if st.NotHosted != 0 {
				t.Errorf("%s received %d events of rooms it does not host, want 0", name, st.NotHosted)
			}
			t.Logf("%s: %+v", name, st)
		}
		if st := b.Broker().Stats(); st.Received != 10*perRoom || st.Hosted != 10 {
			t.Errorf("b: got %+v, want 100 received for its 10 hosted rooms", st)
		}
		if st := c.Broker().Stats(); st.Received != 0 || st.Hosted != 0 {
			t.Errorf("c: got %+v, want nothing received and nothing hosted", st)
		}
	})
}

// Host returns once Redis has the subscription: an event published right after it
// returns is delivered, every time.
func TestHostIsConfirmedBeforeItReturns(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
		ra := record(a)
		const rooms = 60
		for i := range rooms {
			room := "fresh-" + strconv.Itoa(i)
			host(t, a, room)
			publish(t, b, message(room, int64(i)))
		}
		eventually(t, 5*time.Second, func() bool { return ra.total() == rooms },
			"got %d of %d events published right after Host returned", ra.total(), rooms)
	})
}

func TestEventsOfARoomKeepTheirOrder(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
		rb := record(b)
		host(t, b, "r")
		const n = 300
		for i := int64(1); i <= n; i++ {
			publish(t, a, message("r", i))
		}
		eventually(t, 5*time.Second, func() bool { return len(rb.ids("r")) == n }, "got %d of %d", len(rb.ids("r")), n)
		for i, id := range rb.ids("r") {
			if id != int64(i+1) {
				t.Fatalf("delivery %d: got message %d, want %d", i, id, i+1)
			}
		}
	})
}

// After Unhost a room's events stop at once; hosting it again brings them back.
func TestUnhostStopsTheRoomsEvents(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
		rb := record(b)
		ctx := context.Background()
		host(t, b, "r", "other")
		if err := b.Broker().Unhost(ctx, "r"); err != nil {
			t.Fatal(err)
		}
		b.Broker().Unhost(ctx, "r") // idempotent
		for i := int64(1); i <= 20; i++ {
			publish(t, a, message("r", i))
		}
		publish(t, a, message("other", 1))
		eventually(t, 5*time.Second, func() bool { return len(rb.ids("other")) == 1 }, "the hosted room's event did not arrive")
		time.Sleep(100 * time.Millisecond)
		if got := rb.ids("r"); len(got) != 0 {
			t.Fatalf("got %v after Unhost, want nothing", got)
		}
		host(t, b, "r")
		publish(t, a, message("r", 21))
		eventually(t, 5*time.Second, func() bool { return slices.Equal(rb.ids("r"), []int64{21}) },
			"hosted again: got %v, want [21]", rb.ids("r"))
		if st := b.Broker().Stats(); st.NotHosted != 0 || st.Hosted != 2 {
			t.Fatalf("got %+v, want 0 not hosted and 2 hosted", st)
		}
	})
}

// Host and Unhost racing on the same rooms end in the state of the last call.
func TestHostAndUnhostRacing(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
		rb := record(b)
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 10 {
			room := "race-" + strconv.Itoa(i)
			wg.Go(func() {
				for range 20 {
					hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					b.Broker().Host(hctx, room)
					cancel()
					b.Broker().Unhost(ctx, room)
				}
				host(t, b, room) // ends hosted
			})
		}
		wg.Wait()
		for i := range 10 {
			publish(t, a, message("race-"+strconv.Itoa(i), 1))
		}
		eventually(t, 5*time.Second, func() bool { return rb.total() == 10 }, "got %d of 10 events after the race", rb.total())
	})
}

// With Redis gone, a node still delivers its own events of the rooms it hosts.
func TestPublishWithoutRedisDeliversLocally(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		a := openNode(t, url, newPrefix(), "a")
		ra := record(a)
		host(t, a, "r")
		a.rdb.Close() // Redis gone, as far as this node can tell
		publish(t, a, message("r", 7))
		publish(t, a, message("not-hosted", 8))
		if got := ra.ids("r"); !slices.Equal(got, []int64{7}) {
			t.Fatalf("got %v, want [7] delivered locally while Redis was unreachable", got)
		}
		if got := ra.ids("not-hosted"); len(got) != 0 {
			t.Fatalf("got %v for a room this node does not host", got)
		}
	})
}

// killSubscriberConnections cuts every pub/sub connection Redis has, on every master.
func killSubscriberConnections(t *testing.T, url string) {
	t.Helper()
	rdb := rawClient(t, url)
	defer rdb.Close()
	ctx := context.Background()
	kill := func(ctx context.Context, c *goredis.Client) error {
		return c.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err()
	}
	var err error
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, kill)
	} else {
		err = kill(ctx, rdb.(*goredis.Client))
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestSubscriptionsComeBackAfterTheConnectionIsLost(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
		rb := record(b)
		var rooms []string
		for i := range 12 {
			rooms = append(rooms, "r"+strconv.Itoa(i))
		}
		host(t, b, rooms...)
		killSubscriberConnections(t, url)
		// Every room's subscription is made again (one SSUBSCRIBE each: on a Redis Cluster
		// a single one naming channels of several slots is refused).
		id := int64(0)
		eventually(t, 10*time.Second, func() bool {
			id++
			for _, room := range rooms {
				publish(t, a, message(room, id))
			}
			time.Sleep(50 * time.Millisecond)
			for _, room := range rooms {
				if !slices.Contains(rb.ids(room), id) {
					return false
				}
			}
			return true
		}, "rooms not subscribed again after the connections were cut: %v", rb.rooms)
	})
}

// Redis restarted empty: a node subscribes its rooms again, and writes its presence again.
func TestRedisRestartedEmpty(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		r := startOwnRedis(t)
		checkRestart(t, r.url(), func(string) { r.kill(); r.start() })
	})
	t.Run("cluster", func(t *testing.T) {
		c := startOwnCluster(t)
		// Only the master that owns the room's slot restarts; the others keep their data,
		// the node registry included, so only the server's new run_id tells.
		checkRestart(t, c.url(), func(owner string) {
			_, port, _ := strings.Cut(owner, ":")
			c.script("kill", port)
			c.script("start")
		})
	})
}

func checkRestart(t *testing.T, url string, restart func(ownerAddr string)) {
	prefix := newPrefix()
	a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
	rb := record(b)
	ctx := context.Background()
	host(t, b, "r")
	for _, add := range []struct {
		node          *Cluster
		chatter, conn string
	}{{a, "x", "a1"}, {b, "y", "b1"}} {
		if ok, err := add.node.Presence().TryAdd(ctx, "r", add.chatter, add.conn, 0); !ok || err != nil {
			t.Fatalf("add %s: %v %v", add.chatter, ok, err)
		}
	}
	owner := "127.0.0.1"
	if a.cluster != nil {
		m, err := a.cluster.MasterForKey(ctx, a.presence.roomKey("r"))
		if err != nil {
			t.Fatal(err)
		}
		owner = m.Options().Addr
	}
	began := time.Now()
	restart(owner)
	t.Logf("restarted in %v", time.Since(began))

	raw := rawClient(t, url)
	defer raw.Close()
	eventually(t, 15*time.Second, func() bool {
		online, err := a.Presence().Online(ctx, "r")
		return err == nil && slices.Equal(online, []string{"x", "y"})
	}, "presence not written again after the restart: %v", mustOnline(a, "r"))
	t.Logf("presence back %v after the restart began", time.Since(began))
	id := int64(0)
	eventually(t, 15*time.Second, func() bool {
		id++
		a.Broker().Publish(ctx, message("r", id))
		time.Sleep(50 * time.Millisecond)
		return slices.Contains(rb.ids("r"), id)
	}, "room not subscribed again after the restart")
	t.Logf("events back %v after the restart began", time.Since(began))
	if n, err := raw.Exists(ctx, b.presence.roomsKey(b.presence.run)).Result(); err != nil || n != 1 {
		t.Fatalf("node-rooms of b after the restart: exists %d (%v), want 1", n, err)
	}
}

func mustOnline(c *Cluster, room string) string {
	online, err := c.Presence().Online(context.Background(), room)
	return fmt.Sprint(online, err)
}

// A room's slot moves to another master (resharding): Redis unsubscribes the channel on
// the old master, and the node subscribes it at the new one.
func TestSubscriptionFollowsAMigratedSlot(t *testing.T) {
	c := startOwnCluster(t)
	url := c.url()
	prefix := newPrefix()
	a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
	rb := record(b)
	ctx := context.Background()
	host(t, b, "r")
	channel := b.broker.channel("r")

	raw := rawClient(t, url).(*goredis.ClusterClient)
	defer raw.Close()
	slot, err := raw.ClusterKeySlot(ctx, channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	shards, err := raw.ClusterShards(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	type master struct{ id, addr string }
	var from, to master
	for _, s := range shards {
		m := master{s.Nodes[0].ID, net.JoinHostPort(s.Nodes[0].IP, strconv.FormatInt(s.Nodes[0].Port, 10))}
		owns := false
		for _, r := range s.Slots {
			owns = owns || (r.Start <= slot && slot <= r.End)
		}
		if owns {
			from = m
		} else if to.id == "" {
			to = m
		}
	}
	node := func(m master) *goredis.Client {
		cl := goredis.NewClient(&goredis.Options{Addr: m.addr})
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	src, dst := node(from), node(to)
	// The slot holds no key (the test's keys are elsewhere), so it moves without MIGRATE.
	for _, step := range []struct {
		c    *goredis.Client
		args []any
	}{
		{dst, []any{"CLUSTER", "SETSLOT", slot, "IMPORTING", from.id}},
		{src, []any{"CLUSTER", "SETSLOT", slot, "MIGRATING", to.id}},
		{dst, []any{"CLUSTER", "SETSLOT", slot, "NODE", to.id}},
		{src, []any{"CLUSTER", "SETSLOT", slot, "NODE", to.id}},
	} {
		if err := step.c.Do(ctx, step.args...).Err(); err != nil {
			t.Fatalf("%v: %v", step.args, err)
		}
	}
	moved := time.Now()
	id := int64(0)
	eventually(t, 15*time.Second, func() bool {
		id++
		a.Broker().Publish(ctx, message("r", id))
		time.Sleep(50 * time.Millisecond)
		return slices.Contains(rb.ids("r"), id)
	}, "no event of the room reached b after its slot moved from %s to %s", from.addr, to.addr)
	t.Logf("events of the room reach b again %v after its slot moved", time.Since(moved))
	if st := b.Broker().Stats(); st.NotHosted != 0 {
		t.Fatalf("got %+v, want nothing of rooms not hosted", st)
	}
}

// A node's subscriptions share one connection per Redis server, however many rooms it hosts.
func TestOneSubscriptionConnectionPerRedisServer(t *testing.T) {
	eachTopology(t, func(t *testing.T, url string) {
		prefix := newPrefix()
		b := openNode(t, url, prefix, "conns-"+strings.TrimSuffix(prefix, ":")) // a name no other test's node has
		var rooms []string
		for i := range 50 {
			rooms = append(rooms, "many-"+strconv.Itoa(i))
		}
		host(t, b, rooms...)
		raw := rawClient(t, url)
		defer raw.Close()
		name := clientName(b.opts.NodeID)
		perServer := map[string]int{}
		count := func(ctx context.Context, c *goredis.Client) error {
			list, err := c.ClientList(ctx).Result()
			for _, line := range strings.Split(list, "\n") {
				if strings.Contains(line, " name="+name+" ") {
					perServer[c.Options().Addr]++
				}
			}
			return err
		}
		ctx := context.Background()
		var err error
		servers := 1 // 50 rooms fall on every master of a cluster (all but certainly)
		if cc, ok := raw.(*goredis.ClusterClient); ok {
			var mu sync.Mutex
			servers = 0
			err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
				mu.Lock()
				defer mu.Unlock()
				servers++
				return count(ctx, c)
			})
		} else {
			err = count(ctx, raw.(*goredis.Client))
		}
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for addr, n := range perServer {
			if n != 1 {
				t.Errorf("%s: %d subscription connections, want 1", addr, n)
			}
			total += n
		}
		if total != servers {
			t.Fatalf("50 rooms hosted over %d connections (%v), want %d: one per server", total, perServer, servers)
		}
	})
}

// The master of a room's slot dies and its replica takes over: the node's subscription
// moves to the new master, and the room's presence is right there.
func TestSubscriptionAndPresenceFollowAFailover(t *testing.T) {
	c := startOwnClusterWith(t, 1)
	url := c.url()
	prefix := newPrefix()
	a, b := openNode(t, url, prefix, "a"), openNode(t, url, prefix, "b")
	rb := record(b)
	ctx := context.Background()
	host(t, b, "r")
	for _, add := range []struct {
		node          *Cluster
		chatter, conn string
	}{{a, "x", "a1"}, {b, "y", "b1"}} {
		if ok, err := add.node.Presence().TryAdd(ctx, "r", add.chatter, add.conn, 0); !ok || err != nil {
			t.Fatalf("add %s: %v %v", add.chatter, ok, err)
		}
	}
	m, err := a.cluster.MasterForKey(ctx, b.broker.channel("r"))
	if err != nil {
		t.Fatal(err)
	}
	old := m.Options().Addr
	_, port, _ := strings.Cut(old, ":")
	killed := time.Now()
	c.script("kill", port)

	id := int64(0)
	eventually(t, 30*time.Second, func() bool {
		id++
		a.Broker().Publish(ctx, message("r", id))
		time.Sleep(100 * time.Millisecond)
		return slices.Contains(rb.ids("r"), id)
	}, "no event of the room reached b after its master %s failed over", old)
	t.Logf("events back %v after the master was killed", time.Since(killed))
	eventually(t, 10*time.Second, func() bool {
		online, err := a.Presence().Online(ctx, "r")
		return err == nil && slices.Equal(online, []string{"x", "y"})
	}, "online after the failover: %s, want [x y]", mustOnline(a, "r"))
	if m, err := a.cluster.MasterForKey(ctx, b.broker.channel("r")); err != nil || m.Options().Addr == old {
		t.Fatalf("the room's slot is still on %s (err %v): no failover happened", old, err)
	}
}
