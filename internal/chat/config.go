package chat

import (
	"crypto/rand"
	"fmt"
	"time"

	"colachat/internal/ratelimit"
)

// IdentityMode selects how strictly chatters prove who they are (docs/protocol.md).
type IdentityMode string

const (
	// IdentityStrict requires the chatter's token, and a password or ticket for a new
	// chatter in a password room.
	IdentityStrict IdentityMode = "strict"
	// IdentityCompat accepts the unmodified original client: no token, password or ticket.
	IdentityCompat IdentityMode = "compat"
)

// RateLimit is Burst events per Per.
type RateLimit = ratelimit.Rate

// Config tunes the service. Zero values take the defaults noted.
type Config struct {
	Identity IdentityMode  // strict (default) | compat
	Locale   string        // "ko" (default) | "en": language of server-made alert texts
	RoomTTL  time.Duration // room lifetime, 24h
	// MaxCapacity is the largest room a creator may ask for, DefaultMaxCapacity; at most
	// MaxCapacity.
	MaxCapacity int
	LeaveGrace  time.Duration // delay before a departed chatter's leave is final, 1s
	Retention   time.Duration // how long an expired room's messages are kept, 24h
	TicketTTL   time.Duration // access-check ticket lifetime, 5m
	SweepEvery  time.Duration // expiry/purge sweep period, 1s
	// AccessAttempts limits wrong passwords per room (access-check and join), 10 per minute.
	AccessAttempts RateLimit
	// TypingEvery is the minimum gap between relayed typing events per chatter and room, 2s.
	TypingEvery time.Duration
	// TicketKey signs access tickets; every node of a cluster needs the same key. Empty means
	// a random per-process key.
	TicketKey []byte
	// PasswordCost is the bcrypt cost of room password hashes, 10.
	PasswordCost int
	// GapHold is how long a room's message that arrives ahead of its turn waits for the ones
	// before it before they are read from the store, 100ms.
	GapHold time.Duration
	// HostLinger is how long a node keeps receiving a room's events after its last
	// connection there left, 30s: a reload or reconnect comes back at once.
	HostLinger time.Duration
	Now        func() time.Time // nil = time.Now
}

func (c Config) withDefaults() (Config, error) {
	switch c.Identity {
	case "":
		c.Identity = IdentityStrict
	case IdentityStrict, IdentityCompat:
	default:
		return c, fmt.Errorf("identity mode %q: want strict or compat", c.Identity)
	}
	switch c.Locale {
	case "":
		c.Locale = "ko"
	case "ko", "en":
	default:
		return c, fmt.Errorf("locale %q: want ko or en", c.Locale)
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	if c.MaxCapacity == 0 {
		c.MaxCapacity = DefaultMaxCapacity
	}
	if c.MaxCapacity < MinCapacity || c.MaxCapacity > MaxCapacity {
		return c, fmt.Errorf("max capacity %d: want %d to %d", c.MaxCapacity, MinCapacity, MaxCapacity)
	}
	setDur(&c.RoomTTL, 24*time.Hour)
	setDur(&c.LeaveGrace, time.Second)
	setDur(&c.Retention, 24*time.Hour)
	setDur(&c.TicketTTL, 5*time.Minute)
	setDur(&c.SweepEvery, time.Second)
	setDur(&c.TypingEvery, 2*time.Second)
	setDur(&c.GapHold, 100*time.Millisecond)
	setDur(&c.HostLinger, 30*time.Second)
	if !c.AccessAttempts.Enabled() {
		c.AccessAttempts = RateLimit{Burst: 10, Per: time.Minute}
	}
	if len(c.TicketKey) == 0 {
		c.TicketKey = make([]byte, 32)
		if _, err := rand.Read(c.TicketKey); err != nil {
			return c, fmt.Errorf("ticket key: %w", err)
		}
	}
	if c.PasswordCost == 0 {
		c.PasswordCost = 10
	}
	if c.PasswordCost < 4 || c.PasswordCost > 31 {
		return c, fmt.Errorf("password cost %d: want 4 to 31", c.PasswordCost)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
