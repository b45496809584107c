package chat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// SendInput is a socket's sendMessage or sendAlert. ChatterID is the socket's chatter for
// RoomID, "" when the socket has not joined it.
type SendInput struct {
	Namespace string
	RoomID    string
	ChatterID string
	Content   string
}

// renameNoticeWindow is how long after a rename the client may echo its notice (B5).
const renameNoticeWindow = 5 * time.Minute

// Send stores a chatter's message (the call returns after the commit) and publishes it.
func (s *Service) Send(ctx context.Context, in SendInput) (Message, error) {
	room, c, err := s.sender(ctx, in)
	if err != nil {
		return Message{}, err
	}
	m := Message{
		Type: TypeMessage, Content: in.Content, SentAt: s.now(),
		RoomID: room.ID, ChatterID: c.ID, Chatter: publicChatter(c),
	}
	// No lock from commit to publish: a room's messages share group commits, and every
	// node puts them back in Seq order (streams).
	return s.appendAndPublish(ctx, room, m, EventMessage)
}

// sender validates a send and loads its room and chatter.
func (s *Service) sender(ctx context.Context, in SendInput) (Room, Chatter, error) {
	if in.RoomID == "" {
		return Room{}, Chatter{}, newError(CodeBadRequest, "roomId: required")
	}
	if err := checkText("content", in.Content, MaxContent); err != nil {
		return Room{}, Chatter{}, err
	}
	room, err := s.room(ctx, in.RoomID)
	if err != nil {
		return Room{}, Chatter{}, err
	}
	if !sameNamespace(in.Namespace, room.Namespace) {
		return Room{}, Chatter{}, newError(CodeNamespaceMismatch, "")
	}
	if room.Expired(s.now()) {
		s.expireRoom(ctx, room)
		return Room{}, Chatter{}, newError(CodeRoomExpired, "")
	}
	if in.ChatterID == "" {
		return Room{}, Chatter{}, newError(CodeNotJoined, "")
	}
	c, found, err := s.userChatter(ctx, in.ChatterID)
	if err != nil {
		return Room{}, Chatter{}, err
	}
	if !found {
		return Room{}, Chatter{}, newError(CodeNotJoined, "")
	}
	return room, c, nil
}

// ClientAlert handles a client's sendAlert (B5): the rename notice the server already made
// for this chatter is accepted and not stored again; anything else is refused.
func (s *Service) ClientAlert(ctx context.Context, in SendInput) error {
	room, c, err := s.sender(ctx, in)
	if err != nil {
		return err
	}
	// The server's rename alert is in the store (whichever node made it): look for it
	// among the room's latest messages.
	recent, err := s.store.Messages(ctx, MessageQuery{RoomID: room.ID, Page: 1, Limit: 50})
	if err != nil {
		return fmt.Errorf("recent messages: %w", err)
	}
	since := s.now().Add(-renameNoticeWindow)
	for _, m := range recent {
		if m.Type != TypeAlert || m.ChatterID != c.ID || m.SentAt.Before(since) {
			continue
		}
		if m.Content == in.Content {
			if m.Alert == nil || m.Alert.Kind == AlertRename {
				return nil
			}
			continue
		}
		if m.Alert != nil && m.Alert.Kind == AlertRename && koreanRenameNotice(*m.Alert) == in.Content {
			return nil // the original client's Korean text while the server speaks English
		}
	}
	return newError(CodeAlertForbidden, "")
}

// Typing relays that a chatter is typing; at most one per TypingEvery per chatter and
// room, the rest are dropped silently. Nothing is stored.
func (s *Service) Typing(ctx context.Context, roomID, chatterID string) error {
	if roomID == "" {
		return newError(CodeBadRequest, "roomId: required")
	}
	if chatterID == "" {
		return newError(CodeNotJoined, "")
	}
	if !s.typingLimiter.Allow(roomID + "\x00" + chatterID) {
		return nil
	}
	room, err := s.room(ctx, roomID)
	if err != nil {
		return err
	}
	if room.Expired(s.now()) {
		return newError(CodeRoomExpired, "")
	}
	c, found, err := s.userChatter(ctx, chatterID)
	if err != nil {
		return err
	}
	if !found {
		return newError(CodeNotJoined, "")
	}
	ev := Event{Kind: EventTyping, RoomID: room.ID, Namespace: room.Namespace,
		Typing: &TypingEvent{ChatterID: c.ID, Nickname: c.Nickname}}
	if err := s.broker.Publish(ctx, ev); err != nil {
		return fmt.Errorf("publish typing: %w", err)
	}
	return nil
}

