// Package storetest is the one suite every Store implementation must pass. A store's
// own test calls Run with a function that opens a fresh, empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) Store { return openEmpty(t) },
//			storetest.WithReopen(reopen))
//	}
//
// The suite closes every store it is given. Without WithReopen the subtests that check what
// survives Close are skipped.
//
// Where Store's comments leave a choice open, the suite fixes it:
//   - times come back in UTC, truncated to the millisecond;
//   - Chatters skips unknown ids (the order of its result is free);
//   - RecordJoin of a missing room or chatter fails; rejoining sets JoinedAt anew and clears
//     LeftAt; LeaveRoom without a membership wraps chat.ErrNotFound;
//   - RoomChatters lists memberships in the order they began, inactive ones included;
//   - AppendMessage to a missing room fails without failing the appends that share its
//     transaction, and returns m.Chatter as the caller passed it; a cancelled context is
//     refused and nothing is stored;
//   - of several claims of one expiry exactly one is granted; PurgeRooms keeps the chatters;
//   - Seq counts each room's messages from 1 without a gap, in the order of their ids.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"colachat/internal/chat"
)

// Option adds a capability of the store under test to the suite.
type Option func(*harness)

// WithReopen gives the suite a way to open again, over the same data, a store it has
// closed; the subtests on Close and restarts need it.
func WithReopen(reopen func(t *testing.T, closed Store) Store) Option {
	return func(h *harness) { h.reopen = reopen }
}

type harness struct {
	open   func(t *testing.T) Store
	reopen func(t *testing.T, closed Store) Store
}

// Run runs every subtest against stores made by open; each call of open must return a new,
// empty store.
func Run(t *testing.T, open func(t *testing.T) Store, opts ...Option) {
	h := &harness{open: open}
	for _, opt := range opts {
		opt(h)
	}
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Rooms", roomTests},
		{"Chatters", chatterTests},
		{"Membership", memberTests},
		{"Messages", messageTests},
		{"Positions", positionTests},
		{"Writes", writeTests},
		{"Lifecycle", lifecycleTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) { st.run(t, h) })
			}
		})
	}
}

type subtest struct {
	name string
	run  func(t *testing.T, h *harness)
}

// fixture is one subtest's store and the helpers that fill it.
type fixture struct {
	t   *testing.T
	s   Store
	ctx context.Context
}

// base is a fixed instant at millisecond precision, what a stored time comes back as.
var base = time.Date(2024, 9, 18, 18, 39, 3, 0, time.UTC)

// newFixture opens a store that the suite closes when the subtest ends.
func (h *harness) newFixture(t *testing.T) *fixture {
	t.Helper()
	s := h.open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &fixture{t: t, s: s, ctx: t.Context()}
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// room stores a room created at created, expiring a day later, changed by edit.
func (f *fixture) room(created time.Time, edit ...func(*chat.Room)) chat.Room {
	f.t.Helper()
	r := chat.Room{
		ID:        newID(),
		Title:     "room " + created.Format(time.TimeOnly),
		Namespace: "anonymous",
		Capacity:  8,
		CreatedAt: created,
		ExpiresAt: created.Add(24 * time.Hour),
	}
	for _, e := range edit {
		e(&r)
	}
	if err := f.s.CreateRoom(f.ctx, r); err != nil {
		f.t.Fatalf("CreateRoom: %v", err)
	}
	return r
}

func (f *fixture) chatter(nickname string) chat.Chatter {
	f.t.Helper()
	token := make([]byte, 32)
	rand.Read(token)
	c := chat.Chatter{ID: newID(), Nickname: nickname, TokenHash: token, CreatedAt: base, IsActive: true}
	if err := f.s.CreateChatter(f.ctx, c); err != nil {
		f.t.Fatalf("CreateChatter: %v", err)
	}
	return c
}

func (f *fixture) join(r chat.Room, c chat.Chatter, at time.Time) chat.RoomChatter {
	f.t.Helper()
	rc, _, err := JoinRoom(f.ctx, f.s, r.ID, c.ID, at)
	if err != nil {
		f.t.Fatalf("JoinRoom: %v", err)
	}
	return rc
}

func message(r chat.Room, c chat.Chatter, content string) chat.Message {
	return chat.Message{Type: chat.TypeMessage, Content: content, SentAt: base, RoomID: r.ID, ChatterID: c.ID, Chatter: c}
}

func (f *fixture) append(m chat.Message) chat.Message {
	f.t.Helper()
	got, err := f.s.AppendMessage(f.ctx, m)
	if err != nil {
		f.t.Fatalf("AppendMessage: %v", err)
	}
	return got
}

// appendN appends n messages "<prefix> 0" ... and returns them in order.
func (f *fixture) appendN(r chat.Room, c chat.Chatter, prefix string, n int) []chat.Message {
	f.t.Helper()
	out := make([]chat.Message, n)
	for i := range out {
		out[i] = f.append(message(r, c, fmt.Sprintf("%s %d", prefix, i)))
	}
	return out
}

// allMessages reads the whole room with the After cursor.
func (f *fixture) allMessages(roomID string) []chat.Message {
	f.t.Helper()
	return allMessages(f.t, f.s, roomID)
}

func allMessages(t *testing.T, s Store, roomID string) []chat.Message {
	t.Helper()
	var all []chat.Message
	after := int64(0)
	for {
		page, err := s.Messages(t.Context(), chat.MessageQuery{RoomID: roomID, After: after, Limit: 100})
		if err != nil {
			t.Fatalf("Messages(after %d): %v", after, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
}

func ids(ms []chat.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("%s: got error %v, want one wrapping chat.ErrNotFound", what, err)
	}
}

// diffs collects field mismatches as "field: got X, want Y".
type diffs []string

func field[T comparable](d *diffs, name string, got, want T) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s: got %v, want %v", name, got, want))
	}
}

// when checks a stored time: the same instant at millisecond precision, in UTC.
func (d *diffs) when(name string, got, want time.Time) {
	want = want.Truncate(time.Millisecond)
	if !got.Equal(want) || got.Location() != time.UTC {
		*d = append(*d, fmt.Sprintf("%s: got %s, want %s", name, got.Format(time.RFC3339Nano+" MST"),
			want.UTC().Format(time.RFC3339Nano+" MST")))
	}
}

func (d *diffs) whenPtr(name string, got, want *time.Time) {
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		*d = append(*d, fmt.Sprintf("%s: got %v, want %v", name, got, want))
	default:
		d.when(name, *got, *want)
	}
}

