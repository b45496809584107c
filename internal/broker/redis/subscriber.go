package redis

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// subscriptions keeps this node's sharded subscriptions (SSUBSCRIBE), one channel per
// hosted room, on one connection per Redis node that owns a hosted room's slot: one
// connection on a single Redis, at most one per master on a Redis Cluster.
//
// go-redis's PubSub is not used for this: after a reconnect it subscribes again with one
// SSUBSCRIBE naming every channel, which a Redis Cluster refuses (CROSSSLOT) as soon as
// the channels span two slots, it writes without reading the replies, and it cannot tell
// which command a MOVED answers. Here every channel has its own command, at most one in
// flight at a time, and replies are matched to commands in order, so each channel's
// state is known exactly:
//   - a channel is subscribed again on every new connection (Redis restarted, or the
//     connection was lost);
//   - a MOVED reply sends the channel to the node it names; a SUNSUBSCRIBE that Redis
//     pushes by itself (its slot migrated, or its master failed over) has the channel
//     routed again from a fresh slot map;
//   - Host waits for Redis's confirmation of the channel.
type subscriptions struct {
	route     func(ctx context.Context, channel string) (addr string, err error)
	reload    func() // refreshes the slot map; nil on a single Redis
	dial      func(ctx context.Context, addr string) (net.Conn, error)
	auth      []string // the AUTH command, or nil
	name      string   // the connections' client name, for CLIENT LIST
	deliver   func(channel string, payload []byte, state hostState)
	log       *slog.Logger
	pingEvery time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// resubscribed is called once channels that had been subscribed are subscribed again
	// (after a lost connection, a restart, a moved slot): their events published meanwhile
	// never came. Calls are coalesced.
	resubscribed atomic.Pointer[func()]
	regained     chan struct{}

	mu       sync.Mutex
	channels map[string]*subscription
	shards   map[string]*shard // by address
}

// hostState says what a received event's channel is to this node.
type hostState int

const (
	hosted    hostState = iota // a hosted room: deliver
	unhosting                  // Unhost was called, the unsubscription is in flight: drop
	notHosted                  // never hosted, or long gone: drop and count
)

// subscription is one channel this node wants, or is leaving.
type subscription struct {
	channel    string
	want       bool   // hosted: Host called, and no Unhost since
	shard      *shard // where it is (to be) subscribed; nil while it is being routed
	subscribed bool   // Redis confirmed it on the shard's current connection
	inflight   bool   // a command for it awaits its reply (at most one at a time)
	routing    bool   // a goroutine is finding its shard
	lost       bool   // it was subscribed, and no longer is: events may have been missed
	waiters    []chan error
}

// shard is one Redis node and the connection to it.
type shard struct {
	addr     string
	channels map[string]*subscription
	link     *link // nil while (re)connecting
	err      error // why the last connection attempt failed; nil once connected
	stop     context.CancelFunc
}

// link is one connection's command queue. Replies come in the order commands were
// written, so pending[0] is what the next reply answers (pushed messages aside).
type link struct {
	conn    net.Conn
	outbox  []command // not written yet
	pending []command // written or about to be, awaiting their replies
	wake    chan struct{}
}

type command struct {
	name string // SSUBSCRIBE, SUNSUBSCRIBE, PING, AUTH, SETNAME
	sub  *subscription
}

func newSubscriptions(s *subscriptions) *subscriptions {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.channels = map[string]*subscription{}
	s.shards = map[string]*shard{}
	if s.pingEvery <= 0 {
		s.pingEvery = time.Second
	}
	s.regained = make(chan struct{}, 1)
	s.wg.Go(s.announceRegained)
	return s
}

// announceRegained calls resubscribed after channels came back, once per burst.
func (s *subscriptions) announceRegained() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.regained:
		}
		if !sleep(s.ctx, 200*time.Millisecond) { // let the other channels of the burst come back
			return
		}
		select { // they are announced by this call
		case <-s.regained:
		default:
		}
		if fn := s.resubscribed.Load(); fn != nil {
			(*fn)()
		}
	}
}

