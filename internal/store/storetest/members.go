package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"colachat/internal/chat"
)

var memberTests = []subtest{
	{"JoinLeaveJoin", testJoinLeaveJoin},
	{"JoinUnknownFails", testJoinUnknown},
	{"LeaveWithoutJoin", testLeaveWithoutJoin},
	{"RoomChatters", testRoomChatters},
	{"ActiveRooms", testActiveRooms},
	{"ConcurrentJoins", testConcurrentJoins},
	{"RecordJoin", testRecordJoin},
}

func testJoinLeaveJoin(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, c := f.room(base), f.chatter("개구리")
	joined := base.Add(time.Minute)

	rc, first, err := JoinRoom(f.ctx, f.s, r.ID, c.ID, joined)
	if err != nil {
		t.Fatalf("first JoinRoom: %v", err)
	}
	if !first {
		t.Error("first JoinRoom: got first false, want true")
	}
	if rc.ID == 0 {
		t.Error("first JoinRoom: got ID 0, want an id")
	}
	want := chat.RoomChatter{ID: rc.ID, RoomID: r.ID, ChatterID: c.ID, JoinedAt: joined, IsActive: true}
	d := diffMember(rc, want)
	d.report(t, "first JoinRoom")

	left := joined.Add(time.Minute)
	if err := f.s.LeaveRoom(f.ctx, r.ID, c.ID, left); err != nil {
		t.Fatalf("LeaveRoom: %v", err)
	}
	want.IsActive, want.LeftAt = false, &left
	members, err := f.s.RoomChatters(f.ctx, r.ID)
	if err != nil {
		t.Fatalf("RoomChatters: %v", err)
	}
	if len(members) != 1 {
		t.Fatalf("RoomChatters after leave: got %d memberships, want 1", len(members))
	}
	d = diffMember(members[0], want)
	d.report(t, "membership after leave")

	again := left.Add(time.Minute)
	rc, first, err = JoinRoom(f.ctx, f.s, r.ID, c.ID, again)
	if err != nil {
		t.Fatalf("second JoinRoom: %v", err)
	}
	if first {
		t.Error("second JoinRoom: got first true, want false")
	}
	want = chat.RoomChatter{ID: want.ID, RoomID: r.ID, ChatterID: c.ID, JoinedAt: again, IsActive: true}
	d = diffMember(rc, want)
	d.report(t, "second JoinRoom")

	// Joining while already a member reactivates nothing new and is not a first join.
	_, first, err = JoinRoom(f.ctx, f.s, r.ID, c.ID, again)
	if err != nil || first {
		t.Errorf("JoinRoom while a member: got (first %v, %v), want (false, nil)", first, err)
	}
	members, err = f.s.RoomChatters(f.ctx, r.ID)
	if err != nil {
		t.Fatalf("RoomChatters: %v", err)
	}
	if len(members) != 1 {
		t.Fatalf("RoomChatters after rejoining: got %d memberships, want 1", len(members))
	}
	d = diffMember(members[0], want)
	d.report(t, "membership after rejoining")
}

func testJoinUnknown(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, c := f.room(base), f.chatter("개구리")
	if _, _, err := JoinRoom(f.ctx, f.s, newID(), c.ID, base); err == nil {
		t.Error("JoinRoom of an unknown room: got no error, want one")
	}
	if _, _, err := JoinRoom(f.ctx, f.s, r.ID, newID(), base); err == nil {
		t.Error("JoinRoom as an unknown chatter: got no error, want one")
	}
	members, err := f.s.RoomChatters(f.ctx, r.ID)
	if err != nil {
		t.Fatalf("RoomChatters: %v", err)
	}
	if len(members) != 0 {
		t.Errorf("RoomChatters after refused joins: got %d memberships, want 0", len(members))
	}
}

func testLeaveWithoutJoin(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, c := f.room(base), f.chatter("개구리")
	wantNotFound(t, "LeaveRoom without a membership", f.s.LeaveRoom(f.ctx, r.ID, c.ID, base))
}

