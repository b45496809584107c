package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"colachat/internal/chat"
)

var roomTests = []subtest{
	{"CreateAndGet", testCreateAndGetRoom},
	{"NotFound", testRoomNotFound},
	{"CreateTwiceFails", testCreateRoomTwice},
	{"ListNewestFirst", testRoomsNewestFirst},
	{"ExpiredAndClaim", testExpiredRooms},
	{"ConcurrentExpiryClaims", testConcurrentExpiryClaims},
	{"Purge", testPurgeRooms},
}

func testCreateAndGetRoom(t *testing.T, h *harness) {
	f := h.newFixture(t)
	seoul := time.FixedZone("KST", 9*60*60)
	tests := []struct {
		name string
		edit func(*chat.Room)
	}{
		{"open room", func(r *chat.Room) {}},
		{"password room", func(r *chat.Room) {
			r.IsPassword, r.PasswordHash, r.Capacity = true, "$2a$10$abcdefghijklmnopqrstuv", 2
		}},
		{"non-UTC times", func(r *chat.Room) {
			r.CreatedAt = r.CreatedAt.In(seoul)
			r.ExpiresAt = r.ExpiresAt.In(seoul)
		}},
		{"already expired", func(r *chat.Room) { r.IsExpired = true }},
		{"unicode title", func(r *chat.Room) { r.Title, r.Namespace = "콜라 채팅 🥤", "other" }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := f.room(base.Add(time.Duration(i)*time.Minute), tc.edit)
			got, err := f.s.Room(f.ctx, want.ID)
			if err != nil {
				t.Fatalf("Room: %v", err)
			}
			d := diffRoom(got, want)
			d.report(t, "Room")
		})
	}
}

func testRoomNotFound(t *testing.T, h *harness) {
	f := h.newFixture(t)
	_, err := f.s.Room(f.ctx, newID())
	wantNotFound(t, "Room of an unknown id", err)
	_, err = f.s.ClaimRoomExpiry(f.ctx, newID())
	wantNotFound(t, "ClaimRoomExpiry of an unknown id", err)
}

func testCreateRoomTwice(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r := f.room(base)
	r.Title = "second"
	if err := f.s.CreateRoom(f.ctx, r); err == nil {
		t.Fatal("CreateRoom with an existing id: got no error, want one")
	}
	got, err := f.s.Room(f.ctx, r.ID)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	if got.Title == "second" {
		t.Errorf("the refused CreateRoom overwrote the room: title %q", got.Title)
	}
}

