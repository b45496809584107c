package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"colachat/internal/chat"
)

var messageTests = []subtest{
	{"AppendReturnsMessage", testAppendReturnsMessage},
	{"AlertRoundTrip", testAlertRoundTrip},
	{"TimesMillisecondsUTC", testTimesMillisecondsUTC},
	{"AppendConcurrent", testAppendConcurrent},
	{"AppendToUnknownRoomFailsAlone", testAppendUnknownRoom},
	{"FirstMessageID", testFirstMessageID},
	{"Pages", testPages},
	{"Cursors", testCursors},
	{"CursorsWhileAppending", testCursorsWhileAppending},
}

func testAppendReturnsMessage(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, c := f.room(base), f.chatter("개구리")
	m := message(r, c, "안녕하세요")
	got := f.append(m)
	if got.ID <= 0 {
		t.Fatalf("AppendMessage: got ID %d, want a positive id", got.ID)
	}
	want := m
	want.ID = got.ID
	d := diffMessage(got, want)
	d.report(t, "AppendMessage result")
	checkMessages(t, "stored", f.allMessages(r.ID), []chat.Message{want})

	next := f.append(message(r, c, "second"))
	if next.ID <= got.ID {
		t.Errorf("second AppendMessage: got ID %d, want more than %d", next.ID, got.ID)
	}
}

func testAlertRoundTrip(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, c := f.room(base), f.chatter("개구리")
	tests := []struct {
		name    string
		typ     chat.MessageType
		content string
		alert   *chat.Alert
	}{
		{"join", chat.TypeAlert, "개구리님이 입장했습니다.", &chat.Alert{Kind: chat.AlertJoin, Nickname: "개구리"}},
		{"leave", chat.TypeAlert, "개구리님이 퇴장했습니다.", &chat.Alert{Kind: chat.AlertLeave, Nickname: "개구리"}},
		{"rename", chat.TypeAlert, "개구리님의 닉네임이 올챙이로 변경되었습니다.",
			&chat.Alert{Kind: chat.AlertRename, Nickname: "개구리", NewNickname: "올챙이"}},
		{"expire", chat.TypeAlert, "채팅이 만료되었습니다.", &chat.Alert{Kind: chat.AlertExpire}},
		{"client alert without structure", chat.TypeAlert, "legacy", nil},
		{"message", chat.TypeMessage, "hello", nil},
		{"empty content", chat.TypeMessage, "", nil},
	}
	var want []chat.Message
	for _, tc := range tests {
		m := message(r, c, tc.content)
		m.Type, m.Alert = tc.typ, tc.alert
		got := f.append(m)
		m.ID = got.ID
		d := diffMessage(got, m)
		d.report(t, tc.name+": AppendMessage result")
		want = append(want, m)
	}
	checkMessages(t, "stored", f.allMessages(r.ID), want)
}

