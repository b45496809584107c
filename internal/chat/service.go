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

	rooms keyedMutex // serializes joins and leaves per room on this node

	mu       sync.Mutex
	pending  map[member]*time.Timer // leaves waiting out their grace
	stopping bool                   // Run has ended: leaves are final at once
	timers   sync.WaitGroup         // grace timers scheduled or running
}

type member struct{ roomID, chatterID string }

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
	return &Service{
		cfg: cfg, store: store, broker: broker, presence: presence, log: log,
		accessLimiter: ratelimit.New(cfg.AccessAttempts, ratelimit.Options{Now: cfg.Now}),
		typingLimiter: ratelimit.New(RateLimit{Burst: 1, Per: cfg.TypingEvery}, ratelimit.Options{Now: cfg.Now}),
		rooms:         keyedMutex{locks: make(map[string]*keyedLock)},
		pending:       make(map[member]*time.Timer),
	}, nil
}

// Locale is the language of the server-made alerts.
func (s *Service) Locale() string { return s.cfg.Locale }

// Identity is the identity mode in force.
func (s *Service) Identity() IdentityMode { return s.cfg.Identity }

// Run does the background work: the expiry and purge sweep. When ctx ends it stops the
// sweep, makes the leaves still in their grace final, and returns once every timer it
// owns has finished.
func (s *Service) Run(ctx context.Context) error {
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
	for _, m := range due {
		s.finishLeave(m)
	}
	s.timers.Wait()
}

func (s *Service) now() time.Time { return s.cfg.Now() }

func (s *Service) strict() bool { return s.cfg.Identity == IdentityStrict }

// room loads a room, turning a missing one into CodeRoomNotFound.
func (s *Service) room(ctx context.Context, id string) (Room, error) {
	if !validID(id) {
		return Room{}, newError(CodeRoomNotFound, "")
	}
	r, err := s.store.Room(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Room{}, newError(CodeRoomNotFound, "")
	}
	if err != nil {
		return Room{}, fmt.Errorf("load room: %w", err)
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

// chatter loads a chatter; found is false for an unknown (or malformed) id.
func (s *Service) chatter(ctx context.Context, id string) (c Chatter, found bool, err error) {
	if !validID(id) {
		return Chatter{}, false, nil
	}
	c, err = s.store.Chatter(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Chatter{}, false, nil
	}
	if err != nil {
		return Chatter{}, false, fmt.Errorf("load chatter: %w", err)
	}
	return c, true, nil
}

// publicChatter drops what must never leave the server.
func publicChatter(c Chatter) Chatter {
	c.TokenHash = nil
	return c
}

// appendAlert stores a server-made alert from chatter in room and publishes it.
func (s *Service) appendAlert(ctx context.Context, room Room, chatter Chatter, a Alert) (Message, error) {
	m := Message{
		Type: TypeAlert, Content: AlertText(a, s.cfg.Locale), SentAt: s.now(),
		RoomID: room.ID, ChatterID: chatter.ID, Chatter: publicChatter(chatter), Alert: &a,
	}
	return s.appendAndPublish(ctx, room, m, EventAlert)
}

func (s *Service) appendAndPublish(ctx context.Context, room Room, m Message, kind EventKind) (Message, error) {
	stored, err := s.store.AppendMessage(ctx, m)
	if err != nil {
		return Message{}, fmt.Errorf("store message: %w", err)
	}
	stored.Chatter = publicChatter(m.Chatter)
	stored.Alert = m.Alert
	out := stored
	if err := s.broker.Publish(ctx, Event{Kind: kind, RoomID: room.ID, Namespace: room.Namespace, Message: &out}); err != nil {
		// Stored: history and recovery still deliver it.
		s.log.Warn("publish message", "room", room.ID, "id", stored.ID, "err", err)
	}
	return stored, nil
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
