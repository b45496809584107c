package chat

import (
	"context"
	"fmt"
	"slices"
)

// Rename changes a chatter's nickname and, in every room where it is active, stores and
// publishes the rename alert and the new online list. A nickname another member of one of
// those rooms has (roomNames) is refused with CodeNicknameTaken.
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
	rooms, err := s.store.ActiveRooms(ctx, c.ID)
	if err != nil {
		return Chatter{}, fmt.Errorf("active rooms: %w", err)
	}
	renamed, err := s.renameIfFree(ctx, c, rooms, nickname)
	if err != nil {
		return Chatter{}, err
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

// renameIfFree stores the new nickname unless someone else in one of the rooms holds it.
// The rooms' locks (taken in one order, so two renames cannot deadlock) keep joins and
// renames of those rooms on this node from taking the name meanwhile.
func (s *Service) renameIfFree(ctx context.Context, c Chatter, rooms []string, nickname string) (Chatter, error) {
	for _, id := range slices.Sorted(slices.Values(rooms)) {
		unlock := s.rooms.lock(id)
		defer unlock()
	}
	names := make([]*roomNames, len(rooms))
	for i, id := range rooms {
		n, err := s.names(ctx, id)
		if err != nil {
			return Chatter{}, err
		}
		if n.heldByOther(c.ID, nickname) {
			return Chatter{}, newError(CodeNicknameTaken, "")
		}
		names[i] = n
	}
	renamed, err := s.store.RenameChatter(ctx, c.ID, nickname)
	if err != nil {
		return Chatter{}, fmt.Errorf("rename chatter: %w", err)
	}
	for _, n := range names {
		n.note(c.ID, renamed.Nickname)
	}
	cached := c
	cached.Nickname = renamed.Nickname
	s.cacheChatter(cached)
	return renamed, nil
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