func testTimesMillisecondsUTC(t *testing.T, h *harness) {
	f := h.newFixture(t)
	seoul := time.FixedZone("KST", 9*60*60)
	tests := []struct {
		name string
		at   time.Time
	}{
		{"UTC milliseconds", time.Date(2024, 9, 18, 18, 39, 3, 123_000_000, time.UTC)},
		{"other zone", time.Date(2024, 9, 19, 3, 39, 3, 7_000_000, seoul)},
		{"sub-millisecond dropped", time.Date(2024, 9, 18, 18, 39, 3, 999_999_999, time.UTC)},
		{"monotonic reading", time.Now()},
		{"local zone", time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.Local)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := chat.Chatter{ID: newID(), Nickname: "멸치", CreatedAt: tc.at, DeletedAt: &tc.at}
			if err := f.s.CreateChatter(f.ctx, c); err != nil {
				t.Fatalf("CreateChatter: %v", err)
			}
			gotC, err := f.s.Chatter(f.ctx, c.ID)
			if err != nil {
				t.Fatalf("Chatter: %v", err)
			}
			d := diffChatter(gotC, c)
			d.report(t, "Chatter")

			r := f.room(tc.at, func(r *chat.Room) { r.ExpiresAt = tc.at.Add(time.Hour) })
			gotR, err := f.s.Room(f.ctx, r.ID)
			if err != nil {
				t.Fatalf("Room: %v", err)
			}
			d = diffRoom(gotR, r)
			d.report(t, "Room")

			rc, _, err := JoinRoom(f.ctx, f.s, r.ID, c.ID, tc.at)
			if err != nil {
				t.Fatalf("JoinRoom: %v", err)
			}
			d = diffMember(rc, chat.RoomChatter{ID: rc.ID, RoomID: r.ID, ChatterID: c.ID, JoinedAt: tc.at, IsActive: true})
			d.report(t, "JoinRoom")
			if err := f.s.LeaveRoom(f.ctx, r.ID, c.ID, tc.at); err != nil {
				t.Fatalf("LeaveRoom: %v", err)
			}
			members, err := f.s.RoomChatters(f.ctx, r.ID)
			if err != nil || len(members) != 1 {
				t.Fatalf("RoomChatters: got (%d memberships, %v), want (1, nil)", len(members), err)
			}
			d = diffMember(members[0], chat.RoomChatter{ID: rc.ID, RoomID: r.ID, ChatterID: c.ID, JoinedAt: tc.at, LeftAt: &tc.at})
			d.report(t, "RoomChatters")

			// The caller passes the chatter as the store gave it; AppendMessage keeps it.
			m := message(r, gotC, "tick")
			m.SentAt = tc.at
			got := f.append(m)
			m.ID = got.ID
			d = diffMessage(got, m)
			d.report(t, "AppendMessage result")
			checkMessages(t, "stored", f.allMessages(r.ID), []chat.Message{m})
		})
	}
}

// testAppendConcurrent appends from many goroutines at once, as many sockets do.
func testAppendConcurrent(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r := f.room(base)
	const writers, each = 50, 20
	chatters := make([]chat.Chatter, writers)
	for i := range chatters {
		chatters[i] = f.chatter(fmt.Sprintf("c%d", i))
	}
	sent := make([][]chat.Message, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m, err := f.s.AppendMessage(f.ctx, message(r, chatters[w], fmt.Sprintf("w%d m%d", w, i)))
				if err != nil {
					errs[w] = err
					return
				}
				sent[w] = append(sent[w], m)
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: AppendMessage: %v", w, err)
		}
	}

	byID := map[int64]chat.Message{}
	for w, ms := range sent {
		for i, m := range ms {
			if i > 0 && m.ID <= ms[i-1].ID {
				t.Errorf("writer %d: message %d got id %d after id %d, want ids increasing", w, i, m.ID, ms[i-1].ID)
			}
			if prev, dup := byID[m.ID]; dup {
				t.Errorf("id %d given to both %q and %q", m.ID, prev.Content, m.Content)
			}
			byID[m.ID] = m
		}
	}
	stored := f.allMessages(r.ID)
	if len(stored) != writers*each {
		t.Fatalf("stored: got %d messages, want %d", len(stored), writers*each)
	}
	for i, m := range stored {
		if i > 0 && m.ID <= stored[i-1].ID {
			t.Fatalf("stored[%d]: got id %d after %d, want oldest first", i, m.ID, stored[i-1].ID)
		}
		want, ok := byID[m.ID]
		if !ok {
			t.Errorf("stored id %d was never returned by AppendMessage", m.ID)
			continue
		}
		d := diffMessage(m, want)
		d.report(t, fmt.Sprintf("stored id %d", m.ID))
	}
}

// testAppendUnknownRoom checks that a refused append does not take concurrent ones down
// with it (they may share a transaction).
func testAppendUnknownRoom(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, c := f.room(base), f.chatter("개구리")
	const good = 20
	sent := make([]chat.Message, good)
	errs := make([]error, good+1)
	var wg sync.WaitGroup
	for i := range good {
		wg.Go(func() { sent[i], errs[i] = f.s.AppendMessage(f.ctx, message(r, c, fmt.Sprint(i))) })
	}
	wg.Go(func() {
		bad := message(r, c, "nowhere")
		bad.RoomID = newID()
		_, errs[good] = f.s.AppendMessage(f.ctx, bad)
	})
	wg.Wait()
	if errs[good] == nil {
		t.Error("AppendMessage to an unknown room: got no error, want one")
	}
	for i, err := range errs[:good] {
		if err != nil {
			t.Errorf("AppendMessage %d beside a refused one: %v", i, err)
		}
	}
	got := f.allMessages(r.ID)
	if len(got) != good {
		t.Errorf("stored: got %d messages, want %d", len(got), good)
	}
}

