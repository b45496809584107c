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

// instrumentedStore times every append (it returns once the message is committed) and
// counts the chatters' messages.
type instrumentedStore struct {
	chat.Store
	m meter
}

func instrumentStore(s chat.Store, m meter) chat.Store {
	is := instrumentedStore{Store: s, m: m}
	if c, ok := s.(chat.ExpiryClaimer); ok {
		return claimingStore{is, c} // keep the optional method visible to the service
	}
	return is
}

// claimingStore is an instrumentedStore over a store that can claim an expiry.
type claimingStore struct {
	instrumentedStore
	claimer chat.ExpiryClaimer
}

func (s claimingStore) ClaimRoomExpiry(ctx context.Context, id string) (bool, error) {
	return s.claimer.ClaimRoomExpiry(ctx, id)
}

func (s instrumentedStore) AppendMessage(ctx context.Context, msg chat.Message) (chat.Message, error) {
	start := time.Now()
	stored, err := s.Store.AppendMessage(ctx, msg)
	if err == nil {
		s.m.ObserveCommit(time.Since(start))
		if msg.Type == chat.TypeMessage {
			s.m.MessageIn()
		}
	}
	return stored, err
}

func exempt(cfg config.Config, ip netip.Addr) bool {
	return slices.ContainsFunc(cfg.RateLimitExempt, func(p netip.Prefix) bool { return p.Contains(ip) })
}
