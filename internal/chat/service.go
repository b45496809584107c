package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"colachat/internal/ratelimit"
)

// Service applies the Cola Chat rules (docs/contract.md parts A and B) over a Store, a
// Broker and a Presence. Safe for concurrent use.
type Service struct {
	cfg      Config
	store    Store
	broker   Broker
	presence Presence
	log      *slog.Logger

	accessLimiter *ratelimit.Limiter // wrong passwords per room
	typingLimiter *ratelimit.Limiter // relayed typing events per room and chatter

	rooms   keyedMutex // serializes joins and leaves per room on this node
	streams *streams   // the hosted rooms' events, in order

	// Caches spare the send, join and online paths a store read. A room never changes
	// until it expires, which time alone decides, so only unexpired rooms are served from
	// the cache. A chatter changes on rename (applied here, or from the rename alert another
	// node publishes) and on (de)activation (applied here; joins reread the store).
	roomCache    *genCache[string, Room]
	chatterCache *genCache[string, *Chatter] // pointers: a small map slot per chatter
	nameCache    *genCache[string, *roomNames]

	unsubscribe func() // the broker subscription, ended with Run

	mu        sync.Mutex
	pending   map[member]*time.Timer    // leaves waiting out their grace
	onlineDue map[string]*pendingOnline // big rooms' online lists gathering changes
	stopping  bool                      // Run has ended: leaves are final at once
	timers    sync.WaitGroup            // grace timers scheduled or running
}

type member struct{ roomID, chatterID string }

// Cache generations: rooms and chatters in use (about 5,000 rooms and 20,000 chatters on a
// full node) stay cached; the cache holds at most twice these.
const (
	roomCacheGen    = 8192
	chatterCacheGen = 32768
)

// opTimeout bounds the store and broker work done outside a caller's context (grace timers,
// the sweeper's alerts at shutdown).
const opTimeout = 10 * time.Second

// NewService checks cfg, fills in its defaults and returns the service.
func NewService(cfg Config, store Store, broker Broker, presence Presence, log *slog.Logger) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("chat config: %w", err)
	}
	if store == nil || broker == nil || presence == nil {
		return nil, errors.New("chat service: store, broker and presence are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, store: store, broker: broker, presence: presence, log: log,
		accessLimiter: ratelimit.New(cfg.AccessAttempts, ratelimit.Options{Now: cfg.Now}),
		typingLimiter: ratelimit.New(RateLimit{Burst: 1, Per: cfg.TypingEvery}, ratelimit.Options{Now: cfg.Now}),
		rooms:         keyedMutex{locks: make(map[string]*keyedLock)},
		roomCache:     newGenCache[string, Room](roomCacheGen),
		chatterCache:  newGenCache[string, *Chatter](chatterCacheGen),
		nameCache:     newGenCache[string, *roomNames](roomCacheGen),
		pending:       make(map[member]*time.Timer),
		onlineDue:     make(map[string]*pendingOnline),
	}
	s.streams = newStreams(broker, store, cfg.GapHold, cfg.HostLinger, log)
	s.streams.subscribe(s.observeNames) // for the service's life: it only touches a cache
	// Subscribed here rather than in Run, so that no event published once the service
	// exists is missed.
	s.unsubscribe = broker.Subscribe(func(ev Event) {
		s.observe(ev)
		s.streams.receive(ev)
	})
	return s, nil
}

// Subscribe registers fn for the events of the rooms this node hosts, each room's stored
// events once and in Seq order (see streams). fn runs under the room's delivery lock: it
// must not block and must not call the service.
func (s *Service) Subscribe(fn func(Event)) (unsubscribe func()) { return s.streams.subscribe(fn) }

// Host makes this node receive the room's events for a while (HostLinger) even without a
// connection of its own there, waits until it has delivered them up to the position at
// least, and returns the position it has delivered: a recovering connection, already
// subscribed to the room's live broadcasts, reads what it missed up to there, and what
// follows comes live, so nothing falls between the two and nothing comes twice.
func (s *Service) Host(ctx context.Context, roomID string, atLeast int64) (delivered int64, err error) {
	room, err := s.room(ctx, roomID)
	if err != nil {
		return 0, err
	}
	if _, err := s.streams.host(ctx, room, ""); err != nil {
		return 0, fmt.Errorf("host room: %w", err)
	}
	if last, err := s.store.LastSeq(ctx, roomID); err != nil {
		return 0, fmt.Errorf("last position: %w", err)
	} else if atLeast > last {
		return 0, newError(CodeBadRequest, "position: beyond the room's last message")
	}
	wctx, cancel := context.WithTimeout(ctx, deliverWait)
	defer cancel()
	delivered, err = s.streams.waitDelivered(wctx, roomID, atLeast)
	if err != nil {
		return 0, fmt.Errorf("room %s at position %d: %w", roomID, atLeast, err)
	}
	return delivered, nil
}