// Online lists the chatters online in a room, earliest arrival first.
func (s *Service) Online(ctx context.Context, roomID string) ([]Chatter, error) {
	if !validID(roomID) {
		return []Chatter{}, nil
	}
	ids, err := s.presence.Online(ctx, roomID)
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	if len(ids) == 0 {
		return []Chatter{}, nil
	}
	byID, err := s.chatters(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("online chatters: %w", err)
	}
	out := make([]Chatter, 0, len(ids))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, publicChatter(c))
		}
	}
	return out, nil
}

// bigRoom is the capacity above which a room's online list, which grows with the room and
// goes to everyone in it, is no longer broadcast at every change (see publishOnline) nor on
// every member's request (see RequestOnline). The original client never creates rooms above
// 16, so its rooms behave as it expects.
const bigRoom = 100

// onlineEvery is how often at most a big room's online list is broadcast while people come
// and go.
const onlineEvery = 2 * time.Second

// RequestOnline answers a member's returnChatters: a small room's online list is broadcast to
// the room (the original behaviour); a big room's is returned for the asker alone (list
// non-nil), since a broadcast of it on every request would cost the room its size squared.
func (s *Service) RequestOnline(ctx context.Context, roomID string) (list []Chatter, err error) {
	room, err := s.room(ctx, roomID)
	if err != nil {
		return nil, err
	}
	if room.Capacity > bigRoom {
		return s.Online(ctx, roomID)
	}
	return nil, s.publishOnline(ctx, room, 0)
}

// publishOnline broadcasts the room's online chatters once every node has delivered the
// room's stored events up to after (the alert that changed the list). A big room's changes
// are gathered: its list goes out at most every onlineEvery, as it is when it goes.
func (s *Service) publishOnline(ctx context.Context, room Room, after int64) error {
	if room.Capacity > bigRoom {
		s.scheduleOnline(room, after)
		return nil
	}
	return s.broadcastOnline(ctx, room, after)
}

func (s *Service) broadcastOnline(ctx context.Context, room Room, after int64) error {
	cs, err := s.Online(ctx, room.ID)
	if err != nil {
		return err
	}
	ev := Event{Kind: EventChatters, RoomID: room.ID, Namespace: room.Namespace, Chatters: cs, After: after}
	if err := s.broker.Publish(ctx, ev); err != nil {
		return fmt.Errorf("publish online chatters: %w", err)
	}
	return nil
}

// scheduleOnline broadcasts the room's list onlineEvery from the first change not yet
// broadcast, after the latest alert among the changes gathered meanwhile.
func (s *Service) scheduleOnline(room Room, after int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.onlineDue[room.ID]; ok {
		p.after = max(p.after, after)
		return
	}
	if s.stopping {
		return
	}
	p := &pendingOnline{after: after}
	s.onlineDue[room.ID] = p
	s.timers.Add(1)
	time.AfterFunc(onlineEvery, func() {
		defer s.timers.Done()
		s.mu.Lock()
		delete(s.onlineDue, room.ID)
		after := p.after
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := s.broadcastOnline(ctx, room, after); err != nil {
			s.log.Warn("publish online chatters", "room", room.ID, "err", err)
		}
	})
}

type pendingOnline struct{ after int64 }

// HistoryQuery asks for a window of a room's messages as a chatter sees them. Page (from 1,
// 20 a page) is the original paging; Before, After or Limit (1–100, default 50) make it a
// cursor instead.
type HistoryQuery struct {
	RoomID    string
	ChatterID string
	Token     string
	Page      int
	Before    int64
	After     int64
	// HasAfter says After was given: after=0 reads from the chatter's first message, while
	// a cursor without before or after reads the newest messages.
	HasAfter bool
	Limit    int
}

