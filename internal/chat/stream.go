package chat

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// streams turns what the broker brings into what this node's sockets see: for every room
// the node hosts, the room's stored events (messages and alerts) exactly once and in Seq
// order, whatever order the broker delivered them in. A stored event that arrives ahead of
// its turn is held until the ones before it come; when they do not come within hold (their
// publish was lost, or their node died between commit and publish), they are read from the
// store. An event that is not stored (the online list, typing, expiry) goes out once the
// room has reached the position its publisher had seen (Event.After), so it never overtakes
// the alert it follows.
//
// A room is hosted while this node has connections in it, and for linger after the last
// leaves (a reload comes back at once): hosting subscribes the node to the room's events at
// the broker and positions the stream at the room's last stored Seq.
type streams struct {
	broker Broker
	store  Store
	hold   time.Duration
	linger time.Duration
	log    *slog.Logger

	mu    sync.Mutex
	rooms map[string]*roomStream

	subsMu sync.RWMutex
	subs   map[int]func(Event)
	nextID int

	wg      sync.WaitGroup // timers armed or running (fills, unhostings)
	stopped atomic.Bool

	// Counters, read by tests and metrics.
	filled  atomic.Int64 // stored events read from the store to fill a gap
	dropped atomic.Int64 // stored events received twice (or before the stream's start)
	foreign atomic.Int64 // events received for rooms this node does not host
}

// roomStream is one hosted room. Its fields are guarded by mu, except conns, state and
// lingering, which streams.mu guards.
type roomStream struct {
	id        string
	namespace string

	// Hosting, under streams.mu.
	conns     map[string]struct{} // this node's connections in the room
	state     hostState
	ready     chan struct{} // closed once hosting has been tried; err tells how it went
	err       error
	closed    chan struct{} // closed once an unhosting is complete
	lingering *time.Timer

	// Delivery, under mu: held while delivering, so a room's events go out one at a time.
	mu      sync.Mutex
	started bool            // next is known
	next    int64           // Seq of the next stored event to deliver
	early   map[int64]Event // stored events ahead of next, by Seq
	ahead   int64           // a Seq known to be stored (resync) though its event has not come
	waiting []Event         // events not stored, waiting for their After
	timer   *time.Timer     // armed while there is a gap: early holds events, or ahead >= next
	tries   int             // failed fills in a row
}

type hostState int

const (
	hostStarting hostState = iota
	hostReady
	hostClosing
)

func newStreams(broker Broker, store Store, hold, linger time.Duration, log *slog.Logger) *streams {
	return &streams{
		broker: broker, store: store, hold: hold, linger: linger, log: log,
		rooms: make(map[string]*roomStream),
		subs:  make(map[int]func(Event)),
	}
}

// subscribe registers fn for the ordered events of the hosted rooms. fn runs under the
// room's delivery lock: it must not block, and must not call back into the service.
func (st *streams) subscribe(fn func(Event)) (unsubscribe func()) {
	st.subsMu.Lock()
	id := st.nextID
	st.nextID++
	st.subs[id] = fn
	st.subsMu.Unlock()
	return func() {
		st.subsMu.Lock()
		delete(st.subs, id)
		st.subsMu.Unlock()
	}
}

