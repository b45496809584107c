package chat

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// JoinInput is a socket's joinRoom. ConnID is the socket's id, unique across nodes.
type JoinInput struct {
	Namespace string // the socket's namespace; leading slashes are ignored
	RoomID    string
	ChatterID string // "" for a new chatter
	Token     string
	Password  string
	Ticket    string
	ConnID    string
	// Locale is the joiner's language ("ko", "en"; "" is the server's): a new chatter's
	// nickname is drawn in it.
	Locale string
	// Resume restores a membership this connection held before a short connection loss
	// (Socket.IO recovery): the gateway vouches for it, so no token, password or ticket is
	// checked. The chatter must exist; expiry and capacity still apply.
	Resume bool
	// Admitted, when set, is called once the chatter is admitted (capacity taken and
	// membership recorded) and before the join alert and online list are published: the
	// gateway joins the socket to the room there, so the joiner receives both. It runs
	// under the service's room lock and must not call the service.
	Admitted func(c Chatter)
}

// Join admits a socket into a room as a new or returning chatter (contract A joinRoom, B2,
// B3, B4). token is the chatter's secret: a new chatter gets a new one; a returning chatter
// gets back the one it presented ("" when it presented none, in compat mode or on a resume:
// the store keeps only a hash). An unknown ChatterID is CodeChatterNotFound in strict mode;
// compat mode makes a new chatter, as the original did for a stale id.
func (s *Service) Join(ctx context.Context, in JoinInput) (c Chatter, token string, err error) {
	if in.ConnID == "" {
		return Chatter{}, "", newError(CodeBadRequest, "connection id: required")
	}
	if in.RoomID == "" {
		return Chatter{}, "", newError(CodeBadRequest, "roomId: required")
	}
	room, err := s.room(ctx, in.RoomID)
	if err != nil {
		return Chatter{}, "", err
	}
	if !sameNamespace(in.Namespace, room.Namespace) {
		return Chatter{}, "", newError(CodeNamespaceMismatch, "")
	}
	if room.Expired(s.now()) {
		s.expireRoom(ctx, room)
		return Chatter{}, "", newError(CodeRoomExpired, "")
	}

	existing, found, err := s.joiningChatter(ctx, in.ChatterID)
	if err != nil {
		return Chatter{}, "", err
	}
	if !found && in.ChatterID != "" && (s.strict() || in.Resume) {
		return Chatter{}, "", newError(CodeChatterNotFound, "")
	}
	beenHere := in.Resume
	if found && !in.Resume {
		if s.strict() && !tokenMatches(in.Token, existing.TokenHash) {
			return Chatter{}, "", newError(CodeForbidden, "")
		}
		if tokenMatches(in.Token, existing.TokenHash) {
			token = in.Token
		}
		if room.IsPassword && s.strict() {
			if beenHere, err = s.hasBeenInRoom(ctx, room.ID, existing.ID); err != nil {
				return Chatter{}, "", err
			}
		}
	}
	if room.IsPassword && s.strict() && !beenHere {
		if err := s.admitToPasswordRoom(room, in.Password, in.Ticket); err != nil {
			return Chatter{}, "", err
		}
	}

	// Hosted before anything is written, so that this node delivers the join alert and all
	// that follows it.
	hosted, err := s.streams.host(ctx, room, in.ConnID)
	if err != nil {
		return Chatter{}, "", fmt.Errorf("host room: %w", err)
	}
	defer func() {
		if err != nil && hosted {
			s.streams.release(room.ID, in.ConnID)
		}
	}()

	unlock := s.rooms.lock(room.ID)
	defer unlock()

	var fresh bool // a chatter created by this join
	if found {
		c = existing
	} else {
		fresh = true
		token = newToken()
		c = Chatter{ID: newUUID(), TokenHash: hashToken(token), CreatedAt: s.now(), IsActive: true}
	}
	key := member{room.ID, c.ID}
	g := s.takeGrace(ctx, key)
	wasOnline := false
	if !fresh {
		if wasOnline, err = s.presence.IsOnline(ctx, room.ID, c.ID); err != nil {
			s.restoreGrace(key, g)
			return Chatter{}, "", fmt.Errorf("presence: %w", err)
		}
	}
	added, err := s.presence.TryAdd(ctx, room.ID, c.ID, in.ConnID, room.Capacity)
	if err != nil {
		s.restoreGrace(key, g)
		return Chatter{}, "", fmt.Errorf("presence: %w", err)
	}
	if !added {
		s.restoreGrace(key, g)
		return Chatter{}, "", newError(CodeRoomFull, "")
	}
	announce := !wasOnline && !g.pending()
	c, alert, err := s.recordJoin(ctx, room, c, fresh, announce, in.Locale)
	if err != nil {
		s.undoAdd(room.ID, c.ID, in.ConnID)
		if !wasOnline {
			s.restoreGrace(key, g)
		}
		return Chatter{}, "", err
	}
	if in.Admitted != nil {
		in.Admitted(publicChatter(c))
	}
	var after int64
	if alert != nil { // stored with the join; told now that the socket is in the room
		s.publishStored(ctx, room, *alert, EventAlert)
		after = alert.Seq
	}
	if err := s.publishOnline(ctx, room, after); err != nil {
		s.log.Warn("publish online chatters", "room", room.ID, "err", err)
	}
	return publicChatter(c), token, nil
}