func testFirstMessageID(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, other := f.room(base), f.room(base)
	a, b, silent := f.chatter("개구리"), f.chatter("메뚜기"), f.chatter("멸치")
	f.append(message(other, a, "elsewhere first"))
	f.append(message(r, b, "b first"))
	join := message(r, a, "개구리님이 입장했습니다.")
	join.Type, join.Alert = chat.TypeAlert, &chat.Alert{Kind: chat.AlertJoin, Nickname: "개구리"}
	want := f.append(join).ID
	f.appendN(r, a, "a", 3)

	got, err := f.s.FirstMessageID(f.ctx, r.ID, a.ID)
	if err != nil {
		t.Fatalf("FirstMessageID: %v", err)
	}
	if got != want {
		t.Errorf("FirstMessageID: got %d, want %d (the join alert)", got, want)
	}
	_, err = f.s.FirstMessageID(f.ctx, r.ID, silent.ID)
	wantNotFound(t, "FirstMessageID of a chatter without messages", err)
	_, err = f.s.FirstMessageID(f.ctx, newID(), a.ID)
	wantNotFound(t, "FirstMessageID in an unknown room", err)
}

// window returns ms[from:to] clamped to ms.
func window(ms []chat.Message, from, to int) []chat.Message {
	from, to = max(from, 0), min(to, len(ms))
	if from >= to {
		return nil
	}
	return ms[from:to]
}

// interleaved appends n messages to r, with one to noise after each, so that the ids of r
// are not contiguous and other rooms' messages sit between them.
func (f *fixture) interleaved(r, noise chat.Room, c chat.Chatter, n int) []chat.Message {
	f.t.Helper()
	out := make([]chat.Message, n)
	for i := range out {
		out[i] = f.append(message(r, c, fmt.Sprintf("m%d", i)))
		f.append(message(noise, c, fmt.Sprintf("noise %d", i)))
	}
	return out
}

func testPages(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, noise, empty := f.room(base), f.room(base), f.room(base)
	c := f.chatter("개구리")
	ms := f.interleaved(r, noise, c, 45)
	tests := []struct {
		name string
		q    chat.MessageQuery
		want []chat.Message
	}{
		{"page 1 is the newest 20", chat.MessageQuery{Page: 1, Limit: 20}, window(ms, 25, 45)},
		{"page 2 is the 20 before", chat.MessageQuery{Page: 2, Limit: 20}, window(ms, 5, 25)},
		{"page 3 is what is left", chat.MessageQuery{Page: 3, Limit: 20}, window(ms, 0, 5)},
		{"page past the end", chat.MessageQuery{Page: 4, Limit: 20}, nil},
		{"other limit", chat.MessageQuery{Page: 2, Limit: 7}, window(ms, 31, 38)},
		{"limit above the total", chat.MessageQuery{Page: 1, Limit: 100}, ms},
		{"MinID cuts the last page", chat.MessageQuery{Page: 2, Limit: 20, MinID: ms[10].ID}, window(ms, 10, 25)},
		{"MinID inside page 1", chat.MessageQuery{Page: 1, Limit: 20, MinID: ms[40].ID}, window(ms, 40, 45)},
		{"MinID leaves no page 2", chat.MessageQuery{Page: 2, Limit: 20, MinID: ms[40].ID}, nil},
		{"MinID between ids", chat.MessageQuery{Page: 1, Limit: 20, MinID: ms[40].ID - 1}, window(ms, 40, 45)},
		{"room without messages", chat.MessageQuery{RoomID: empty.ID, Page: 1, Limit: 20}, nil},
		{"unknown room", chat.MessageQuery{RoomID: newID(), Page: 1, Limit: 20}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.q.RoomID == "" {
				tc.q.RoomID = r.ID
			}
			got, err := f.s.Messages(f.ctx, tc.q)
			if err != nil {
				t.Fatalf("Messages(%+v): %v", tc.q, err)
			}
			checkMessages(t, fmt.Sprintf("Messages(%+v)", tc.q), got, tc.want)
		})
	}
}