// deliverWait bounds how long Host waits for a room's live events to reach a position the
// store already has (a gap is read from the store after GapHold).
const deliverWait = 3 * time.Second

// Resync checks every room this node hosts against the store and delivers what it has not
// received: for a broker to call once it is connected again after events may have been lost.
func (s *Service) Resync(ctx context.Context) { s.streams.resync(ctx) }

// StreamStats counts what the ordering of the hosted rooms' events has done.
type StreamStats struct {
	Filled  int64 // stored events read from the store to fill a gap
	Dropped int64 // stored events received twice
	Foreign int64 // events received for rooms this node does not host
}

// StreamStats returns the counters since the service started.
func (s *Service) StreamStats() StreamStats {
	return StreamStats{Filled: s.streams.filled.Load(), Dropped: s.streams.dropped.Load(), Foreign: s.streams.foreign.Load()}
}

// Locale is the language of the server-made alerts.
func (s *Service) Locale() string { return s.cfg.Locale }

// Identity is the identity mode in force.
func (s *Service) Identity() IdentityMode { return s.cfg.Identity }

// Run does the background work: the expiry and purge sweep. When ctx ends it stops the
// sweep, ends the service's broker subscription (made by NewService), makes the leaves still
// in their grace final, and returns once every timer it owns has finished.
func (s *Service) Run(ctx context.Context) error {
	defer s.unsubscribe()
	defer s.streams.stop()
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.stop()
			return nil
		case <-t.C:
			s.sweep(ctx)
		}
	}
}

// stop turns every pending leave final now and waits for running timers.
func (s *Service) stop() {
	s.mu.Lock()
	s.stopping = true
	var due []member
	for m, t := range s.pending {
		// A timer that already fired stays listed: its callback finishes the leave.
		if t.Stop() {
			s.timers.Done()
			due = append(due, m)
			delete(s.pending, m)
		}
	}
	s.mu.Unlock()
	// In parallel, so their writes share the store's group commits: one at a time, a node
	// with thousands of members would take minutes to stop.
	var wg sync.WaitGroup
	work := make(chan member)
	for range min(len(due), stopWorkers) {
		wg.Go(func() {
			for m := range work {
				s.finishLeave(m)
			}
		})
	}
	for _, m := range due {
		work <- m
	}
	close(work)
	wg.Wait()
	s.timers.Wait()
}

// stopWorkers bounds the leaves made final at once when the service stops.
const stopWorkers = 64

func (s *Service) now() time.Time { return s.cfg.Now() }

func (s *Service) strict() bool { return s.cfg.Identity == IdentityStrict }

// room loads a room, turning a missing one into CodeRoomNotFound. An unexpired room comes
// from the cache; an expired one is always reread (it may have been marked or purged).
func (s *Service) room(ctx context.Context, id string) (Room, error) {
	if !validID(id) {
		return Room{}, newError(CodeRoomNotFound, "")
	}
	if r, ok := s.roomCache.get(id); ok && !r.Expired(s.now()) {
		return r, nil
	}
	r, err := s.store.Room(ctx, id)
	if errors.Is(err, ErrNotFound) {
		s.roomCache.remove(id)
		return Room{}, newError(CodeRoomNotFound, "")
	}
	if err != nil {
		return Room{}, fmt.Errorf("load room: %w", err)
	}
	if r.Expired(s.now()) {
		s.roomCache.remove(id)
	} else {
		s.roomCache.put(id, r)
	}
	return r, nil
}

// userChatter loads a chatter as a client names it: the system chatter is nobody's.
func (s *Service) userChatter(ctx context.Context, id string) (Chatter, bool, error) {
	if id == systemChatterID {
		return Chatter{}, false, nil
	}
	return s.chatter(ctx, id)
}

