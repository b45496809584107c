package chat_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"colachat/internal/chat"
)

func TestSend(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{RoomTTL: time.Hour})
	r := h.room(t, chat.CreateRoomInput{})
	other := h.room(t, chat.CreateRoomInput{Namespace: "other"})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	tests := []struct {
		name string
		in   chat.SendInput
		want chat.Code
	}{
		{"message", chat.SendInput{Content: "안녕하세요"}, ""},
		{"1000 characters", chat.SendInput{Content: strings.Repeat("가", 1000)}, ""},
		{"1001 characters", chat.SendInput{Content: strings.Repeat("가", 1001)}, chat.CodeBadRequest},
		{"empty", chat.SendInput{Content: ""}, chat.CodeBadRequest},
		{"not UTF-8", chat.SendInput{Content: "\xc3\x28"}, chat.CodeBadRequest},
		{"not joined", chat.SendInput{Content: "hi", ChatterID: "-"}, chat.CodeNotJoined},
		{"unknown chatter", chat.SendInput{Content: "hi", ChatterID: "nobody"}, chat.CodeNotJoined},
		{"unknown room", chat.SendInput{Content: "hi", RoomID: "nowhere"}, chat.CodeRoomNotFound},
		{"other namespace", chat.SendInput{Content: "hi", RoomID: other.ID}, chat.CodeNamespaceMismatch},
		{"no room", chat.SendInput{Content: "hi", RoomID: "-"}, chat.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Namespace = "/anonymous"
			switch in.RoomID {
			case "":
				in.RoomID = r.ID
			case "-":
				in.RoomID = ""
			}
			switch in.ChatterID {
			case "":
				in.ChatterID = a.ID
			case "-":
				in.ChatterID = ""
			}
			h.events.reset()
			m, err := h.svc.Send(ctx, in)
			wantCode(t, err, tt.want)
			if err != nil {
				return
			}
			if m.ID == 0 || m.Type != chat.TypeMessage || m.Content != in.Content || m.Chatter.ID != a.ID || m.Chatter.Nickname != a.Nickname {
				t.Fatalf("got %+v, want the stored message with its chatter", m)
			}
			ev := h.events.waitFor(t, "message", func(ev chat.Event) bool { return ev.Kind == chat.EventMessage })
			if ev.Message.ID != m.ID || ev.RoomID != r.ID || ev.Message.Chatter.TokenHash != nil {
				t.Fatalf("got published %+v, want message %d without token hash", ev.Message, m.ID)
			}
		})
	}
	h.clock.Advance(time.Hour)
	_, err := h.svc.Send(ctx, chat.SendInput{Namespace: "anonymous", RoomID: r.ID, ChatterID: a.ID, Content: "late"})
	wantCode(t, err, chat.CodeRoomExpired)
}