func (d *diffs) report(t *testing.T, what string) {
	t.Helper()
	for _, s := range *d {
		t.Errorf("%s: %s", what, s)
	}
}

func diffRoom(got, want chat.Room) diffs {
	var d diffs
	field(&d, "ID", got.ID, want.ID)
	field(&d, "Title", got.Title, want.Title)
	field(&d, "Namespace", got.Namespace, want.Namespace)
	field(&d, "PasswordHash", got.PasswordHash, want.PasswordHash)
	field(&d, "Capacity", got.Capacity, want.Capacity)
	d.when("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.when("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	field(&d, "IsPassword", got.IsPassword, want.IsPassword)
	field(&d, "IsExpired", got.IsExpired, want.IsExpired)
	return d
}

func diffChatter(got, want chat.Chatter) diffs {
	var d diffs
	field(&d, "ID", got.ID, want.ID)
	field(&d, "Nickname", got.Nickname, want.Nickname)
	field(&d, "TokenHash", hex.EncodeToString(got.TokenHash), hex.EncodeToString(want.TokenHash))
	d.when("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.whenPtr("DeletedAt", got.DeletedAt, want.DeletedAt)
	field(&d, "IsActive", got.IsActive, want.IsActive)
	return d
}

func diffMember(got, want chat.RoomChatter) diffs {
	var d diffs
	field(&d, "ID", got.ID, want.ID)
	field(&d, "RoomID", got.RoomID, want.RoomID)
	field(&d, "ChatterID", got.ChatterID, want.ChatterID)
	d.when("JoinedAt", got.JoinedAt, want.JoinedAt)
	d.whenPtr("LeftAt", got.LeftAt, want.LeftAt)
	field(&d, "IsActive", got.IsActive, want.IsActive)
	return d
}

func diffMessage(got, want chat.Message) diffs {
	var d diffs
	field(&d, "ID", got.ID, want.ID)
	field(&d, "Type", got.Type, want.Type)
	field(&d, "Content", got.Content, want.Content)
	d.when("SentAt", got.SentAt, want.SentAt)
	field(&d, "RoomID", got.RoomID, want.RoomID)
	field(&d, "ChatterID", got.ChatterID, want.ChatterID)
	for _, s := range diffChatter(got.Chatter, want.Chatter) {
		d = append(d, "Chatter."+s)
	}
	switch {
	case got.Alert == nil && want.Alert == nil:
	case got.Alert == nil || want.Alert == nil:
		d = append(d, fmt.Sprintf("Alert: got %+v, want %+v", got.Alert, want.Alert))
	default:
		field(&d, "Alert", *got.Alert, *want.Alert)
	}
	return d
}

func checkMessages(t *testing.T, what string, got, want []chat.Message) {
	t.Helper()
	if !slices.Equal(ids(got), ids(want)) {
		t.Errorf("%s: got ids %v, want %v", what, ids(got), ids(want))
		return
	}
	for i := range got {
		d := diffMessage(got[i], want[i])
		d.report(t, fmt.Sprintf("%s[%d]", what, i))
	}
}

// Store is what the suite needs of a store: chat.Store, and Ping and Close, which the app
// calls.
type Store interface {
	chat.Store
	Ping(ctx context.Context) error
	Close() error
}

// JoinRoom records a join without a new chatter or an alert through RecordJoin.
func JoinRoom(ctx context.Context, s chat.Store, roomID, chatterID string, at time.Time) (chat.RoomChatter, bool, error) {
	rc, first, _, err := s.RecordJoin(ctx, chat.JoinRecord{RoomID: roomID, ChatterID: chatterID, At: at})
	return rc, first, err
}
