package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"colachat/internal/sioclient"
)

// member is one simulated client.
type member struct {
	room   int
	rank   int // position among its room's members, in dialing order
	c      *sioclient.Client
	joined atomic.Bool
}

// msgSlot follows one sent message: how many members should get it and how many did.
type msgSlot struct {
	expected atomic.Uint32
	got      atomic.Uint32
}

// runner holds one benchmark run's state. Counters are atomics: reader goroutines of every
// connection update them.
type runner struct {
	cfg    *config
	stderr io.Writer
	t0     time.Time
	phase  atomic.Pointer[string]

	roomIDs []string
	members []atomic.Int32 // joined and still connected, per room
	clients []*member

	connected, joined, connectErrs, joinErrs, disconnects atomic.Int64
	sent, sendErrs, acksOK, ackErrs                       atomic.Int64
	received, expected, stray, otherEvents                atomic.Int64
	nextSeq                                               atomic.Int64
	msgs                                                  atomic.Pointer[[]msgSlot] // set when sending starts

	connectLat, joinLat, ackLat, deliveryLat histogram
	errs                                     errorLog
}

func newRunner(cfg *config, stderr io.Writer) *runner {
	r := &runner{cfg: cfg, stderr: stderr, t0: time.Now()}
	r.setPhase("setup")
	return r
}

func (r *runner) setPhase(p string) { r.phase.Store(&p) }

