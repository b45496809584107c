package redis

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeRedis is a loopback server speaking just enough RESP for the subscription side;
// each test scripts its answers, so the cases a real Redis shows only now and then
// (MOVED, a slot migrating under a subscription, a refusal, garbage) come every time.
type fakeRedis struct {
	ln     net.Listener
	answer func(c *fakeConn, cmd []string)
	mu     sync.Mutex
	conns  []*fakeConn
	wg     sync.WaitGroup
}

type fakeConn struct {
	mu sync.Mutex
	c  net.Conn
	w  *bufio.Writer
}

func (c *fakeConn) send(raw string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w.WriteString(raw)
	c.w.Flush()
}

func (c *fakeConn) confirm(kind, channel string, count int) {
	c.send(fmt.Sprintf("*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n:%d\r\n", len(kind), kind, len(channel), channel, count))
}

func (c *fakeConn) push(channel, payload string) {
	c.send(fmt.Sprintf("*3\r\n$8\r\nsmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(channel), channel, len(payload), payload))
}

func startFake(t *testing.T, answer func(c *fakeConn, cmd []string)) *fakeRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRedis{ln: ln, answer: answer}
	f.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c := &fakeConn{c: nc, w: bufio.NewWriter(nc)}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			f.wg.Go(func() { f.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		f.dropAll()
		f.wg.Wait()
	})
	return f
}

func (f *fakeRedis) serve(c *fakeConn) {
	r := bufio.NewReader(c.c)
	for {
		rep, err := readReply(r)
		if err != nil {
			return
		}
		cmd := make([]string, len(rep.items))
		for i, it := range rep.items {
			cmd[i] = string(it.str)
		}
		if strings.EqualFold(cmd[0], "PING") {
			c.send("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
			continue
		}
		f.answer(c, cmd)
	}
}

func (f *fakeRedis) addr() string { return f.ln.Addr().String() }

// dropAll cuts every connection.
func (f *fakeRedis) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.c.Close()
	}
	f.conns = nil
}

func (f *fakeRedis) last() *fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.conns) == 0 {
		return nil
	}
	return f.conns[len(f.conns)-1]
}

// testSubs builds subscriptions that route every channel to *route and record deliveries.
func testSubs(t *testing.T, route *atomic.Value) (*subscriptions, *sync.Map) {
	t.Helper()
	got := &sync.Map{}
	var d net.Dialer
	s := newSubscriptions(&subscriptions{
		route:  func(context.Context, string) (string, error) { return route.Load().(string), nil },
		reload: func() {},
		dial: func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		},
		deliver: func(channel string, payload []byte, state hostState) {
			if state == hosted {
				got.Store(channel+"|"+string(payload), true)
			}
		},
		log:       slog.New(slog.DiscardHandler),
		pingEvery: 200 * time.Millisecond,
	})
	t.Cleanup(s.close)
	return s, got
}

func hostWithin(s *subscriptions, channel string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.host(ctx, channel)
}

func TestSubscriptionFollowsMOVED(t *testing.T) {
	b := startFake(t, func(c *fakeConn, cmd []string) {
		if cmd[0] == "SSUBSCRIBE" {
			c.confirm("ssubscribe", cmd[1], 1)
		}
	})
	a := startFake(t, func(c *fakeConn, cmd []string) {
		if cmd[0] == "SSUBSCRIBE" {
			c.send("-MOVED 1234 " + b.addr() + "\r\n")
		}
	})
	var route atomic.Value
	route.Store(a.addr()) // a stale slot map
	s, got := testSubs(t, &route)
	if err := hostWithin(s, "ch", 3*time.Second); err != nil {
		t.Fatalf("host after MOVED: %v", err)
	}
	b.last().push("ch", "hello")
	eventually(t, 2*time.Second, func() bool { _, ok := got.Load("ch|hello"); return ok }, "event from the node MOVED named not delivered")
	s.mu.Lock()
	_, onA := s.shards[a.addr()]
	s.mu.Unlock()
	if onA {
		t.Fatal("the node that answered MOVED still has a connection for nothing")
	}
}