// close ends every connection, fails every Host still waiting, and waits for the goroutines.
func (s *subscriptions) close() {
	s.mu.Lock()
	s.cancel()
	for _, sub := range s.channels {
		s.wake(sub, errClosed)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

var (
	errUnhosted = errors.New("room unhosted before its subscription was confirmed")
	errClosed   = errors.New("broker closed")
)

// host subscribes channel and returns once Redis has confirmed it. When the channel's
// Redis node cannot be reached it fails at once. A failed host leaves the channel as it
// found it: not wanted, unless it was wanted already.
func (s *subscriptions) host(ctx context.Context, channel string) error {
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return errClosed
	}
	sub := s.channels[channel]
	if sub == nil {
		sub = &subscription{channel: channel}
		s.channels[channel] = sub
	}
	turnedOn := !sub.want
	sub.want = true
	if sub.subscribed && !sub.inflight {
		s.mu.Unlock()
		return nil
	}
	if sh := sub.shard; sh != nil && sh.link == nil && sh.err != nil {
		err := fmt.Errorf("redis %s: %w", sh.addr, sh.err)
		s.giveUp(sub, turnedOn)
		s.mu.Unlock()
		return err
	}
	done := make(chan error, 1)
	sub.waiters = append(sub.waiters, done)
	if sub.shard == nil {
		s.routeLater(sub, 0)
	} else {
		s.reconcile(sub)
	}
	s.mu.Unlock()

	var err error
	select {
	case err = <-done:
		if err == nil {
			return nil
		}
	case <-ctx.Done():
		err = fmt.Errorf("subscription not confirmed: %w", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, w := range sub.waiters {
		if w == done {
			sub.waiters = append(sub.waiters[:i], sub.waiters[i+1:]...)
			break
		}
	}
	if !errors.Is(err, errUnhosted) && !errors.Is(err, errClosed) {
		s.giveUp(sub, turnedOn)
	}
	return err
}

// giveUp undoes a failed host that turned sub on, unless another host still waits for it.
// Called with s.mu held.
func (s *subscriptions) giveUp(sub *subscription, turnedOn bool) {
	if !turnedOn || !sub.want || len(sub.waiters) > 0 || s.channels[sub.channel] != sub {
		return
	}
	sub.want = false
	s.reconcile(sub)
}

// unhost unsubscribes channel, without waiting for Redis.
func (s *subscriptions) unhost(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.channels[channel]
	if sub == nil || !sub.want {
		return
	}
	sub.want = false
	s.wake(sub, errUnhosted)
	s.reconcile(sub)
}

// isHosted reports whether channel is wanted.
func (s *subscriptions) isHosted(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.channels[channel]
	return sub != nil && sub.want
}

// hostedCount is the number of channels wanted.
func (s *subscriptions) hostedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sub := range s.channels {
		if sub.want {
			n++
		}
	}
	return n
}

// wake ends every Host waiting on sub.
func (s *subscriptions) wake(sub *subscription, err error) {
	for _, w := range sub.waiters {
		w <- err
	}
	sub.waiters = nil
}

// reconcile sends the command that brings Redis to what sub wants, or forgets sub once it
// is neither wanted nor subscribed. Called with s.mu held.
func (s *subscriptions) reconcile(sub *subscription) {
	if !sub.want && !sub.subscribed && !sub.inflight {
		s.forget(sub)
		return
	}
	sh := sub.shard
	if sh == nil || sh.link == nil || sub.inflight || sub.want == sub.subscribed {
		return
	}
	name := "SSUBSCRIBE"
	if !sub.want {
		name = "SUNSUBSCRIBE"
	}
	sub.inflight = true
	sh.link.send(command{name: name, sub: sub})
}

func (l *link) send(c command) {
	l.outbox = append(l.outbox, c)
	l.pending = append(l.pending, c)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// forget drops sub, and its shard when that was the shard's last channel.
func (s *subscriptions) forget(sub *subscription) {
	if s.channels[sub.channel] == sub {
		delete(s.channels, sub.channel)
	}
	s.detach(sub)
}

func (s *subscriptions) detach(sub *subscription) {
	sh := sub.shard
	if sh == nil {
		return
	}
	sub.shard, sub.subscribed, sub.inflight = nil, false, false
	delete(sh.channels, sub.channel)
	if len(sh.channels) == 0 && s.shards[sh.addr] == sh {
		delete(s.shards, sh.addr)
		sh.stop()
	}
}

// assign moves sub to the shard of addr (started if need be) and subscribes it there.
func (s *subscriptions) assign(sub *subscription, addr string) {
	if sub.shard != nil && sub.shard.addr == addr {
		s.reconcile(sub)
		return
	}
	s.detach(sub)
	sh := s.shards[addr]
	if sh == nil {
		ctx, stop := context.WithCancel(s.ctx)
		sh = &shard{addr: addr, channels: map[string]*subscription{}, stop: stop}
		s.shards[addr] = sh
		s.wg.Add(1)
		go s.run(ctx, sh)
	}
	sh.channels[sub.channel] = sub
	sub.shard = sh
	if sh.link == nil && sh.err != nil {
		s.wake(sub, fmt.Errorf("redis %s: %w", addr, sh.err))
	}
	s.reconcile(sub)
}

// routeLater finds sub's shard in a goroutine, after delay. Called with s.mu held.
func (s *subscriptions) routeLater(sub *subscription, delay time.Duration) {
	if sub.routing {
		return
	}
	sub.routing = true
	s.detach(sub)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for attempt := 0; ; attempt++ {
			if !sleep(s.ctx, delay) {
				return
			}
			if s.reload != nil && (attempt > 0 || delay > 0) {
				s.reload()
			}
			ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			addr, err := s.route(ctx, sub.channel)
			cancel()
			s.mu.Lock()
			if s.channels[sub.channel] != sub || !sub.want {
				sub.routing = false
				if s.channels[sub.channel] == sub {
					s.reconcile(sub)
				}
				s.mu.Unlock()
				return
			}
			if err == nil {
				sub.routing = false
				s.assign(sub, addr)
				s.mu.Unlock()
				return
			}
			s.wake(sub, fmt.Errorf("route %s: %w", sub.channel, err))
			s.mu.Unlock()
			delay = backoff(attempt)
		}
	}()
}

// backoff is the wait before retry number attempt+1: 100 ms doubling up to 2 s.
func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 5)
	return min(d, 2*time.Second)
}