// host makes the node host room (connID "" hosts it for linger only) and returns once its
// stream is positioned: every event of the room stored after host returns reaches the
// subscribers. added reports whether connID was not counted in the room yet (a caller that
// fails afterwards releases only what it added).
func (st *streams) host(ctx context.Context, room Room, connID string) (added bool, err error) {
	for {
		st.mu.Lock()
		rs := st.rooms[room.ID]
		switch {
		case rs == nil:
			rs = &roomStream{id: room.ID, namespace: room.Namespace, conns: map[string]struct{}{},
				ready: make(chan struct{}), early: map[int64]Event{}}
			st.rooms[room.ID] = rs
			added = st.addConn(rs, connID)
			st.mu.Unlock()
			st.start(ctx, rs)
			return added, st.afterStart(rs, connID)
		case rs.state == hostClosing:
			closed := rs.closed
			st.mu.Unlock()
			select {
			case <-closed:
				continue // unhosted: host it afresh
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
		added = st.addConn(rs, connID)
		ready := rs.ready
		st.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			if added {
				st.release(room.ID, connID)
			}
			return false, ctx.Err()
		}
		return added, st.afterStart(rs, connID)
	}
}

// addConn counts connID in rs, reporting whether it is new there, and stops a pending
// unhosting; streams.mu is held.
func (st *streams) addConn(rs *roomStream, connID string) bool {
	added := false
	if _, ok := rs.conns[connID]; connID != "" && !ok {
		rs.conns[connID] = struct{}{}
		added = true
	}
	st.disarm(&rs.lingering)
	if len(rs.conns) == 0 && rs.state == hostReady {
		st.lingerLocked(rs)
	}
	return added
}

// afterStart reports how hosting went; a room that could not be hosted is forgotten, so
// that the next join tries again.
func (st *streams) afterStart(rs *roomStream, connID string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if rs.err == nil {
		return nil
	}
	delete(rs.conns, connID)
	if st.rooms[rs.id] == rs {
		delete(st.rooms, rs.id)
	}
	return rs.err
}

// start subscribes to the room and positions its stream at the room's last stored Seq.
// Events that arrive between the two are held, and those at or before that Seq dropped.
func (st *streams) start(ctx context.Context, rs *roomStream) {
	err := st.broker.Host(ctx, rs.id)
	var last int64
	if err == nil {
		last, err = st.store.LastSeq(ctx, rs.id)
		if err != nil {
			st.unhostBroker(rs.id)
		}
	}
	if err == nil {
		rs.mu.Lock()
		rs.started, rs.next = true, last+1
		st.advance(rs)
		rs.mu.Unlock()
	}
	st.mu.Lock()
	rs.err = err
	if err == nil {
		rs.state = hostReady
		if len(rs.conns) == 0 {
			st.lingerLocked(rs)
		}
	}
	close(rs.ready)
	st.mu.Unlock()
}

// release forgets connID in the room; the room is unhosted linger after its last
// connection left.
func (st *streams) release(roomID, connID string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	rs := st.rooms[roomID]
	if rs == nil {
		return
	}
	delete(rs.conns, connID)
	if len(rs.conns) == 0 && rs.state == hostReady && rs.lingering == nil {
		st.lingerLocked(rs)
	}
}

// lingerLocked schedules rs's unhosting; streams.mu is held.
func (st *streams) lingerLocked(rs *roomStream) {
	if st.stopped.Load() {
		return
	}
	var t *time.Timer
	t = st.after(st.linger, func() {
		st.mu.Lock()
		if rs.lingering != t || len(rs.conns) > 0 || st.rooms[rs.id] != rs {
			st.mu.Unlock()
			return
		}
		rs.lingering = nil
		rs.state = hostClosing
		rs.closed = make(chan struct{})
		st.mu.Unlock()
		st.unhostBroker(rs.id)
		rs.mu.Lock()
		st.disarm(&rs.timer)
		rs.mu.Unlock()
		st.mu.Lock()
		delete(st.rooms, rs.id)
		close(rs.closed)
		st.mu.Unlock()
	})
	rs.lingering = t
}

// after runs fn after d on a timer counted in st.wg until fn has run or the timer is
// disarmed. Timers are armed under a lock that stop takes after setting stopped, so none
// is armed once stop waits.
func (st *streams) after(d time.Duration, fn func()) *time.Timer {
	st.wg.Add(1)
	return time.AfterFunc(d, func() {
		defer st.wg.Done()
		fn()
	})
}

// disarm stops *t, if armed, and clears it.
func (st *streams) disarm(t **time.Timer) {
	if *t != nil && (*t).Stop() {
		st.wg.Done()
	}
	*t = nil
}

func (st *streams) unhostBroker(roomID string) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := st.broker.Unhost(ctx, roomID); err != nil {
		st.log.Warn("unhost room", "room", roomID, "err", err)
	}
}

// resync checks every hosted room against the store and fills what it is missing. A broker
// that lost its connection for a while calls for it when it is back: the events published
// meanwhile are not coming, and a room that stays quiet afterwards would otherwise not notice
// its gap until its next message.
func (st *streams) resync(ctx context.Context) {
	st.mu.Lock()
	rooms := make([]*roomStream, 0, len(st.rooms))
	for _, rs := range st.rooms {
		if rs.state == hostReady {
			rooms = append(rooms, rs)
		}
	}
	st.mu.Unlock()
	for _, rs := range rooms {
		if ctx.Err() != nil {
			return
		}
		last, err := st.store.LastSeq(ctx, rs.id)
		if err != nil {
			st.log.Warn("resync a room", "room", rs.id, "err", err)
			continue
		}
		rs.mu.Lock()
		if rs.started && last >= rs.next {
			rs.ahead = max(rs.ahead, last)
			st.advance(rs)
		}
		rs.mu.Unlock()
	}
}