func testRoomsNewestFirst(t *testing.T, h *harness) {
	f := h.newFixture(t)
	got, err := f.s.Rooms(f.ctx)
	if err != nil {
		t.Fatalf("Rooms on an empty store: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("Rooms on an empty store: got %d rooms, want 0", len(got))
	}
	// Created out of order, so insertion order cannot pass for creation order.
	middle := f.room(base.Add(time.Hour))
	oldest := f.room(base)
	newest := f.room(base.Add(2 * time.Hour))
	got, err = f.s.Rooms(f.ctx)
	if err != nil {
		t.Fatalf("Rooms: %v", err)
	}
	want := []chat.Room{newest, middle, oldest}
	if len(got) != len(want) {
		t.Fatalf("Rooms: got %d rooms, want %d", len(got), len(want))
	}
	for i := range want {
		d := diffRoom(got[i], want[i])
		d.report(t, fmt.Sprintf("Rooms[%d]", i))
	}
}

func testExpiredRooms(t *testing.T, h *harness) {
	f := h.newFixture(t)
	now := base.Add(48 * time.Hour)
	expiresAt := func(at time.Time) func(*chat.Room) { return func(r *chat.Room) { r.ExpiresAt = at } }
	past := f.room(base, expiresAt(now.Add(-time.Second)))
	exact := f.room(base, expiresAt(now))
	future := f.room(base, expiresAt(now.Add(time.Millisecond)))
	marked := f.room(base, expiresAt(now.Add(-time.Hour)), func(r *chat.Room) { r.IsExpired = true })

	expiredIDs := func() []string {
		t.Helper()
		rooms, err := f.s.ExpiredRooms(f.ctx, now)
		if err != nil {
			t.Fatalf("ExpiredRooms: %v", err)
		}
		ids := make([]string, len(rooms))
		for i, r := range rooms {
			ids[i] = r.ID
		}
		slices.Sort(ids)
		return ids
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }

	if got, want := expiredIDs(), sorted(past.ID, exact.ID); !slices.Equal(got, want) {
		t.Errorf("ExpiredRooms: got %v, want %v (not %v in the future, not %v already marked)", got, want, future.ID, marked.ID)
	}
	if claimed, err := f.s.ClaimRoomExpiry(f.ctx, past.ID); err != nil || !claimed {
		t.Fatalf("ClaimRoomExpiry: got (%v, %v), want (true, nil)", claimed, err)
	}
	if got, want := expiredIDs(), []string{exact.ID}; !slices.Equal(got, want) {
		t.Errorf("ExpiredRooms after marking one: got %v, want %v", got, want)
	}
	got, err := f.s.Room(f.ctx, past.ID)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	if !got.IsExpired {
		t.Errorf("Room after ClaimRoomExpiry: got IsExpired false, want true")
	}
	// Only the first claim is granted: exactly one caller announces the expiry.
	if claimed, err := f.s.ClaimRoomExpiry(f.ctx, past.ID); err != nil || claimed {
		t.Errorf("ClaimRoomExpiry again: got (%v, %v), want (false, nil)", claimed, err)
	}
}

// testConcurrentExpiryClaims checks that of many simultaneous claims of one expiry (the
// nodes of a cluster noticing it at once), exactly one is granted.
func testConcurrentExpiryClaims(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r := f.room(base.Add(-48 * time.Hour))
	const claimers = 16
	granted := make([]bool, claimers)
	errs := make([]error, claimers)
	var wg sync.WaitGroup
	for i := range claimers {
		wg.Go(func() { granted[i], errs[i] = f.s.ClaimRoomExpiry(f.ctx, r.ID) })
	}
	wg.Wait()
	n := 0
	for i := range claimers {
		if errs[i] != nil {
			t.Fatalf("ClaimRoomExpiry %d: %v", i, errs[i])
		}
		if granted[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("concurrent ClaimRoomExpiry: got %d granted, want exactly 1", n)
	}
}

func testPurgeRooms(t *testing.T, h *harness) {
	f := h.newFixture(t)
	cutoff := base.Add(72 * time.Hour)
	expiresAt := func(at time.Time) func(*chat.Room) { return func(r *chat.Room) { r.ExpiresAt = at } }
	old := f.room(base, expiresAt(cutoff.Add(-time.Hour)))
	atCutoff := f.room(base, expiresAt(cutoff))
	kept := f.room(base, expiresAt(cutoff.Add(time.Millisecond)))

	c := f.chatter("너구리")
	for _, r := range []chat.Room{old, atCutoff, kept} {
		f.join(r, c, base)
		f.appendN(r, c, "hello", 3)
	}
	keptMessages := f.allMessages(kept.ID)

	n, err := f.s.PurgeRooms(f.ctx, cutoff)
	if err != nil {
		t.Fatalf("PurgeRooms: %v", err)
	}
	if n != 2 {
		t.Errorf("PurgeRooms: got %d rooms deleted, want 2", n)
	}
	for _, r := range []chat.Room{old, atCutoff} {
		_, err := f.s.Room(f.ctx, r.ID)
		wantNotFound(t, "Room of a purged room", err)
		if got := f.allMessages(r.ID); len(got) != 0 {
			t.Errorf("messages of a purged room: got %d, want 0", len(got))
		}
		members, err := f.s.RoomChatters(f.ctx, r.ID)
		if err != nil {
			t.Errorf("RoomChatters of a purged room: %v", err)
		}
		if len(members) != 0 {
			t.Errorf("memberships of a purged room: got %d, want 0", len(members))
		}
		_, err = f.s.FirstMessageID(f.ctx, r.ID, c.ID)
		wantNotFound(t, "FirstMessageID in a purged room", err)
	}
	if _, err := f.s.Room(f.ctx, kept.ID); err != nil {
		t.Errorf("Room of the room expiring after the cutoff: %v", err)
	}
	checkMessages(t, "messages of the kept room", f.allMessages(kept.ID), keptMessages)
	rooms, err := f.s.ActiveRooms(f.ctx, c.ID)
	if err != nil {
		t.Fatalf("ActiveRooms: %v", err)
	}
	if !slices.Equal(rooms, []string{kept.ID}) {
		t.Errorf("ActiveRooms after purge: got %v, want [%s]", rooms, kept.ID)
	}
	if _, err := f.s.Chatter(f.ctx, c.ID); err != nil {
		t.Errorf("Chatter after purge (a chatter may be in other rooms): %v", err)
	}
	n, err = f.s.PurgeRooms(f.ctx, cutoff)
	if err != nil || n != 0 {
		t.Errorf("PurgeRooms again: got (%d, %v), want (0, nil)", n, err)
	}
}
