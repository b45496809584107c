package chat

import (
	"context"
	"fmt"
)

// systemChatterID is the chatter of the expiry alert: the original client needs every
// message to embed a chatter.
const systemChatterID = "00000000-0000-0000-0000-000000000000"

// sweep expires the rooms past their expiry and purges those expired beyond Retention.
func (s *Service) sweep(ctx context.Context) {
	now := s.now()
	rooms, err := s.store.ExpiredRooms(ctx, now)
	if err != nil {
		s.log.Warn("list expired rooms", "err", err)
	}
	for _, r := range rooms {
		if ctx.Err() != nil {
			return
		}
		s.expireRoom(ctx, r)
	}
	n, err := s.store.PurgeRooms(ctx, now.Add(-s.cfg.Retention))
	if err != nil {
		s.log.Warn("purge rooms", "err", err)
	} else if n > 0 {
		s.log.Info("purged expired rooms", "rooms", n)
	}
}

// expireRoom marks a room expired and, if this call did it, tells its members: the expiry
// alert, then EventExpired (the gateway removes the room's sockets). Errors are logged:
// callers refuse the request as expired either way.
func (s *Service) expireRoom(ctx context.Context, r Room) {
	unlock := s.rooms.lock(r.ID)
	defer unlock()
	if err := s.doExpire(ctx, r); err != nil {
		s.log.Warn("expire room", "room", r.ID, "err", err)
	}
}

func (s *Service) doExpire(ctx context.Context, r Room) error {
	fresh, err := s.store.Room(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("reload room: %w", err)
	}
	if fresh.IsExpired {
		return nil
	}
	claimed, err := s.store.ClaimRoomExpiry(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("claim expiry: %w", err)
	}
	if !claimed {
		return nil // another node announces it
	}
	fresh.IsExpired = true
	s.roomCache.remove(r.ID)
	sys, err := s.systemChatter(ctx)
	if err != nil {
		return err
	}
	alert, err := s.appendAlert(ctx, fresh, sys, Alert{Kind: AlertExpire})
	if err != nil {
		return err
	}
	ev := Event{Kind: EventExpired, RoomID: r.ID, Namespace: r.Namespace, After: alert.Seq}
	if err := s.broker.Publish(ctx, ev); err != nil {
		return fmt.Errorf("publish expiry: %w", err)
	}
	return nil
}

// systemChatter loads (creating it the first time) the chatter of server alerts that
// belong to no one.
func (s *Service) systemChatter(ctx context.Context) (Chatter, error) {
	c, found, err := s.chatter(ctx, systemChatterID)
	if err != nil || found {
		return c, err
	}
	c = Chatter{ID: systemChatterID, Nickname: "system", CreatedAt: s.now()}
	if err := s.store.CreateChatter(ctx, c); err != nil {
		// Another node may have created it meanwhile.
		if again, found, err2 := s.chatter(ctx, systemChatterID); err2 == nil && found {
			return again, nil
		}
		return Chatter{}, fmt.Errorf("create system chatter: %w", err)
	}
	return c, nil
}