// recordJoin creates a new chatter (with a nickname no one in the room has, in the joiner's
// locale) or reactivates an existing one, and records the membership, in one store write that
// also stores the join alert when the join is announced; the stored alert is returned for the
// caller to publish. The room lock is held.
func (s *Service) recordJoin(ctx context.Context, room Room, c Chatter, fresh, announce bool, locale string) (Chatter, *Message, error) {
	if fresh {
		nickname, err := s.newNickname(ctx, room.ID, c.ID, locale)
		if err != nil {
			return c, nil, err
		}
		c.Nickname = nickname
	}
	j := JoinRecord{RoomID: room.ID, ChatterID: c.ID, At: s.now(), Reactivate: !fresh && !c.IsActive}
	if fresh {
		created := c
		j.NewChatter = &created
	}
	c.IsActive = true
	if announce {
		m := s.alertMessage(room, c, Alert{Kind: AlertJoin, Nickname: c.Nickname})
		j.Alert = &m
	}
	_, _, stored, err := s.store.RecordJoin(ctx, j)
	if err != nil {
		return c, nil, fmt.Errorf("record join: %w", err)
	}
	if fresh || j.Reactivate {
		s.cacheChatter(c)
	}
	if stored != nil {
		stored.Chatter = publicChatter(c)
		stored.Alert = j.Alert.Alert
	}
	return c, stored, nil
}

// joiningChatter reads the chatter a join names from the store, not the cache: a join is
// where a chatter renamed or deactivated by another node while away is seen afresh.
func (s *Service) joiningChatter(ctx context.Context, id string) (Chatter, bool, error) {
	if id == systemChatterID {
		return Chatter{}, false, nil
	}
	return s.loadChatter(ctx, id)
}

// hasBeenInRoom reports whether the chatter has a membership record in the room. A chatter
// online there or within its leave grace on this node has one: no store read is needed.
func (s *Service) hasBeenInRoom(ctx context.Context, roomID, chatterID string) (bool, error) {
	s.mu.Lock()
	_, inGrace := s.pending[member{roomID, chatterID}]
	s.mu.Unlock()
	if inGrace {
		return true, nil
	}
	if online, err := s.presence.IsOnline(ctx, roomID, chatterID); err == nil && online {
		return true, nil
	}
	_, err := s.store.FirstMessageID(ctx, roomID, chatterID)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("first message: %w", err)
	}
	rcs, err := s.store.RoomChatters(ctx, roomID)
	if err != nil {
		return false, fmt.Errorf("list room chatters: %w", err)
	}
	for _, rc := range rcs {
		if rc.ChatterID == chatterID {
			return true, nil
		}
	}
	return false, nil
}