// run executes the phases: rooms, connect+join, settle, hold, messages, drain; then closes
// every client. It returns what it measured even when it stops early.
func (r *runner) run(ctx context.Context) (*Summary, error) {
	cfg := r.cfg
	sum := &Summary{
		Protocol: cfg.protocolName, URLs: cfg.urls, Namespace: cfg.namespace,
		Rooms: cfg.rooms, Capacity: cfg.capacity, Clients: cfg.rooms * cfg.capacity,
		Rate: cfg.rate, Senders: cfg.capacity, Duration: cfg.duration.String(), Hold: cfg.hold.String(),
	}
	if cfg.senders > 0 {
		sum.Senders = cfg.senders
	}
	srv := newServerProbe(cfg.serverPIDs)
	srv.sample(&sum.Server.RSSBaselineKB)

	stopProgress := r.startProgress()
	defer stopProgress()

	r.setPhase("rooms")
	ids, err := cfg.proto.prepareRooms(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r.roomIDs = ids
	r.members = make([]atomic.Int32, len(ids))
	r.clients = make([]*member, cfg.rooms*cfg.capacity)
	defer r.closeAll()

	r.setPhase("joining")
	cpu0 := srv.cpu()
	joinStart := time.Now()
	r.connectAll(ctx)
	sum.JoinPhaseSeconds = time.Since(joinStart).Seconds()
	sleepCtx(ctx, cfg.settle)
	cpu1 := srv.cpu()
	srv.sample(&sum.Server.RSSJoinedKB)
	if n := r.joined.Load(); n > 0 && srv.ok() {
		sum.Server.CPUJoinSeconds = (cpu1 - cpu0).Seconds()
		sum.Server.CPUPerJoinMicros = micros(cpu1-cpu0) / float64(n)
	}

	if cfg.hold > 0 {
		r.setPhase("holding")
		sleepCtx(ctx, cfg.hold)
	}
	srv.sample(&sum.Server.RSSIdleKB)
	sum.BenchRSSIdleKB, _ = rssKB(os.Getpid())
	if n := r.connected.Load(); n > 0 && srv.ok() {
		sum.Server.RSSPerConnKB = float64(sum.Server.RSSIdleKB-sum.Server.RSSBaselineKB) / float64(n)
	}

	if cfg.rate > 0 && ctx.Err() == nil {
		r.setPhase("sending")
		self0, _ := cpuTime(os.Getpid())
		cpu2 := srv.cpu()
		start := time.Now()
		r.sendAll(ctx)
		sum.SendSeconds = time.Since(start).Seconds()
		r.setPhase("draining")
		r.waitDrain(ctx)
		elapsed := time.Since(start)
		sum.MeasuredSeconds = elapsed.Seconds()
		cpu3 := srv.cpu()
		self1, _ := cpuTime(os.Getpid())
		sum.BenchCPUSeconds = (self1 - self0).Seconds()
		if srv.ok() {
			sum.Server.CPUMessageSeconds = (cpu3 - cpu2).Seconds()
			if n := r.acksOK.Load(); n > 0 {
				sum.Server.CPUPerMessageMicros = micros(cpu3-cpu2) / float64(n)
			}
			if n := r.received.Load(); n > 0 {
				sum.Server.CPUPerDeliveryMicros = micros(cpu3-cpu2) / float64(n)
			}
		}
		srv.sample(&sum.Server.RSSEndKB)
	}
	r.setPhase("closing")
	r.fill(sum)
	sum.Server.PIDs = cfg.serverPIDs
	sum.Server.Errors = srv.errors()
	return sum, ctx.Err()
}

// connectAll opens every client at the ramp rate, at most dialParallel at a time, and waits
// until each has joined or failed.
func (r *runner) connectAll(ctx context.Context) {
	cfg := r.cfg
	total := len(r.clients)
	sem := make(chan struct{}, cfg.dialParallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	const tick = 10 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	allowance := 1.0
	for i := 0; i < total; {
		for ; allowance >= 1 && i < total; allowance-- {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			idx := i
			wg.Go(func() {
				defer func() { <-sem }()
				r.connectOne(ctx, idx)
			})
			i++
		}
		select {
		case <-ticker.C:
			allowance += cfg.ramp * tick.Seconds()
		case <-ctx.Done():
			return
		}
	}
}

// connectOne dials client idx and joins it to its room. Rooms are filled round-robin so join
// broadcasts spread evenly; a room's members alternate over the server URLs, or with
// -colocate all sit on the URL of their room.
func (r *runner) connectOne(ctx context.Context, idx int) {
	cfg := r.cfg
	room := idx % cfg.rooms
	nth := idx / cfg.rooms
	m := &member{room: room, rank: nth}
	url := cfg.urls[nth%len(cfg.urls)]
	if cfg.colocate {
		url = cfg.urls[room%len(cfg.urls)]
	}
	opts := sioclient.Options{
		URL:              url,
		Path:             cfg.path,
		Namespace:        cfg.namespace,
		HandshakeTimeout: 20 * time.Second,
		OnEvent:          r.onEvent,
		OnClose: func(err error) {
			if err == nil {
				return // closed by us
			}
			r.disconnects.Add(1)
			r.errs.add("disconnect", err.Error())
			if m.joined.CompareAndSwap(true, false) {
				r.members[room].Add(-1)
			}
		},
	}
	if n := len(cfg.sourceAddrs); n > 0 {
		opts.LocalAddr = cfg.sourceAddrs[idx%n]
	}
	cfg.proto.dialOptions(r.roomIDs[room], &opts)

	start := time.Now()
	c, err := sioclient.Dial(ctx, opts)
	if err != nil {
		r.connectErrs.Add(1)
		r.errs.add("connect", err.Error())
		return
	}
	r.connectLat.add(time.Since(start))
	r.connected.Add(1)
	m.c = c
	r.clients[idx] = m

	jctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start = time.Now()
	if err := cfg.proto.join(jctx, c, r.roomIDs[room]); err != nil {
		r.joinErrs.Add(1)
		r.errs.add("join", err.Error())
		return
	}
	if cfg.proto.joins() {
		r.joinLat.add(time.Since(start))
	}
	r.members[room].Add(1)
	m.joined.Store(true)
	r.joined.Add(1)
	if c.Err() != nil && m.joined.CompareAndSwap(true, false) {
		r.members[room].Add(-1) // it dropped while joining
	}
}

// onEvent runs on every connection's reader goroutine.
func (r *runner) onEvent(event string, args sioclient.Args) {
	if event != r.cfg.proto.event() {
		r.otherEvents.Add(1)
		return
	}
	content, ok := r.cfg.proto.deliveredContent(args)
	if !ok {
		r.stray.Add(1)
		return
	}
	seq, sentAt, ok := parseContent(content)
	msgs := r.slots()
	if !ok || seq >= int64(len(msgs)) {
		r.stray.Add(1)
		return
	}
	r.deliveryLat.add(time.Since(r.t0) - sentAt)
	msgs[seq].got.Add(1)
	r.received.Add(1)
}

// slots returns the per-message records, empty before the message phase.
func (r *runner) slots() []msgSlot {
	if p := r.msgs.Load(); p != nil {
		return *p
	}
	return nil
}

// makeContent encodes a message's sequence number and send time (since t0), padded to size.
func makeContent(seq int64, sentAt time.Duration, size int) string {
	b := make([]byte, 0, max(size, 40))
	b = append(b, 'b')
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(sentAt), 10)
	for len(b) < size {
		b = append(b, 'x')
	}
	return string(b)
}

func parseContent(b []byte) (seq int64, sentAt time.Duration, ok bool) {
	if len(b) < 4 || b[0] != 'b' {
		return 0, 0, false
	}
	i := 1
	seq, i = parseDigits(b, i)
	if i >= len(b) || b[i] != '.' || i == 1 {
		return 0, 0, false
	}
	j := i + 1
	ns, k := parseDigits(b, j)
	if k == j {
		return 0, 0, false
	}
	return seq, time.Duration(ns), true
}

func parseDigits(b []byte, i int) (int64, int) {
	var n int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	return n, i
}

// sendAll runs the message phase: sending goroutines share the joined members that send (all,
// or the first -senders of each room) and each sends for its members round-robin on an absolute
// schedule, so a late wake-up catches up instead of drifting.
func (r *runner) sendAll(ctx context.Context) {
	cfg := r.cfg
	var active []*member
	for _, m := range r.clients {
		if m != nil && m.joined.Load() && (cfg.senders == 0 || m.rank < cfg.senders) {
			active = append(active, m)
		}
	}
	if len(active) == 0 {
		return
	}
	perSecond := cfg.rate * float64(len(active))
	msgs := make([]msgSlot, int(perSecond*cfg.duration.Seconds())+len(active)+64)
	r.msgs.Store(&msgs)

	shards := min(len(active), 4*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(cfg.duration)
	for s := range shards {
		var mine []*member
		for i := s; i < len(active); i += shards {
			mine = append(mine, active[i])
		}
		interval := time.Duration(float64(time.Second) / (cfg.rate * float64(len(mine))))
		offset := interval * time.Duration(s) / time.Duration(shards)
		wg.Go(func() { r.sendShard(ctx, mine, start.Add(offset), end, interval) })
	}
	wg.Wait()
}

func (r *runner) sendShard(ctx context.Context, mine []*member, start, end time.Time, interval time.Duration) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for k := 0; ; k++ {
		due := start.Add(time.Duration(k) * interval)
		if !due.Before(end) {
			return
		}
		if wait := time.Until(due); wait > time.Millisecond {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		if m := mine[k%len(mine)]; m.joined.Load() {
			r.send(m)
		}
	}
}

func (r *runner) send(m *member) {
	seq := r.nextSeq.Add(1) - 1
	msgs := r.slots()
	if seq >= int64(len(msgs)) {
		return
	}
	proto := r.cfg.proto
	room := r.roomIDs[m.room]
	expect := r.members[m.room].Load()
	sentAt := time.Now()
	content := makeContent(seq, sentAt.Sub(r.t0), r.cfg.size)
	err := m.c.EmitAck(proto.event(), func(args sioclient.Args, err error) {
		r.ackLat.add(time.Since(sentAt))
		if err != nil {
			r.ackErrs.Add(1)
			r.errs.add("ack", err.Error())
			return
		}
		if ok, why := proto.ackOK(args); !ok {
			r.ackErrs.Add(1)
			r.errs.add("ack", why)
			return
		}
		msgs[seq].expected.Store(uint32(expect))
		r.expected.Add(int64(expect))
		r.acksOK.Add(1)
	}, proto.messageArg(room, content))
	if err != nil {
		r.sendErrs.Add(1)
		r.errs.add("send", err.Error())
		return
	}
	r.sent.Add(1)
}

// waitDrain waits until every sent message is acked and every expected delivery arrived, or the
// drain timeout passes.
func (r *runner) waitDrain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		acked := r.acksOK.Load() + r.ackErrs.Load()
		if acked >= r.sent.Load() && r.received.Load() >= r.expected.Load() {
			return
		}
		sleepCtx(ctx, 10*time.Millisecond)
	}
}