// delivered is the Seq of the last stored event of the room this node has delivered; ok is
// false when it does not host the room (or has not positioned it yet).
func (st *streams) delivered(roomID string) (seq int64, ok bool) {
	st.mu.Lock()
	rs := st.rooms[roomID]
	st.mu.Unlock()
	if rs == nil {
		return 0, false
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.next - 1, rs.started
}

// waitDelivered waits until the node has delivered the room's events up to seq, and returns
// the position it has delivered then. A stored event comes within the hold (or is read from
// the store), so the wait is short; ctx bounds it.
func (st *streams) waitDelivered(ctx context.Context, roomID string, seq int64) (int64, error) {
	for {
		got, ok := st.delivered(roomID)
		if !ok {
			return 0, errNotHosted
		}
		if got >= seq {
			return got, nil
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
}

var errNotHosted = errors.New("room not hosted on this node")

// hosts reports whether the node hosts the room now.
func (st *streams) hosts(roomID string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, ok := st.rooms[roomID]
	return ok
}

// receive is the broker's subscriber: it puts ev in its room's order.
func (st *streams) receive(ev Event) {
	st.mu.Lock()
	rs := st.rooms[ev.RoomID]
	st.mu.Unlock()
	if rs == nil {
		st.foreign.Add(1)
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if seq := storedSeq(ev); seq > 0 {
		if rs.started && seq < rs.next {
			st.dropped.Add(1)
			return
		}
		rs.early[seq] = ev
	} else {
		rs.waiting = append(rs.waiting, ev)
	}
	if rs.started {
		st.advance(rs)
	}
}

// storedSeq is the Seq of a stored event, 0 for an event that is not stored.
func storedSeq(ev Event) int64 {
	if (ev.Kind == EventMessage || ev.Kind == EventAlert) && ev.Message != nil {
		return ev.Message.Seq
	}
	return 0
}

// advance delivers what is due: the stored events from next on without a gap, and the
// waiting events whose After is reached. While a gap remains it keeps the hold timer armed.
// rs.mu is held.
func (st *streams) advance(rs *roomStream) {
	for {
		for seq := range rs.early {
			if seq < rs.next {
				delete(rs.early, seq) // before the stream's start, or filled meanwhile
				st.dropped.Add(1)
			}
		}
		st.releaseWaiting(rs)
		ev, ok := rs.early[rs.next]
		if !ok {
			break
		}
		delete(rs.early, rs.next)
		rs.next++
		rs.tries = 0
		st.deliver(ev)
	}
	st.releaseWaiting(rs)
	switch {
	case len(rs.early) == 0 && rs.ahead < rs.next:
		st.disarm(&rs.timer)
	case rs.timer == nil && !st.stopped.Load():
		rs.timer = st.after(st.holdFor(rs.tries), func() { st.fill(rs) })
	}
}

// holdFor is how long a gap waits before the store is asked (again): hold, then longer
// after fills that failed.
func (st *streams) holdFor(tries int) time.Duration {
	d := st.hold
	for range min(tries, 6) {
		d *= 2
	}
	return d
}

func (st *streams) releaseWaiting(rs *roomStream) {
	if len(rs.waiting) == 0 {
		return
	}
	kept := rs.waiting[:0]
	for _, ev := range rs.waiting {
		if ev.After < rs.next {
			st.deliver(ev)
		} else {
			kept = append(kept, ev)
		}
	}
	clear(rs.waiting[len(kept):])
	rs.waiting = kept
}

func (st *streams) deliver(ev Event) {
	st.subsMu.RLock()
	defer st.subsMu.RUnlock()
	for _, fn := range st.subs {
		fn(ev)
	}
}

// maxFill bounds one read of a gap; a longer gap is filled in several.
const maxFill = 500

// fill reads the events of the gap before the first held one from the store.
func (st *streams) fill(rs *roomStream) {
	rs.mu.Lock()
	rs.timer = nil
	if (len(rs.early) == 0 && rs.ahead < rs.next) || st.stopped.Load() {
		rs.mu.Unlock()
		return
	}
	from := rs.next
	upTo := rs.ahead + 1 // the first held Seq, or past the last one known to be stored
	for seq := range rs.early {
		if upTo <= from || seq < upTo {
			upTo = seq
		}
	}
	rs.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	msgs, err := st.store.Messages(ctx, MessageQuery{RoomID: rs.id, BySeq: true, AfterSeq: from - 1,
		Limit: int(min(upTo-from, maxFill))})

	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err != nil && !errors.Is(err, context.Canceled) {
		st.log.Warn("fill a gap from the store", "room", rs.id, "from", from, "err", err)
	}
	for _, m := range msgs {
		if m.Seq < rs.next {
			continue
		}
		if m.Seq > rs.next {
			// The store has nothing at next: those are gone (purged with their room).
			rs.next = m.Seq
		}
		if _, held := rs.early[m.Seq]; !held {
			m.Chatter = publicChatter(m.Chatter)
			rs.early[m.Seq] = Event{Kind: storedKind(m), RoomID: rs.id, Namespace: rs.namespace, Message: &m}
			st.filled.Add(1)
		}
		st.advance(rs)
	}
	if err != nil || len(msgs) == 0 {
		rs.tries++
	}
	st.advance(rs)
}

func storedKind(m Message) EventKind {
	if m.Type == TypeAlert {
		return EventAlert
	}
	return EventMessage
}

// stop ends every timer and waits for the work in flight. The rooms stay subscribed: the
// broker is closed after the service.
func (st *streams) stop() {
	st.mu.Lock()
	st.stopped.Store(true)
	rooms := make([]*roomStream, 0, len(st.rooms))
	for _, rs := range st.rooms {
		st.disarm(&rs.lingering)
		rooms = append(rooms, rs)
	}
	st.mu.Unlock()
	for _, rs := range rooms {
		rs.mu.Lock()
		st.disarm(&rs.timer)
		rs.mu.Unlock()
	}
	st.wg.Wait()
}