// chatter loads a chatter, from the cache when it is there; found is false for an unknown
// (or malformed) id.
func (s *Service) chatter(ctx context.Context, id string) (c Chatter, found bool, err error) {
	if !validID(id) {
		return Chatter{}, false, nil
	}
	if c, ok := s.cachedChatter(id); ok {
		return c, true, nil
	}
	return s.loadChatter(ctx, id)
}

// loadChatter reads a chatter from the store and refreshes the cache with it.
func (s *Service) loadChatter(ctx context.Context, id string) (c Chatter, found bool, err error) {
	if !validID(id) {
		return Chatter{}, false, nil
	}
	c, err = s.store.Chatter(ctx, id)
	if errors.Is(err, ErrNotFound) {
		s.chatterCache.remove(id)
		return Chatter{}, false, nil
	}
	if err != nil {
		return Chatter{}, false, fmt.Errorf("load chatter: %w", err)
	}
	s.cacheChatter(c)
	return c, true, nil
}

// chatters returns the chatters of ids that exist, by id, reading only the uncached ones
// from the store.
func (s *Service) chatters(ctx context.Context, ids []string) (map[string]Chatter, error) {
	byID := make(map[string]Chatter, len(ids))
	var missing []string
	for _, id := range ids {
		if c, ok := s.cachedChatter(id); ok {
			byID[id] = c
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return byID, nil
	}
	cs, err := s.store.Chatters(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("load chatters: %w", err)
	}
	for _, c := range cs {
		byID[c.ID] = c
		s.cacheChatter(c)
	}
	return byID, nil
}

// observe keeps the chatter cache in step with renames made on other nodes: their rename
// alerts embed the renamed chatter. It runs in the publisher's goroutine and only touches
// the cache.
func (s *Service) observe(ev Event) {
	if ev.Kind != EventAlert || ev.Message == nil || ev.Message.Alert == nil || ev.Message.Alert.Kind != AlertRename {
		return
	}
	nickname := ev.Message.Chatter.Nickname
	s.chatterCache.update(ev.Message.ChatterID, func(old *Chatter) *Chatter {
		c := *old // cached chatters are shared: replaced, never changed
		c.Nickname = nickname
		return &c
	})
}

func (s *Service) cacheChatter(c Chatter) { s.chatterCache.put(c.ID, &c) }

func (s *Service) cachedChatter(id string) (Chatter, bool) {
	if c, ok := s.chatterCache.get(id); ok {
		return *c, true
	}
	return Chatter{}, false
}

// publicChatter drops what must never leave the server.
func publicChatter(c Chatter) Chatter {
	c.TokenHash = nil
	return c
}

// appendAlert stores a server-made alert from chatter in room and publishes it.
func (s *Service) appendAlert(ctx context.Context, room Room, chatter Chatter, a Alert) (Message, error) {
	return s.appendAndPublish(ctx, room, s.alertMessage(room, chatter, a), EventAlert)
}

// alertMessage is the stored form of a server-made alert.
func (s *Service) alertMessage(room Room, chatter Chatter, a Alert) Message {
	return Message{
		Type: TypeAlert, Content: AlertText(a, s.cfg.Locale), SentAt: s.now(),
		RoomID: room.ID, ChatterID: chatter.ID, Chatter: publicChatter(chatter), Alert: &a,
	}
}

func (s *Service) appendAndPublish(ctx context.Context, room Room, m Message, kind EventKind) (Message, error) {
	stored, err := s.store.AppendMessage(ctx, m)
	if err != nil {
		return Message{}, fmt.Errorf("store message: %w", err)
	}
	stored.Chatter = publicChatter(m.Chatter)
	stored.Alert = m.Alert
	s.publishStored(ctx, room, stored, kind)
	return stored, nil
}

// publishStored tells every node about a committed message.
func (s *Service) publishStored(ctx context.Context, room Room, stored Message, kind EventKind) {
	out := stored
	if err := s.broker.Publish(ctx, Event{Kind: kind, RoomID: room.ID, Namespace: room.Namespace, Message: &out}); err != nil {
		// Stored: history and recovery still deliver it.
		s.log.Warn("publish message", "room", room.ID, "id", stored.ID, "err", err)
	}
}

// keyedMutex is a mutex per key, dropped when unused.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