// closeAll closes every client, a few at a time.
func (r *runner) closeAll() {
	r.setPhase("closing")
	work := make(chan *sioclient.Client)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for c := range work {
				_ = c.Close()
			}
		})
	}
	for _, m := range r.clients {
		if m != nil && m.c != nil {
			work <- m.c
		}
	}
	close(work)
	wg.Wait()
}

// startProgress prints one line a second on stderr until the returned stop is called.
func (r *runner) startProgress() (stop func()) {
	if r.cfg.quiet {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var lastSent, lastRecv int64
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			sent, recv := r.sent.Load(), r.received.Load()
			fmt.Fprintf(r.stderr, "[%4.0fs] %-8s conn %d joined %d err %d | sent %d (%d/s) acked %d recv %d (%d/s) lost-so-far %d\n",
				time.Since(r.t0).Seconds(), *r.phase.Load(), r.connected.Load(), r.joined.Load(),
				r.connectErrs.Load()+r.joinErrs.Load()+r.disconnects.Load()+r.ackErrs.Load()+r.sendErrs.Load(),
				sent, sent-lastSent, r.acksOK.Load(), recv, recv-lastRecv, max(0, r.expected.Load()-recv))
			lastSent, lastRecv = sent, recv
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// errorLog counts errors by kind and keeps the first few distinct texts of each.
type errorLog struct {
	mu      sync.Mutex
	counts  map[string]int64
	samples map[string][]string
}

const errorSamples = 3

func (l *errorLog) add(kind, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = make(map[string]int64)
		l.samples = make(map[string][]string)
	}
	l.counts[kind]++
	s := l.samples[kind]
	if len(s) >= errorSamples {
		return
	}
	for _, t := range s {
		if t == text {
			return
		}
	}
	l.samples[kind] = append(s, text)
}

func (l *errorLog) snapshot() []ErrorCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []ErrorCount
	for k, n := range l.counts {
		out = append(out, ErrorCount{Kind: k, Count: n, Samples: l.samples[k]})
	}
	return out
}
