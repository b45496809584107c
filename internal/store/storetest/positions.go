package storetest

import (
	"fmt"
	"sync"
	"testing"

	"colachat/internal/chat"
)

// positionTests check Seq, a message's position in its room: 1, 2, 3, ... without a gap or
// a repeat whatever the concurrency, in the same order as ids, with LastSeq and the BySeq
// window agreeing.
var positionTests = []subtest{
	{"PerRoomFromOne", testPositionsPerRoom},
	{"ConcurrentAppendsAndJoins", testPositionsConcurrent},
	{"BySeqWindow", testPositionsWindow},
}

func testPositionsPerRoom(t *testing.T, h *harness) {
	f := h.newFixture(t)
	a, b := f.room(base), f.room(base)
	c := f.chatter("개구리")
	if last, err := f.s.LastSeq(f.ctx, a.ID); err != nil || last != 0 {
		t.Fatalf("LastSeq of an empty room: got (%d, %v), want (0, nil)", last, err)
	}
	_, err := f.s.LastSeq(f.ctx, newID())
	wantNotFound(t, "LastSeq of an unknown room", err)

	for i, r := range []chat.Room{a, b, a, a, b} {
		want := map[int]int64{0: 1, 1: 1, 2: 2, 3: 3, 4: 2}[i]
		if got := f.append(message(r, c, fmt.Sprint(i))); got.Seq != want {
			t.Errorf("append %d: got Seq %d, want %d (each room counts on its own)", i, got.Seq, want)
		}
	}
	joiner := chat.Chatter{ID: newID(), Nickname: "멸치", CreatedAt: base, IsActive: true}
	alert := &chat.Message{Type: chat.TypeAlert, Content: "멸치님이 입장했습니다.", SentAt: base, RoomID: a.ID,
		ChatterID: joiner.ID, Chatter: joiner, Alert: &chat.Alert{Kind: chat.AlertJoin, Nickname: "멸치"}}
	_, _, stored, err := f.s.RecordJoin(f.ctx, chat.JoinRecord{NewChatter: &joiner, RoomID: a.ID, ChatterID: joiner.ID, At: base, Alert: alert})
	if err != nil || stored == nil || stored.Seq != 4 {
		t.Fatalf("RecordJoin's alert: got (%+v, %v), want Seq 4", stored, err)
	}
	if last, err := f.s.LastSeq(f.ctx, a.ID); err != nil || last != 4 {
		t.Errorf("LastSeq: got (%d, %v), want (4, nil)", last, err)
	}
	for i, m := range f.allMessages(a.ID) {
		if m.Seq != int64(i+1) {
			t.Errorf("stored message %d of room a: got Seq %d, want %d", i, m.Seq, i+1)
		}
	}
	// A refused append takes no position (a store may refuse an unknown chatter or accept it;
	// either way the room's positions stay without a gap).
	bad := message(a, chat.Chatter{ID: newID()}, "nobody")
	bad.ChatterID = bad.Chatter.ID
	want := int64(5)
	if _, err := f.s.AppendMessage(f.ctx, bad); err == nil {
		want = 6
	}
	if got := f.append(message(a, c, "after")); got.Seq != want {
		t.Errorf("append after another: got Seq %d, want %d (no gap)", got.Seq, want)
	}
}

func testPositionsConcurrent(t *testing.T, h *harness) {
	f := h.newFixture(t)
	rooms := []chat.Room{f.room(base), f.room(base), f.room(base)}
	const writers, each = 12, 15
	chatters := make([]chat.Chatter, writers)
	for i := range chatters {
		chatters[i] = f.chatter(fmt.Sprintf("c%d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := rooms[(w+i)%len(rooms)]
				if i%5 == 4 { // a join with its alert shares the room's counter
					joiner := chat.Chatter{ID: newID(), Nickname: "j", CreatedAt: base, IsActive: true}
					alert := &chat.Message{Type: chat.TypeAlert, Content: "j", SentAt: base, RoomID: r.ID,
						ChatterID: joiner.ID, Chatter: joiner, Alert: &chat.Alert{Kind: chat.AlertJoin, Nickname: "j"}}
					if _, _, _, err := f.s.RecordJoin(f.ctx, chat.JoinRecord{NewChatter: &joiner, RoomID: r.ID,
						ChatterID: joiner.ID, At: base, Alert: alert}); err != nil {
						errs[w] = err
						return
					}
					continue
				}
				if _, err := f.s.AppendMessage(f.ctx, message(r, chatters[w], fmt.Sprintf("w%d m%d", w, i))); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	total := 0
	for ri, r := range rooms {
		stored := f.allMessages(r.ID)
		total += len(stored)
		for i, m := range stored {
			if m.Seq != int64(i+1) {
				t.Fatalf("room %d, message %d (id %d): got Seq %d, want %d: positions must follow ids without a gap",
					ri, i, m.ID, m.Seq, i+1)
			}
		}
		if last, err := f.s.LastSeq(f.ctx, r.ID); err != nil || last != int64(len(stored)) {
			t.Errorf("room %d: LastSeq got (%d, %v), want %d", ri, last, err, len(stored))
		}
	}
	if total != writers*each {
		t.Errorf("stored %d messages in all, want %d", total, writers*each)
	}
}

func testPositionsWindow(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, c, late := f.room(base), f.chatter("개구리"), f.chatter("멸치")
	for i := range 5 {
		f.append(message(r, c, fmt.Sprint(i)))
	}
	joined := f.append(message(r, late, "joined")) // Seq 6
	for i := range 4 {
		f.append(message(r, c, fmt.Sprint(10+i)))
	}
	tests := []struct {
		name  string
		q     chat.MessageQuery
		wants []int64
	}{
		{"from the start", chat.MessageQuery{BySeq: true, AfterSeq: 0, Limit: 3}, []int64{1, 2, 3}},
		{"after 7", chat.MessageQuery{BySeq: true, AfterSeq: 7, Limit: 50}, []int64{8, 9, 10}},
		{"after the last", chat.MessageQuery{BySeq: true, AfterSeq: 10, Limit: 50}, nil},
		{"from a chatter's first message", chat.MessageQuery{BySeq: true, AfterSeq: 2, MinID: joined.ID, Limit: 3}, []int64{6, 7, 8}},
	}
	for _, tc := range tests {
		tc.q.RoomID = r.ID
		got, err := f.s.Messages(f.ctx, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var seqs []int64
		for _, m := range got {
			seqs = append(seqs, m.Seq)
		}
		if fmt.Sprint(seqs) != fmt.Sprint(tc.wants) {
			t.Errorf("%s: got seqs %v, want %v", tc.name, seqs, tc.wants)
		}
	}
}