// History returns, oldest first, the messages the chatter may see: those from its first
// message (its join alert) in the room on.
func (s *Service) History(ctx context.Context, q HistoryQuery) ([]Message, error) {
	fromAfter := q.After != 0 || q.HasAfter
	cursor := q.Before != 0 || fromAfter || q.Limit != 0
	switch {
	case q.Before < 0 || q.After < 0:
		return nil, newError(CodeBadRequest, "before/after: must be positive")
	case q.Before > 0 && fromAfter:
		return nil, newError(CodeBadRequest, "before/after: at most one")
	case cursor && (q.Limit < 0 || q.Limit > 100):
		return nil, newError(CodeBadRequest, "limit: between 1 and 100")
	case !cursor && q.Page < 1:
		return nil, newError(CodeBadRequest, "page: from 1")
	}
	if q.ChatterID == "" {
		return []Message{}, nil
	}
	room, err := s.room(ctx, q.RoomID)
	if err != nil {
		return nil, err
	}
	if room.Expired(s.now()) {
		s.expireRoom(ctx, room)
		return nil, newError(CodeRoomExpired, "")
	}
	c, found, err := s.userChatter(ctx, q.ChatterID)
	if err != nil {
		return nil, err
	}
	if !found {
		return []Message{}, nil
	}
	if s.strict() && !tokenMatches(q.Token, c.TokenHash) {
		return nil, newError(CodeForbidden, "")
	}
	minID, err := s.store.FirstMessageID(ctx, room.ID, c.ID)
	if errors.Is(err, ErrNotFound) {
		return []Message{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("first message: %w", err)
	}
	mq := MessageQuery{RoomID: room.ID, MinID: minID}
	switch {
	case !cursor:
		mq.Page, mq.Limit = q.Page, 20
	case fromAfter:
		mq.After, mq.Limit = q.After, q.Limit
	default:
		mq.Before, mq.Limit = q.Before, q.Limit
		if mq.Before == 0 {
			mq.Before = math.MaxInt64
		}
	}
	if cursor && mq.Limit == 0 {
		mq.Limit = 50
	}
	ms, err := s.store.Messages(ctx, mq)
	if err != nil {
		return nil, fmt.Errorf("load messages: %w", err)
	}
	return publicMessages(ms), nil
}

// Resume is where a recovering connection's chatter picks up a room.
type Resume struct {
	RoomID    string
	ChatterID string
	AfterSeq  int64 // the last Seq the client has; 0 when it has none (from its join alert)
	UpToSeq   int64 // the last Seq to return (what follows comes live); 0: no bound
}

// Missed returns, room by room and each in Seq order, the messages after each resume point
// that its chatter may see (from its join alert on): connection state recovery. It stops
// once it has more than limit.
func (s *Service) Missed(ctx context.Context, from []Resume, limit int) ([]Message, error) {
	var out []Message
	for _, r := range from {
		if !validID(r.RoomID) || !validID(r.ChatterID) || r.AfterSeq < 0 {
			continue
		}
		minID, err := s.store.FirstMessageID(ctx, r.RoomID, r.ChatterID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("first message: %w", err)
		}
		if r.UpToSeq > 0 && r.UpToSeq <= r.AfterSeq {
			continue
		}
		n := limit + 1 - len(out)
		if r.UpToSeq > 0 {
			n = int(min(int64(n), r.UpToSeq-r.AfterSeq))
		}
		ms, err := s.store.Messages(ctx, MessageQuery{RoomID: r.RoomID, MinID: minID, BySeq: true,
			AfterSeq: r.AfterSeq, Limit: n})
		if err != nil {
			return nil, fmt.Errorf("missed messages: %w", err)
		}
		for _, m := range ms {
			if r.UpToSeq == 0 || m.Seq <= r.UpToSeq {
				out = append(out, m)
			}
		}
		if len(out) > limit {
			break
		}
	}
	return publicMessages(out), nil
}

func publicMessages(ms []Message) []Message {
	if ms == nil {
		return []Message{}
	}
	for i := range ms {
		ms[i].Chatter = publicChatter(ms[i].Chatter)
	}
	return ms
}