func testCursors(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, noise := f.room(base), f.room(base)
	c := f.chatter("개구리")
	ms := f.interleaved(r, noise, c, 30)
	last := ms[len(ms)-1].ID
	tests := []struct {
		name string
		q    chat.MessageQuery
		want []chat.Message
	}{
		{"before the newest", chat.MessageQuery{Before: last, Limit: 5}, window(ms, 24, 29)},
		{"before past the newest", chat.MessageQuery{Before: last + 1000, Limit: 5}, window(ms, 25, 30)},
		{"before in the middle", chat.MessageQuery{Before: ms[10].ID, Limit: 4}, window(ms, 6, 10)},
		{"before a gap id", chat.MessageQuery{Before: ms[10].ID + 1, Limit: 4}, window(ms, 7, 11)},
		{"before near the start", chat.MessageQuery{Before: ms[2].ID, Limit: 10}, window(ms, 0, 2)},
		{"before the oldest", chat.MessageQuery{Before: ms[0].ID, Limit: 10}, nil},
		{"before with MinID", chat.MessageQuery{Before: ms[20].ID, Limit: 50, MinID: ms[15].ID}, window(ms, 15, 20)},
		{"after zero is the oldest", chat.MessageQuery{Limit: 5}, window(ms, 0, 5)},
		{"after in the middle", chat.MessageQuery{After: ms[10].ID, Limit: 4}, window(ms, 11, 15)},
		{"after a gap id", chat.MessageQuery{After: ms[10].ID + 1, Limit: 4}, window(ms, 11, 15)},
		{"after near the end", chat.MessageQuery{After: ms[27].ID, Limit: 10}, window(ms, 28, 30)},
		{"after the newest", chat.MessageQuery{After: last, Limit: 10}, nil},
		{"after with MinID above it", chat.MessageQuery{After: ms[3].ID, Limit: 5, MinID: ms[20].ID}, window(ms, 20, 25)},
		{"after with MinID below it", chat.MessageQuery{After: ms[20].ID, Limit: 5, MinID: ms[3].ID}, window(ms, 21, 26)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.RoomID = r.ID
			got, err := f.s.Messages(f.ctx, tc.q)
			if err != nil {
				t.Fatalf("Messages(%+v): %v", tc.q, err)
			}
			checkMessages(t, fmt.Sprintf("Messages(%+v)", tc.q), got, tc.want)
		})
	}
}

// testCursorsWhileAppending walks the history both ways while new messages keep arriving:
// a cursor must never skip or repeat a message, unlike page numbers.
func testCursorsWhileAppending(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r, noise := f.room(base), f.room(base)
	c := f.chatter("개구리")
	initial := f.interleaved(r, noise, c, 47)
	const limit = 6

	t.Run("backwards with Before", func(t *testing.T) {
		var seen []chat.Message
		before := initial[len(initial)-1].ID + 1
		for {
			page, err := f.s.Messages(f.ctx, chat.MessageQuery{RoomID: r.ID, Before: before, Limit: limit})
			if err != nil {
				t.Fatalf("Messages(before %d): %v", before, err)
			}
			if len(page) == 0 {
				break
			}
			seen = append(slices.Clone(page), seen...)
			before = page[0].ID
			f.appendN(r, c, "while reading back", 2)
		}
		checkMessages(t, "walked backwards", seen, initial)
	})

	t.Run("forwards with After", func(t *testing.T) {
		var seen []chat.Message
		after := int64(0)
		extra := 0
		for {
			page, err := f.s.Messages(f.ctx, chat.MessageQuery{RoomID: r.ID, After: after, Limit: limit})
			if err != nil {
				t.Fatalf("Messages(after %d): %v", after, err)
			}
			if len(page) == 0 {
				break
			}
			seen = append(seen, page...)
			after = page[len(page)-1].ID
			if extra < 30 {
				f.appendN(r, c, "while reading forward", 3)
				extra += 3
			}
		}
		// Everything stored by now, the messages appended during the walk included.
		checkMessages(t, "walked forwards", seen, f.allMessages(r.ID))
		if len(seen) < len(initial)+extra {
			t.Errorf("walked forwards: got %d messages, want at least %d", len(seen), len(initial)+extra)
		}
	})
}