// sleep waits d unless ctx ends first; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// run keeps a connection to the shard's node until the shard is dropped: it connects,
// subscribes every channel of the shard, reads, and starts over when the connection ends.
func (s *subscriptions) run(ctx context.Context, sh *shard) {
	defer s.wg.Done()
	failures := 0
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := s.dial(dctx, sh.addr)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			if sh.err == nil {
				s.log.Warn("redis subscription connection failed; retrying", "addr", sh.addr, "err", err)
			}
			sh.err = err
			for _, sub := range sh.channels {
				s.wake(sub, fmt.Errorf("redis %s: %w", sh.addr, err))
			}
			s.mu.Unlock()
			s.rerouteFrom(ctx, sh)
			if !sleep(ctx, backoff(failures)) {
				return
			}
			failures++
			continue
		}
		l := &link{conn: conn, wake: make(chan struct{}, 1)}
		s.mu.Lock()
		if sh.err != nil {
			s.log.Info("redis subscription connection back", "addr", sh.addr)
		}
		sh.link, sh.err = l, nil
		if s.auth != nil {
			l.send(command{name: "AUTH"})
		}
		if s.name != "" {
			l.send(command{name: "SETNAME"})
		}
		for _, sub := range sh.channels {
			sub.subscribed, sub.inflight = false, false
			s.reconcile(sub)
		}
		s.mu.Unlock()

		err = s.serve(ctx, sh, l)
		s.mu.Lock()
		sh.link = nil
		for _, sub := range sh.channels {
			sub.lost = sub.lost || sub.subscribed
			sub.subscribed, sub.inflight = false, false
			if !sub.want {
				s.forget(sub)
			}
		}
		s.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("redis subscription connection lost; subscribing again", "addr", sh.addr, "err", err)
		failures = 0
	}
}

