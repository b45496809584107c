package chat

import (
	"context"
	"fmt"
)

// Rename changes a chatter's nickname and, in every room where it is active, stores and
// publishes the rename alert and the new online list.
func (s *Service) Rename(ctx context.Context, chatterID, token, nickname string) (Chatter, error) {
	if err := checkText("nickname", nickname, MaxNickname); err != nil {
		return Chatter{}, err
	}
	c, found, err := s.joiningChatter(ctx, chatterID) // the current nickname, not a cached one
	if err != nil {
		return Chatter{}, err
	}
	if !found {
		return Chatter{}, newError(CodeChatterNotFound, "")
	}
	if s.strict() && !tokenMatches(token, c.TokenHash) {
		return Chatter{}, newError(CodeForbidden, "")
	}
	if nickname == c.Nickname {
		return publicChatter(c), nil
	}
	old := c.Nickname
	renamed, err := s.store.RenameChatter(ctx, c.ID, nickname)
	if err != nil {
		return Chatter{}, fmt.Errorf("rename chatter: %w", err)
	}
	cached := c
	cached.Nickname = renamed.Nickname
	s.cacheChatter(cached)
	rooms, err := s.store.ActiveRooms(ctx, c.ID)
	if err != nil {
		return Chatter{}, fmt.Errorf("active rooms: %w", err)
	}
	for _, roomID := range rooms {
		room, err := s.room(ctx, roomID)
		if err != nil {
			return Chatter{}, err
		}
		if room.Expired(s.now()) {
			continue
		}
		if err := s.announceRename(ctx, room, renamed, old); err != nil {
			return Chatter{}, err
		}
	}
	return publicChatter(renamed), nil
}

// announceRename stores and publishes the rename alert, then the new online list.
func (s *Service) announceRename(ctx context.Context, room Room, renamed Chatter, old string) error {
	a := Alert{Kind: AlertRename, Nickname: old, NewNickname: renamed.Nickname}
	alert, err := s.appendAlert(ctx, room, renamed, a)
	if err != nil {
		return err
	}
	if err := s.publishOnline(ctx, room, alert.Seq); err != nil {
		s.log.Warn("publish online chatters", "room", room.ID, "err", err)
	}
	return nil
}
