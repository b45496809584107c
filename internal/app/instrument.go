package app

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"colachat/internal/chat"
	"colachat/internal/config"
)

// meter is what the app feeds its metrics; *metrics.Metrics is one.
type meter interface {
	ObserveCommit(d time.Duration)
	ObserveAck(d time.Duration)
	MessageIn()
	Middleware(next http.Handler) http.Handler
}

// instrumentedStore times every write that waits for a commit (an append, a join) and
// counts the chatters' messages.
type instrumentedStore struct {
	store
	m meter
}

func instrumentStore(s store, m meter) chat.Store {
	return instrumentedStore{store: s, m: m}
}

func (s instrumentedStore) AppendMessage(ctx context.Context, msg chat.Message) (chat.Message, error) {
	start := time.Now()
	stored, err := s.store.AppendMessage(ctx, msg)
	if err == nil {
		s.m.ObserveCommit(time.Since(start))
		if msg.Type == chat.TypeMessage {
			s.m.MessageIn()
		}
	}
	return stored, err
}

func (s instrumentedStore) RecordJoin(ctx context.Context, j chat.JoinRecord) (chat.RoomChatter, bool, *chat.Message, error) {
	start := time.Now()
	rc, first, alert, err := s.store.RecordJoin(ctx, j)
	if err == nil {
		s.m.ObserveCommit(time.Since(start))
	}
	return rc, first, alert, err
}

func exempt(cfg config.Config, ip netip.Addr) bool {
	return slices.ContainsFunc(cfg.RateLimitExempt, func(p netip.Prefix) bool { return p.Contains(ip) })
}