// rerouteFrom moves the channels whose slot now belongs to another node (a Redis Cluster
// failed over), after the shard's node could not be reached.
func (s *subscriptions) rerouteFrom(ctx context.Context, sh *shard) {
	if s.reload == nil {
		return
	}
	s.reload()
	s.mu.Lock()
	channels := make([]string, 0, len(sh.channels))
	for ch := range sh.channels {
		channels = append(channels, ch)
	}
	s.mu.Unlock()
	for _, ch := range channels {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		addr, err := s.route(rctx, ch)
		cancel()
		if err != nil || addr == sh.addr {
			continue
		}
		s.mu.Lock()
		if sub := sh.channels[ch]; sub != nil && !sub.inflight {
			s.assign(sub, addr)
		}
		s.mu.Unlock()
	}
}

// serve runs one connection: a writer goroutine sends queued commands and a ping every
// pingEvery; this goroutine reads. It returns why the connection ended.
func (s *subscriptions) serve(ctx context.Context, sh *shard, l *link) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { s.write(l, done) })
	stop := context.AfterFunc(ctx, func() { l.conn.Close() })
	defer func() {
		stop()
		l.conn.Close()
		close(done)
		wg.Wait()
	}()
	r := bufio.NewReaderSize(l.conn, 32<<10)
	for {
		if r.Buffered() == 0 {
			l.conn.SetReadDeadline(time.Now().Add(3 * s.pingEvery))
		}
		rep, err := readReply(r)
		if err != nil {
			return err
		}
		if err := s.handle(sh, l, rep); err != nil {
			return err
		}
	}
}

// write sends l's queued commands until done is closed or a write fails (which closes
// the connection, so the reader ends too).
func (s *subscriptions) write(l *link, done <-chan struct{}) {
	w := bufio.NewWriter(l.conn)
	tick := time.NewTicker(s.pingEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-l.wake:
		case <-tick.C:
			s.mu.Lock()
			l.send(command{name: "PING"})
			s.mu.Unlock()
		}
		s.mu.Lock()
		cmds := l.outbox
		l.outbox = nil
		s.mu.Unlock()
		for _, c := range cmds {
			switch {
			case c.name == "AUTH":
				writeCommand(w, s.auth...)
			case c.name == "SETNAME":
				writeCommand(w, "CLIENT", "SETNAME", s.name)
			case c.sub != nil:
				writeCommand(w, c.name, c.sub.channel)
			default:
				writeCommand(w, c.name)
			}
		}
		l.conn.SetWriteDeadline(time.Now().Add(3 * s.pingEvery))
		if err := w.Flush(); err != nil {
			l.conn.Close()
			return
		}
	}
}

var errUnexpected = errors.New("unexpected reply on a subscription connection")

