package chat

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// CreateRoomInput is a new room as the client asks for it.
type CreateRoomInput struct {
	Namespace  string
	Title      string
	Capacity   int
	IsPassword bool
	Password   string
}

// CreateRoom validates the input and stores a room that expires RoomTTL from now.
func (s *Service) CreateRoom(ctx context.Context, in CreateRoomInput) (Room, error) {
	if err := checkNamespace(in.Namespace); err != nil {
		return Room{}, err
	}
	if err := checkText("title", in.Title, MaxTitle); err != nil {
		return Room{}, err
	}
	if in.Capacity < MinCapacity || in.Capacity > s.cfg.MaxCapacity {
		return Room{}, newError(CodeBadRequest, fmt.Sprintf("capacity: between %d and %d", MinCapacity, s.cfg.MaxCapacity))
	}
	if in.IsPassword != (in.Password != "") {
		return Room{}, newError(CodeBadRequest, "password: required exactly when isPassword is true")
	}
	now := s.now()
	r := Room{
		ID: newUUID(), Title: in.Title, Namespace: in.Namespace, Capacity: in.Capacity,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.RoomTTL), IsPassword: in.IsPassword,
	}
	if in.IsPassword {
		if err := checkText("password", in.Password, MaxPassword); err != nil {
			return Room{}, err
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cfg.PasswordCost)
		if err != nil {
			return Room{}, fmt.Errorf("hash room password: %w", err)
		}
		r.PasswordHash = string(hash)
	}
	if err := s.store.CreateRoom(ctx, r); err != nil {
		return Room{}, fmt.Errorf("create room: %w", err)
	}
	s.roomCache.put(r.ID, r)
	s.nameCache.put(r.ID, newRoomNames(0)) // nobody has been in it: current until its first message
	return r, nil
}

// Rooms lists every room, newest first.
func (s *Service) Rooms(ctx context.Context) ([]Room, error) {
	rs, err := s.store.Rooms(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	return rs, nil
}

// RoomDetail returns a room with its memberships.
func (s *Service) RoomDetail(ctx context.Context, roomID string) (Room, []RoomChatter, error) {
	r, err := s.room(ctx, roomID)
	if err != nil {
		return Room{}, nil, err
	}
	rcs, err := s.store.RoomChatters(ctx, roomID)
	if err != nil {
		return Room{}, nil, fmt.Errorf("list room chatters: %w", err)
	}
	return r, rcs, nil
}

// OnlineCount is how many chatters are online in the room now: what its capacity counts.
func (s *Service) OnlineCount(ctx context.Context, roomID string) (int, error) {
	if !validID(roomID) {
		return 0, nil
	}
	ids, err := s.presence.Online(ctx, roomID)
	if err != nil {
		return 0, fmt.Errorf("presence: %w", err)
	}
	return len(ids), nil
}

// AccessCheck answers whether a new chatter may enter: allowed=false (no error) on a wrong
// or empty password; on success a ticket for Join, valid TicketTTL.
func (s *Service) AccessCheck(ctx context.Context, roomID, password string) (allowed bool, ticket string, err error) {
	r, err := s.room(ctx, roomID)
	if err != nil {
		return false, "", err
	}
	if r.Expired(s.now()) {
		s.expireRoom(ctx, r)
		return false, "", newError(CodeRoomExpired, "")
	}
	online, err := s.presence.Online(ctx, r.ID)
	if err != nil {
		return false, "", fmt.Errorf("online chatters: %w", err)
	}
	if len(online) >= r.Capacity {
		return false, "", newError(CodeRoomFull, "")
	}
	if r.IsPassword {
		if password == "" {
			return false, "", nil
		}
		ok, err := s.checkPassword(r, password)
		if err != nil || !ok {
			return false, "", err
		}
	}
	return true, makeTicket(s.cfg.TicketKey, r.ID, s.now().Add(s.cfg.TicketTTL)), nil
}

// checkPassword compares a password with the room's hash; wrong attempts are limited per room.
func (s *Service) checkPassword(r Room, password string) (bool, error) {
	if s.accessLimiter.Blocked(r.ID) {
		return false, newError(CodeRateLimited, "")
	}
	err := bcrypt.CompareHashAndPassword([]byte(r.PasswordHash), []byte(password))
	if err == nil {
		return true, nil
	}
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) || len(password) > 72 {
		s.accessLimiter.Allow(r.ID)
		return false, nil
	}
	return false, fmt.Errorf("check room password: %w", err)
}

// ReentryCheck reports whether the chatter is online in the room or within its leave grace
// (a page reload). Unknown or malformed ids (the client sends "undefined") are false.
func (s *Service) ReentryCheck(ctx context.Context, roomID, chatterID string) (bool, error) {
	if !validID(roomID) || !validID(chatterID) {
		return false, nil
	}
	s.mu.Lock()
	_, inGrace := s.pending[member{roomID, chatterID}]
	s.mu.Unlock()
	if inGrace {
		return true, nil
	}
	if m := s.leaveMarks(); m != nil {
		if left, err := m.HasLeft(ctx, roomID, chatterID); err == nil && left {
			return true, nil // in its grace after leaving through another node
		}
	}
	online, err := s.presence.IsOnline(ctx, roomID, chatterID)
	if err != nil {
		return false, fmt.Errorf("presence: %w", err)
	}
	return online, nil
}

// Limits are the input limits of this deployment, for clients that build their forms from
// them (GET /chat/limits).
type Limits struct {
	MinCapacity int `json:"minCapacity"`
	MaxCapacity int `json:"maxCapacity"`
	MaxTitle    int `json:"maxTitle"`
	MaxPassword int `json:"maxPassword"`
	MaxNickname int `json:"maxNickname"`
	MaxContent  int `json:"maxContent"`
}

// Limits returns this deployment's input limits.
func (s *Service) Limits() Limits {
	return Limits{MinCapacity: MinCapacity, MaxCapacity: s.cfg.MaxCapacity, MaxTitle: MaxTitle,
		MaxPassword: MaxPassword, MaxNickname: MaxNickname, MaxContent: MaxContent}
}