func TestRenameAndClientAlert(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	r1 := h.room(t, chat.CreateRoomInput{})
	r2 := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r1.ID})
	h.join(t, chat.JoinInput{RoomID: r2.ID, ChatterID: a.ID, Token: a.token})
	b := h.join(t, chat.JoinInput{RoomID: r1.ID})

	_, err := h.svc.Rename(ctx, a.ID, "wrong", "새이름")
	wantCode(t, err, chat.CodeForbidden)
	_, err = h.svc.Rename(ctx, "nobody", a.token, "새이름")
	wantCode(t, err, chat.CodeChatterNotFound)
	_, err = h.svc.Rename(ctx, a.ID, a.token, strings.Repeat("이", 11))
	wantCode(t, err, chat.CodeBadRequest)
	_, err = h.svc.Rename(ctx, a.ID, a.token, "")
	wantCode(t, err, chat.CodeBadRequest)

	h.events.reset()
	c, err := h.svc.Rename(ctx, a.ID, a.token, "새이름")
	if err != nil || c.Nickname != "새이름" {
		t.Fatalf("got %+v %v, want the renamed chatter", c, err)
	}
	notice := a.Nickname + "님의 닉네임이 새이름로 변경되었습니다."
	for _, r := range []chat.Room{r1, r2} {
		ev := h.events.waitFor(t, "rename alert", func(ev chat.Event) bool { return ev.Kind == chat.EventAlert && ev.RoomID == r.ID })
		want := chat.Alert{Kind: chat.AlertRename, Nickname: a.Nickname, NewNickname: "새이름"}
		if ev.Message.Content != notice || *ev.Message.Alert != want || ev.Message.Chatter.Nickname != "새이름" {
			t.Fatalf("got %+v %+v, want %q %+v", ev.Message, ev.Message.Alert, notice, want)
		}
		h.events.waitFor(t, "online list", func(ev chat.Event) bool {
			return ev.Kind == chat.EventChatters && ev.RoomID == r.ID && ev.Chatters[0].Nickname == "새이름"
		})
	}

	before := countMessages(t, h, r1.ID)
	send := func(chatterID, content string) error {
		return h.svc.ClientAlert(ctx, chat.SendInput{Namespace: "anonymous", RoomID: r1.ID, ChatterID: chatterID, Content: content})
	}
	tests := []struct {
		name, chatter, content string
		want                   chat.Code
	}{
		{"own rename notice", a.ID, notice, ""},
		{"again", a.ID, notice, ""},
		{"someone else's notice", b.ID, notice, chat.CodeAlertForbidden},
		{"forged join", a.ID, "관리자님이 입장했습니다.", chat.CodeAlertForbidden},
		{"forged expiry", b.ID, "채팅방이 만료되었습니다.", chat.CodeAlertForbidden},
		{"not joined", "", notice, chat.CodeNotJoined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, send(tt.chatter, tt.content), tt.want)
		})
	}
	if after := countMessages(t, h, r1.ID); after != before {
		t.Fatalf("got %d messages after client alerts, want still %d", after, before)
	}
	// The notice is only accepted while recent.
	h.clock.Advance(10 * time.Minute)
	wantCode(t, send(a.ID, notice), chat.CodeAlertForbidden)

	// Renaming to the same nickname makes no alert.
	h.events.reset()
	if _, err := h.svc.Rename(ctx, a.ID, a.token, "새이름"); err != nil {
		t.Fatal(err)
	}
	if got := h.events.alerts(r1.ID); len(got) != 0 {
		t.Fatalf("got alerts %v, want none", got)
	}
}

func TestClientAlertEnglishServerAcceptsKoreanNotice(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{Locale: "en"})
	r := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	if _, err := h.svc.Rename(ctx, a.ID, a.token, "Newbie"); err != nil {
		t.Fatal(err)
	}
	ev := h.events.waitFor(t, "rename", func(ev chat.Event) bool {
		return ev.Kind == chat.EventAlert && ev.Message.Alert.Kind == chat.AlertRename
	})
	if want := a.Nickname + " is now Newbie."; ev.Message.Content != want {
		t.Fatalf("got %q, want %q", ev.Message.Content, want)
	}
	for _, content := range []string{a.Nickname + "님의 닉네임이 Newbie로 변경되었습니다.", a.Nickname + " is now Newbie."} {
		if err := h.svc.ClientAlert(ctx, chat.SendInput{Namespace: "anonymous", RoomID: r.ID, ChatterID: a.ID, Content: content}); err != nil {
			t.Errorf("ClientAlert(%q): %v", content, err)
		}
	}
}