// handle applies one reply or push. A message is delivered outside the lock.
func (s *subscriptions) handle(sh *shard, l *link, rep reply) error {
	if rep.kind == '*' && len(rep.items) == 3 && bytes.Equal(rep.items[0].str, []byte("smessage")) {
		channel := string(rep.items[1].str)
		s.mu.Lock()
		state := notHosted
		if sub := s.channels[channel]; sub != nil {
			state = unhosting
			if sub.want {
				state = hosted
			}
		}
		s.mu.Unlock()
		s.deliver(channel, rep.items[2].str, state)
		return nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if sh.link != l {
		return errUnexpected
	}
	var head command
	if len(l.pending) > 0 {
		head = l.pending[0]
	}
	pop := func() { l.pending = l.pending[1:] }
	// head.sub.shard == sh unless the channel moved while its command was in flight.
	mine := head.sub != nil && head.sub.shard == sh

	switch {
	case rep.kind == '-':
		if head.name == "" {
			return fmt.Errorf("%w: %s", errUnexpected, rep.str)
		}
		pop()
		return s.refused(sh, head, rep.text(), mine)

	case rep.kind == '+' && (head.name == "AUTH" || head.name == "SETNAME" || head.name == "PING"):
		pop()
		return nil

	case rep.kind == '*' && len(rep.items) == 2 && head.name == "PING" &&
		bytes.EqualFold(rep.items[0].str, []byte("pong")):
		pop()
		return nil

	case rep.kind == '*' && len(rep.items) == 3:
		kind, channel := string(rep.items[0].str), string(rep.items[1].str)
		switch {
		case kind == "ssubscribe" && head.name == "SSUBSCRIBE" && head.sub.channel == channel:
			pop()
			if mine {
				head.sub.inflight = false
				head.sub.subscribed = true
				if head.sub.want {
					s.wake(head.sub, nil)
				}
				if head.sub.lost {
					head.sub.lost = false
					select {
					case s.regained <- struct{}{}:
					default:
					}
				}
				s.reconcile(head.sub)
			}
			return nil
		case kind == "sunsubscribe" && head.name == "SUNSUBSCRIBE" && head.sub.channel == channel:
			pop()
			if mine {
				head.sub.inflight = false
				head.sub.subscribed = false
				s.reconcile(head.sub)
			}
			return nil
		case kind == "sunsubscribe":
			// Pushed by Redis: the channel's slot is no longer served here.
			if sub := sh.channels[channel]; sub != nil && !sub.inflight {
				sub.lost = sub.lost || sub.subscribed
				sub.subscribed = false
				if sub.want {
					s.log.Info("redis moved a hosted room's channel; subscribing at its new node", "channel", channel, "addr", sh.addr)
					s.routeLater(sub, 0)
				} else {
					s.reconcile(sub)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("%w: %q awaiting %s", errUnexpected, rep.text(), head.name)
}

// refused handles an error reply to head.
func (s *subscriptions) refused(sh *shard, head command, msg string, mine bool) error {
	switch head.name {
	case "AUTH":
		return fmt.Errorf("redis auth: %s", msg)
	case "PING", "SETNAME":
		return nil
	}
	if !mine {
		return nil
	}
	sub := head.sub
	sub.inflight = false
	if head.name == "SUNSUBSCRIBE" {
		sub.subscribed = false
		s.reconcile(sub)
		return nil
	}
	// SSUBSCRIBE: MOVED names the node that serves the slot now; anything else
	// (CLUSTERDOWN, TRYAGAIN, LOADING, ...) is retried after a pause.
	if !sub.want {
		s.reconcile(sub)
		return nil
	}
	if f := strings.Fields(msg); len(f) == 3 && f[0] == "MOVED" {
		if s.reload != nil {
			s.reload()
		}
		// The node may name itself by port only ("?:6380" or ":6380" when it does not know
		// its address): then the refreshed slot map says where.
		if host, _, err := net.SplitHostPort(f[2]); err == nil && host != "" && host != "?" {
			s.assign(sub, f[2])
		} else {
			s.routeLater(sub, 100*time.Millisecond)
		}
		return nil
	}
	s.log.Warn("redis refused a subscription; retrying", "channel", sub.channel, "addr", sh.addr, "err", msg)
	s.wake(sub, fmt.Errorf("redis %s: %s", sh.addr, msg))
	s.routeLater(sub, time.Second)
	return nil
}