// admitToPasswordRoom checks a new chatter's password or ticket.
func (s *Service) admitToPasswordRoom(room Room, password, ticket string) error {
	if ticket != "" && ticketValid(s.cfg.TicketKey, room.ID, ticket, s.now()) {
		return nil
	}
	if password == "" {
		return newError(CodePasswordRequired, "")
	}
	ok, err := s.checkPassword(room, password)
	if err != nil {
		return err
	}
	if !ok {
		return newError(CodeWrongPassword, "")
	}
	return nil
}

// undoAdd gives back the capacity taken by a join that failed afterwards.
func (s *Service) undoAdd(roomID, chatterID, connID string) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := s.presence.Remove(ctx, roomID, chatterID, connID); err != nil {
		s.log.Warn("undo presence", "room", roomID, "chatter", chatterID, "err", err)
	}
}

// Leave is a socket leaving a room (leaveRoom or disconnect). When the chatter has no
// socket left there, its leave becomes final after LeaveGrace unless it rejoins first.
func (s *Service) Leave(ctx context.Context, roomID, chatterID, connID string) error {
	if !validID(roomID) || !validID(chatterID) || connID == "" {
		return nil
	}
	unlock := s.rooms.lock(roomID)
	s.streams.release(roomID, connID)
	stillOnline, err := s.presence.Remove(ctx, roomID, chatterID, connID)
	if err != nil {
		unlock()
		return fmt.Errorf("presence: %w", err)
	}
	if stillOnline {
		unlock()
		return nil
	}
	key := member{roomID, chatterID}
	if m := s.leaveMarks(); m != nil {
		// Marked before the timer starts, so the node a reload lands on sees the grace.
		if err := m.MarkLeft(ctx, roomID, chatterID, s.cfg.LeaveGrace+markSlack); err != nil {
			s.log.Warn("mark leave", "room", roomID, "chatter", chatterID, "err", err)
		}
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		unlock()
		s.finishLeave(key)
		return nil
	}
	s.scheduleLeave(key, s.cfg.LeaveGrace)
	s.mu.Unlock()
	unlock()
	return nil
}

// scheduleLeave (re)starts key's grace timer; s.mu is held.
func (s *Service) scheduleLeave(key member, after time.Duration) {
	if old := s.pending[key]; old != nil && old.Stop() {
		s.timers.Done()
	}
	s.timers.Add(1)
	var t *time.Timer
	t = time.AfterFunc(after, func() {
		defer s.timers.Done()
		s.mu.Lock()
		current := s.pending[key] == t
		if current {
			delete(s.pending, key)
		}
		s.mu.Unlock()
		if current {
			s.finishLeave(key)
		}
	})
	s.pending[key] = t
}

// cancelLeave stops key's pending leave and reports whether there was one.
func (s *Service) cancelLeave(key member) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.pending[key]
	if !ok {
		return false
	}
	delete(s.pending, key)
	if t.Stop() {
		s.timers.Done()
	}
	return true
}

// resumeLeave puts back a leave cancelled by a join that then failed.
func (s *Service) resumeLeave(key member, wasPending bool) {
	if !wasPending {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return
	}
	s.scheduleLeave(key, 0)
}

// finishLeave makes a chatter's leave final unless it came back: membership closed, chatter
// inactive when it is in no other room, leave alert, online list.
func (s *Service) finishLeave(key member) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	unlock := s.rooms.lock(key.roomID)
	defer unlock()
	if err := s.doLeave(ctx, key); err != nil {
		s.log.Warn("finish leave", "room", key.roomID, "chatter", key.chatterID, "err", err)
	}
}

func (s *Service) doLeave(ctx context.Context, key member) error {
	if m := s.leaveMarks(); m != nil {
		took, err := m.TakeLeft(ctx, key.roomID, key.chatterID)
		if err != nil {
			s.log.Warn("take leave mark", "room", key.roomID, "chatter", key.chatterID, "err", err)
		} else if !took {
			return nil // a join on another node took the mark: the chatter is back
		}
	}
	return s.finalLeave(ctx, key)
}