func countMessages(t *testing.T, h *harness, roomID string) int {
	t.Helper()
	ms, err := h.store.Messages(context.Background(), chat.MessageQuery{RoomID: roomID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

func TestHistory(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{RoomTTL: time.Hour})
	r := h.room(t, chat.CreateRoomInput{})
	early := h.join(t, chat.JoinInput{RoomID: r.ID})
	send := func(c joined, content string) int64 {
		m, err := h.svc.Send(ctx, chat.SendInput{Namespace: "anonymous", RoomID: r.ID, ChatterID: c.ID, Content: content})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	send(early, "before late joined")
	late := h.join(t, chat.JoinInput{RoomID: r.ID})
	firstLate, err := h.store.FirstMessageID(ctx, r.ID, late.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 45 {
		ids = append(ids, send(early, "m"+string(rune('a'+i%26))))
	}
	visible := append([]int64{firstLate}, ids...) // 46 messages from late's join alert on

	q := func(mod func(*chat.HistoryQuery)) chat.HistoryQuery {
		hq := chat.HistoryQuery{RoomID: r.ID, ChatterID: late.ID, Token: late.token}
		mod(&hq)
		return hq
	}
	tests := []struct {
		name    string
		q       chat.HistoryQuery
		want    []int64
		wantErr chat.Code
	}{
		{"page 1 is the newest 20", q(func(q *chat.HistoryQuery) { q.Page = 1 }), visible[26:], ""},
		{"page 2", q(func(q *chat.HistoryQuery) { q.Page = 2 }), visible[6:26], ""},
		{"page 3 stops at the join alert", q(func(q *chat.HistoryQuery) { q.Page = 3 }), visible[:6], ""},
		{"page 4 is empty", q(func(q *chat.HistoryQuery) { q.Page = 4 }), nil, ""},
		{"cursor default limit 50", q(func(q *chat.HistoryQuery) { q.Limit = 0; q.Before = 1 << 40 }), visible, ""},
		{"limit alone is the newest", q(func(q *chat.HistoryQuery) { q.Limit = 5 }), visible[41:], ""},
		{"before", q(func(q *chat.HistoryQuery) { q.Before = visible[10]; q.Limit = 3 }), visible[7:10], ""},
		{"after", q(func(q *chat.HistoryQuery) { q.After = visible[10]; q.Limit = 3 }), visible[11:14], ""},
		{"after=0 starts at the join alert", q(func(q *chat.HistoryQuery) { q.HasAfter = true; q.Limit = 2 }), visible[:2], ""},
		{"page is ignored with a cursor", q(func(q *chat.HistoryQuery) { q.Page = 5; q.Limit = 2 }), visible[44:], ""},
		{"no chatter", q(func(q *chat.HistoryQuery) { q.ChatterID = ""; q.Page = 1 }), nil, ""},
		{"unknown chatter", q(func(q *chat.HistoryQuery) { q.ChatterID = "undefined"; q.Page = 1 }), nil, ""},
		{"no token", q(func(q *chat.HistoryQuery) { q.Token = ""; q.Page = 1 }), nil, chat.CodeForbidden},
		{"someone else's token", q(func(q *chat.HistoryQuery) { q.Token = early.token; q.Page = 1 }), nil, chat.CodeForbidden},
		{"limit 101", q(func(q *chat.HistoryQuery) { q.Limit = 101 }), nil, chat.CodeBadRequest},
		{"page 0", q(func(q *chat.HistoryQuery) {}), nil, chat.CodeBadRequest},
		{"before and after", q(func(q *chat.HistoryQuery) { q.Before, q.After = 5, 1 }), nil, chat.CodeBadRequest},
		{"negative before", q(func(q *chat.HistoryQuery) { q.Before = -1 }), nil, chat.CodeBadRequest},
		{"unknown room", q(func(q *chat.HistoryQuery) { q.RoomID = "nowhere"; q.Page = 1 }), nil, chat.CodeRoomNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := h.svc.History(ctx, tt.q)
			wantCode(t, err, tt.wantErr)
			if err != nil {
				return
			}
			got := make([]int64, len(ms))
			for i, m := range ms {
				got[i] = m.ID
				if m.Chatter.ID == "" || m.Chatter.TokenHash != nil {
					t.Fatalf("message %d: got chatter %+v, want it embedded without token hash", m.ID, m.Chatter)
				}
			}
			if ms == nil || !equalIDs(got, tt.want) {
				t.Fatalf("got ids %v, want %v (non-nil)", got, tt.want)
			}
		})
	}
	// The cursor never skips or repeats while messages keep arriving.
	var walked []int64
	before := int64(0)
	for {
		hq := q(func(q *chat.HistoryQuery) { q.Limit = 7; q.Before = before })
		ms, err := h.svc.History(ctx, hq)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
		send(early, "arriving meanwhile")
		page := make([]int64, len(ms))
		for i, m := range ms {
			page[i] = m.ID
		}
		walked = append(page, walked...)
		before = ms[0].ID
	}
	if !equalIDs(walked, visible) {
		t.Fatalf("cursor walk got %v, want %v", walked, visible)
	}

	h.clock.Advance(time.Hour)
	_, err = h.svc.History(ctx, q(func(q *chat.HistoryQuery) { q.Page = 1 }))
	wantCode(t, err, chat.CodeRoomExpired)
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMissed(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	r1 := h.room(t, chat.CreateRoomInput{})
	r2 := h.room(t, chat.CreateRoomInput{})
	r3 := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r1.ID})
	h.join(t, chat.JoinInput{RoomID: r2.ID, ChatterID: a.ID, Token: a.token})
	h.join(t, chat.JoinInput{RoomID: r3.ID, ChatterID: a.ID, Token: a.token})
	send := func(r chat.Room, content string) chat.Message {
		t.Helper()
		m, err := h.svc.Send(ctx, chat.SendInput{Namespace: "anonymous", RoomID: r.ID, ChatterID: a.ID, Content: content})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	seen1 := send(r1, "seen") // r1: join alert 1, this 2
	var want []string
	for i := range 6 {
		r := []chat.Room{r1, r2, r3}[i%3]
		m := send(r, fmt.Sprintf("missed %d", i))
		if r.ID != r3.ID {
			want = append(want, fmt.Sprintf("%s:%d", m.RoomID[:4], m.Seq))
		}
	}
	// r1 from the position after "seen"; r2 with no position (from a's join alert, which is
	// position 1 there); r3 not asked for; an unknown room skipped.
	from := []chat.Resume{
		{RoomID: r1.ID, ChatterID: a.ID, AfterSeq: seen1.Seq},
		{RoomID: r2.ID, ChatterID: a.ID},
		{RoomID: "0b9a6a3e-54a1-4b6f-9d0e-5f1c2d3e4f50", ChatterID: a.ID},
	}
	ms, err := h.svc.Missed(ctx, from, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		if m.Type == chat.TypeMessage {
			got = append(got, fmt.Sprintf("%s:%d", m.RoomID[:4], m.Seq))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Room by room, as asked: r1's two, then r2's join alert and its two.
	if len(ms) != 5 || ms[2].RoomID != r2.ID || ms[2].Type != chat.TypeAlert || ms[2].Seq != 1 {
		t.Fatalf("got %d messages, want r1's 2 missed ones, then r2's join alert and 2 missed ones", len(ms))
	}
	ms, _ = h.svc.Missed(ctx, from, 1)
	if len(ms) != 2 || ms[0].Seq != seen1.Seq+1 || ms[1].Seq != seen1.Seq+2 {
		t.Fatalf("got %d messages with a limit of 1, want the first 2 (one more than the limit)", len(ms))
	}
}

func TestTyping(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{TypingEvery: time.Hour})
	r := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	h.events.reset()
	for range 3 {
		if err := h.svc.Typing(ctx, r.ID, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	var typing []chat.Event
	for _, ev := range h.events.all() {
		if ev.Kind == chat.EventTyping {
			typing = append(typing, ev)
		}
	}
	if len(typing) != 1 || typing[0].Typing.ChatterID != a.ID || typing[0].Typing.Nickname != a.Nickname || typing[0].RoomID != r.ID {
		t.Fatalf("got typing events %+v, want exactly one from %s", typing, a.ID)
	}
	wantCode(t, h.svc.Typing(ctx, r.ID, ""), chat.CodeNotJoined)
	if n := countMessages(t, h, r.ID); n != 1 {
		t.Fatalf("got %d stored messages, want only the join alert", n)
	}
}

func TestSweepExpiresAndPurges(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{RoomTTL: time.Hour, Retention: time.Hour, SweepEvery: time.Millisecond})
	r := h.room(t, chat.CreateRoomInput{})
	keep := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	h.clock.Advance(30 * time.Minute)
	keep2 := h.room(t, chat.CreateRoomInput{}) // expires half an hour after the others
	h.clock.Advance(30 * time.Minute)
	_ = keep
	exp := h.events.waitFor(t, "roomExpired", func(ev chat.Event) bool { return ev.Kind == chat.EventExpired && ev.RoomID == r.ID })
	if exp.Namespace != "anonymous" {
		t.Errorf("got namespace %q, want anonymous", exp.Namespace)
	}
	var alertIdx, expiredIdx = -1, -1
	for i, ev := range h.events.all() {
		if ev.RoomID != r.ID {
			continue
		}
		if ev.Kind == chat.EventAlert && ev.Message.Alert.Kind == chat.AlertExpire {
			alertIdx = i
			if ev.Message.Content != "채팅방이 만료되었습니다." || ev.Message.Chatter.ID == "" {
				t.Errorf("got expiry alert %+v, want the Korean text with a chatter", ev.Message)
			}
		}
		if ev.Kind == chat.EventExpired {
			expiredIdx = i
		}
	}
	if alertIdx < 0 || alertIdx > expiredIdx {
		t.Fatalf("got expire alert at %d and roomExpired at %d, want the alert first", alertIdx, expiredIdx)
	}
	// Leaving an expired room makes no leave alert.
	if err := h.svc.Leave(ctx, r.ID, a.ID, a.conn); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour) // r and keep are past retention, keep2 not yet
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := h.store.Room(ctx, r.ID); err != nil {
			break // purged
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired room was never purged")
		}
	}
	if _, err := h.store.Room(ctx, keep2.ID); err != nil {
		t.Fatalf("got %v for a room within retention, want it kept", err)
	}
	h.stop()
	if got := h.events.alerts(r.ID); len(got) != 2 || got[0] != chat.AlertJoin || got[1] != chat.AlertExpire {
		t.Fatalf("got alerts %v, want [join expire] only", got)
	}
}

// Concurrent senders share commits and publish in any order; the service's subscribers get
// the room's messages once each, in Seq order, without a gap.
func TestARoomsMessagesAreDeliveredInSeqOrder(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	r := h.room(t, chat.CreateRoomInput{Capacity: 16})
	var senders []joined
	for i := 0; i < 8; i++ {
		senders = append(senders, h.join(t, chat.JoinInput{RoomID: r.ID}))
	}
	ordered := &recorder{notify: make(chan struct{}, 1)}
	defer h.svc.Subscribe(ordered.add)()
	last, err := h.store.LastSeq(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, c := range senders {
		wg.Go(func() {
			for i := 0; i < 25; i++ {
				if _, err := h.svc.Send(ctx, chat.SendInput{Namespace: "/anonymous", RoomID: r.ID, ChatterID: c.ID, Content: "hi"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	n := 0
	for _, ev := range ordered.all() {
		if ev.Kind != chat.EventMessage {
			continue
		}
		n++
		if ev.Message.Seq != last+1 {
			t.Fatalf("got message %d after %d: a member would see a gap or a reordering", ev.Message.Seq, last)
		}
		last = ev.Message.Seq
	}
	if n != 200 {
		t.Fatalf("got %d delivered messages, want 200", n)
	}
}

// A big room's online list is not broadcast at every join: the joins of a burst share one
// list, sent after the last of their alerts; a member who asks gets it alone.
func TestBigRoomOnlineListIsGathered(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{MaxCapacity: 1000})
	r := h.room(t, chat.CreateRoomInput{Capacity: 500})
	h.events.reset()
	var last joined
	for range 5 {
		last = h.join(t, chat.JoinInput{RoomID: r.ID})
	}
	lists := func() (n int, latest []chat.Chatter, after int64) {
		for _, ev := range h.events.all() {
			if ev.Kind == chat.EventChatters {
				n++
				latest, after = ev.Chatters, ev.After
			}
		}
		return
	}
	if n, _, _ := lists(); n != 0 {
		t.Fatalf("got %d online lists at once, want them gathered", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, latest, after := lists()
		if n == 1 {
			seq, _ := h.store.LastSeq(ctx, r.ID)
			if len(latest) != 5 || latest[4].ID != last.ID || after != seq {
				t.Fatalf("got a list of %d after %d, want the 5 members after the last join alert (%d)", len(latest), after, seq)
			}
			break
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("got %d online lists, want exactly one for the burst", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	list, err := h.svc.RequestOnline(ctx, r.ID)
	if err != nil || len(list) != 5 {
		t.Fatalf("RequestOnline: got %d chatters (%v), want the 5 for the asker", len(list), err)
	}
	small := h.room(t, chat.CreateRoomInput{Capacity: 16})
	h.join(t, chat.JoinInput{RoomID: small.ID})
	if list, err := h.svc.RequestOnline(ctx, small.ID); err != nil || list != nil {
		t.Fatalf("RequestOnline in a small room: got %v (%v), want a broadcast instead", list, err)
	}
}