func testRoomChatters(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, other := f.room(base), f.room(base)
	a, b, c := f.chatter("개구리"), f.chatter("메뚜기"), f.chatter("멸치")
	empty, err := f.s.RoomChatters(f.ctx, r.ID)
	if err != nil {
		t.Fatalf("RoomChatters of a room without members: %v", err)
	}
	if len(empty) != 0 {
		t.Fatalf("RoomChatters of a room without members: got %d, want 0", len(empty))
	}
	want := []chat.RoomChatter{
		f.join(r, b, base.Add(time.Second)),
		f.join(r, a, base.Add(2*time.Second)),
	}
	f.join(other, c, base)
	got, err := f.s.RoomChatters(f.ctx, r.ID)
	if err != nil {
		t.Fatalf("RoomChatters: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("RoomChatters: got %d memberships, want %d", len(got), len(want))
	}
	// In the order they joined.
	for i := range want {
		d := diffMember(got[i], want[i])
		d.report(t, "RoomChatters")
	}
}

func testActiveRooms(t *testing.T, h *harness) {
	f := h.newFixture(t)
	c, other := f.chatter("개구리"), f.chatter("메뚜기")
	got, err := f.s.ActiveRooms(f.ctx, c.ID)
	if err != nil {
		t.Fatalf("ActiveRooms of a chatter in no room: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("ActiveRooms of a chatter in no room: got %v, want none", got)
	}
	r1, r2, r3, r4 := f.room(base), f.room(base), f.room(base), f.room(base)
	for _, r := range []chat.Room{r1, r2, r3} {
		f.join(r, c, base)
	}
	f.join(r4, other, base)
	if err := f.s.LeaveRoom(f.ctx, r2.ID, c.ID, base.Add(time.Second)); err != nil {
		t.Fatalf("LeaveRoom: %v", err)
	}
	got, err = f.s.ActiveRooms(f.ctx, c.ID)
	if err != nil {
		t.Fatalf("ActiveRooms: %v", err)
	}
	slices.Sort(got)
	want := []string{r1.ID, r3.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ActiveRooms: got %v, want %v", got, want)
	}
}

// testConcurrentJoins checks that JoinRoom is atomic: of many simultaneous first joins
// exactly one reports first, and they all share one membership.
func testConcurrentJoins(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, c := f.room(base), f.chatter("개구리")
	const n = 16
	type result struct {
		rc    chat.RoomChatter
		first bool
		err   error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rc, first, err := JoinRoom(f.ctx, f.s, r.ID, c.ID, base)
			results[i] = result{rc, first, err}
		})
	}
	wg.Wait()
	firsts := 0
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("JoinRoom %d: %v", i, res.err)
		}
		if res.first {
			firsts++
		}
		if res.rc.ID != results[0].rc.ID {
			t.Errorf("JoinRoom %d: got membership id %d, want %d like the others", i, res.rc.ID, results[0].rc.ID)
		}
	}
	if firsts != 1 {
		t.Errorf("concurrent JoinRoom: got %d calls reporting first, want 1", firsts)
	}
}

// testRecordJoin checks RecordJoin: a new chatter's whole join in one call, a returning
// chatter's reactivation, and a failed join leaving nothing.
func testRecordJoin(t *testing.T, h *harness) {
	f := h.newFixture(t)
	rec := f.s
	r := f.room(base)
	c := chat.Chatter{ID: newID(), Nickname: "멸치", TokenHash: []byte("hash"), CreatedAt: base, IsActive: true}
	joinAlert := &chat.Message{Type: chat.TypeAlert, Content: "멸치님이 입장했습니다.", SentAt: base, RoomID: r.ID,
		ChatterID: c.ID, Chatter: c, Alert: &chat.Alert{Kind: chat.AlertJoin, Nickname: "멸치"}}
	rc, first, stored, err := rec.RecordJoin(f.ctx, chat.JoinRecord{NewChatter: &c, RoomID: r.ID, ChatterID: c.ID, At: base, Alert: joinAlert})
	if err != nil || !first || !rc.IsActive || stored == nil || stored.ID == 0 {
		t.Fatalf("RecordJoin of a new chatter: got (%+v, first %v, alert %+v, %v), want an active first membership and a stored alert", rc, first, stored, err)
	}
	if got, err := f.s.Chatter(f.ctx, c.ID); err != nil || got.Nickname != "멸치" {
		t.Fatalf("chatter after RecordJoin: got %+v (%v), want it stored", got, err)
	}
	msgs := f.allMessages(r.ID)
	if len(msgs) != 1 || msgs[0].ID != stored.ID || msgs[0].Alert == nil || msgs[0].Alert.Kind != chat.AlertJoin || msgs[0].Chatter.Nickname != "멸치" {
		t.Fatalf("messages after RecordJoin: got %+v, want the join alert with its chatter", msgs)
	}

	if err := f.s.LeaveRoom(f.ctx, r.ID, c.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetChatterActive(f.ctx, c.ID, false); err != nil {
		t.Fatal(err)
	}
	rc, first, stored, err = rec.RecordJoin(f.ctx, chat.JoinRecord{Reactivate: true, RoomID: r.ID, ChatterID: c.ID, At: base.Add(2 * time.Minute)})
	if err != nil || first || !rc.IsActive || stored != nil {
		t.Fatalf("RecordJoin of a returning chatter: got (%+v, first %v, alert %+v, %v), want an active, not-first membership and no alert", rc, first, stored, err)
	}
	if got, _ := f.s.Chatter(f.ctx, c.ID); !got.IsActive {
		t.Fatal("returning chatter still inactive after RecordJoin with Reactivate")
	}

	// A join into a missing room fails whole: no chatter, no message left behind.
	ghost := chat.Chatter{ID: newID(), Nickname: "유령", CreatedAt: base, IsActive: true}
	if _, _, _, err := rec.RecordJoin(f.ctx, chat.JoinRecord{NewChatter: &ghost, RoomID: newID(), ChatterID: ghost.ID, At: base}); err == nil {
		t.Fatal("RecordJoin into a missing room: got no error")
	}
	if _, err := f.s.Chatter(f.ctx, ghost.ID); !errors.Is(err, chat.ErrNotFound) {
		t.Fatalf("chatter of a failed RecordJoin: got %v, want ErrNotFound (nothing written)", err)
	}
}