func TestSubscriptionFollowsASlotMovedUnderIt(t *testing.T) {
	confirm := func(c *fakeConn, cmd []string) {
		if cmd[0] == "SSUBSCRIBE" {
			c.confirm("ssubscribe", cmd[1], 1)
		}
	}
	a, b := startFake(t, confirm), startFake(t, confirm)
	var route atomic.Value
	route.Store(a.addr())
	s, got := testSubs(t, &route)
	if err := hostWithin(s, "ch", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	// The slot moves to b: a unsubscribes the channel by itself, the slot map says b.
	route.Store(b.addr())
	a.last().confirm("sunsubscribe", "ch", 0)
	eventually(t, 3*time.Second, func() bool {
		if c := b.last(); c != nil {
			c.push("ch", "after-move")
		}
		time.Sleep(20 * time.Millisecond)
		_, ok := got.Load("ch|after-move")
		return ok
	}, "not subscribed at the slot's new node")
}

func TestRefusedSubscriptionFailsHostAndLeavesTheRoomUnhosted(t *testing.T) {
	var refusals atomic.Int32
	a := startFake(t, func(c *fakeConn, cmd []string) {
		if cmd[0] != "SSUBSCRIBE" {
			return
		}
		if refusals.Add(1) == 1 {
			c.send("-CLUSTERDOWN The cluster is down\r\n")
			return
		}
		c.confirm("ssubscribe", cmd[1], 1)
	})
	var route atomic.Value
	route.Store(a.addr())
	s, got := testSubs(t, &route)
	if err := hostWithin(s, "ch", 3*time.Second); err == nil || !strings.Contains(err.Error(), "CLUSTERDOWN") {
		t.Fatalf("host while refused: got %v, want the refusal at once", err)
	}
	if s.isHosted("ch") {
		t.Fatal("a room whose Host failed is hosted")
	}
	time.Sleep(1500 * time.Millisecond) // past the retry pause: nothing is retried for it
	if n := refusals.Load(); n != 1 {
		t.Fatalf("%d SSUBSCRIBE sent for a room whose Host failed, want 1", n)
	}
	if err := hostWithin(s, "ch", 3*time.Second); err != nil {
		t.Fatalf("host once Redis accepts: %v", err)
	}
	a.last().push("ch", "later")
	eventually(t, 2*time.Second, func() bool { _, ok := got.Load("ch|later"); return ok }, "event not delivered")
}

// Channels subscribed again after a lost connection are announced once, so the service
// can read from the store what was published meanwhile.
func TestResubscriptionIsAnnounced(t *testing.T) {
	a := startFake(t, func(c *fakeConn, cmd []string) {
		if cmd[0] == "SSUBSCRIBE" {
			c.confirm("ssubscribe", cmd[1], 1)
		}
	})
	var route atomic.Value
	route.Store(a.addr())
	s, _ := testSubs(t, &route)
	var calls atomic.Int32
	fn := func() { calls.Add(1) }
	s.resubscribed.Store(&fn)
	for _, ch := range []string{"c1", "c2", "c3"} {
		if err := hostWithin(s, ch, 3*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(400 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("announced %d times before anything was lost", n)
	}
	a.dropAll()
	eventually(t, 3*time.Second, func() bool { return calls.Load() == 1 }, "resubscription not announced")
	time.Sleep(400 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("announced %d times for one lost connection, want 1", n)
	}
}

func TestGarbageResetsTheConnectionAndEverythingIsSubscribedAgain(t *testing.T) {
	var subscribes atomic.Int32
	a := startFake(t, func(c *fakeConn, cmd []string) {
		if cmd[0] == "SSUBSCRIBE" {
			subscribes.Add(1)
			c.confirm("ssubscribe", cmd[1], 1)
		}
	})
	var route atomic.Value
	route.Store(a.addr())
	s, got := testSubs(t, &route)
	for _, ch := range []string{"c1", "c2", "c3"} {
		if err := hostWithin(s, ch, 3*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	first := a.last()
	first.send("*3\r\n$10\r\nssubscribe\r\n$7\r\nunknown\r\n:1\r\n") // a reply to nothing
	eventually(t, 3*time.Second, func() bool { return a.last() != first && subscribes.Load() == 6 },
		"after a reply to no command: %d subscriptions, want the 3 channels subscribed again on a new connection", subscribes.Load())
	for _, ch := range []string{"c1", "c2", "c3"} {
		a.last().push(ch, "again")
	}
	eventually(t, 2*time.Second, func() bool {
		n := 0
		got.Range(func(k, _ any) bool { n++; return true })
		return n == 3
	}, "events after the reset not delivered")
}

func TestUnhostedChannelIsUnsubscribedAndForgotten(t *testing.T) {
	var unsubscribed atomic.Int32
	a := startFake(t, func(c *fakeConn, cmd []string) {
		switch cmd[0] {
		case "SSUBSCRIBE":
			c.confirm("ssubscribe", cmd[1], 1)
		case "SUNSUBSCRIBE":
			unsubscribed.Add(1)
			c.confirm("sunsubscribe", cmd[1], 0)
		}
	})
	var route atomic.Value
	route.Store(a.addr())
	s, _ := testSubs(t, &route)
	if err := hostWithin(s, "ch", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	s.unhost("ch")
	eventually(t, 3*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return unsubscribed.Load() == 1 && len(s.channels) == 0 && len(s.shards) == 0
	}, "after Unhost: %d SUNSUBSCRIBE, want 1, and nothing kept", unsubscribed.Load())
}