// Departed makes final the leave of a chatter whose sockets were all on a node that died
// (no grace timer runs for them anywhere): the node that noticed records it, announces it and
// publishes the online list, unless the chatter is back meanwhile.
func (s *Service) Departed(ctx context.Context, roomID, chatterID string) error {
	if !validID(roomID) || !validID(chatterID) {
		return nil
	}
	unlock := s.rooms.lock(roomID)
	defer unlock()
	return s.finalLeave(ctx, member{roomID, chatterID})
}

// finalLeave records a leave and tells the room, unless the chatter is online again. The
// room lock is held.
func (s *Service) finalLeave(ctx context.Context, key member) error {
	online, err := s.presence.IsOnline(ctx, key.roomID, key.chatterID)
	if err != nil {
		return fmt.Errorf("presence: %w", err)
	}
	if online { // back through another node or socket
		return nil
	}
	room, err := s.room(ctx, key.roomID)
	if CodeOf(err) == CodeRoomNotFound {
		return nil // purged meanwhile: nothing left to record
	}
	if err != nil {
		return err
	}
	c, found, err := s.chatter(ctx, key.chatterID)
	if err != nil || !found {
		return err
	}
	if err := s.store.LeaveRoom(ctx, room.ID, c.ID, s.now()); err != nil {
		return fmt.Errorf("record leave: %w", err)
	}
	active, err := s.store.ActiveRooms(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("active rooms: %w", err)
	}
	if len(active) == 0 {
		// Written even when the cached chatter says inactive: another node may have
		// activated it since.
		if err := s.store.SetChatterActive(ctx, c.ID, false); err != nil {
			return fmt.Errorf("deactivate chatter: %w", err)
		}
		c.IsActive = false
		s.chatterCache.remove(c.ID) // in no room: its next join reads it again
	}
	if room.Expired(s.now()) { // the room's members were told by the expiry alert
		return nil
	}
	alert, err := s.appendAlert(ctx, room, c, Alert{Kind: AlertLeave, Nickname: c.Nickname})
	if err != nil {
		return err
	}
	return s.publishOnline(ctx, room, alert.Seq)
}

// markSlack keeps a leave mark well past the grace, so a slow timer still finds its own mark;
// the node that makes the leave final deletes it.
const markSlack = 30 * time.Second

// leaveMarks is the cluster-wide view of leave graces, when the presence offers one.
func (s *Service) leaveMarks() LeaveMarks {
	m, _ := s.presence.(LeaveMarks)
	return m
}

// graceTaken says what a join cancelled: a leave pending on this node, and whether it took
// the chatter's cluster-wide leave mark (set by whichever node the chatter left).
type graceTaken struct{ local, mark bool }

func (g graceTaken) pending() bool { return g.local || g.mark }

// takeGrace cancels key's pending leave wherever it was scheduled.
func (s *Service) takeGrace(ctx context.Context, key member) graceTaken {
	g := graceTaken{local: s.cancelLeave(key)}
	if m := s.leaveMarks(); m != nil {
		took, err := m.TakeLeft(ctx, key.roomID, key.chatterID)
		if err != nil {
			s.log.Warn("take leave mark", "room", key.roomID, "chatter", key.chatterID, "err", err)
		}
		g.mark = took
	}
	return g
}

// restoreGrace puts back what takeGrace cancelled, for a join that then failed: the leave
// goes ahead (here at once, or on the node that scheduled it, which finds its mark again).
func (s *Service) restoreGrace(key member, g graceTaken) {
	if g.mark {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := s.leaveMarks().MarkLeft(ctx, key.roomID, key.chatterID, s.cfg.LeaveGrace+markSlack); err != nil {
			s.log.Warn("restore leave mark", "room", key.roomID, "chatter", key.chatterID, "err", err)
		}
	}
	s.resumeLeave(key, g.local)
}
