package chat_test

import (
	"context"
	"testing"
	"time"
	"unicode/utf8"

	"colachat/internal/chat"
)

func TestJoinNewChatter(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	r := h.room(t, chat.CreateRoomInput{})
	var admittedBeforeAlert bool
	in := chat.JoinInput{Namespace: "/anonymous", RoomID: r.ID, ConnID: "s1", Admitted: func(chat.Chatter) {
		admittedBeforeAlert = len(h.events.alerts(r.ID)) == 0
	}}
	c, token, err := h.svc.Join(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == "" || token == "" || c.Nickname == "" || utf8.RuneCountInString(c.Nickname) > 10 || !c.IsActive {
		t.Fatalf("got chatter %+v token %q, want a new active chatter with a nickname and a token", c, token)
	}
	if c.TokenHash != nil {
		t.Error("got a token hash in the returned chatter, want none")
	}
	if !admittedBeforeAlert {
		t.Error("Admitted was not called before the join alert")
	}
	ev := h.events.waitFor(t, "join alert", func(ev chat.Event) bool { return ev.Kind == chat.EventAlert })
	m := ev.Message
	if want := c.Nickname + "님이 입장했습니다."; m.Content != want || m.Type != chat.TypeAlert ||
		m.Alert == nil || m.Alert.Kind != chat.AlertJoin || m.Alert.Nickname != c.Nickname ||
		m.ChatterID != c.ID || m.Chatter.ID != c.ID || m.ID == 0 || ev.Namespace != "anonymous" {
		t.Fatalf("got join alert %+v, want %q from the chatter with its structured form", m, want)
	}
	if m.Chatter.TokenHash != nil {
		t.Error("got a token hash in a published message")
	}
	online := h.events.waitFor(t, "online list", func(ev chat.Event) bool { return ev.Kind == chat.EventChatters })
	if len(online.Chatters) != 1 || online.Chatters[0].ID != c.ID {
		t.Fatalf("got online %+v, want just the new chatter", online.Chatters)
	}
	if ok, _ := h.svc.ReentryCheck(ctx, r.ID, c.ID); !ok {
		t.Error("got reentry false for an online chatter")
	}
}

func TestJoinEnglishLocale(t *testing.T) {
	h := newHarness(t, chat.Config{Locale: "en"})
	r := h.room(t, chat.CreateRoomInput{})
	c := h.join(t, chat.JoinInput{RoomID: r.ID})
	ev := h.events.waitFor(t, "join alert", func(ev chat.Event) bool { return ev.Kind == chat.EventAlert })
	if want := c.Nickname + " joined."; ev.Message.Content != want {
		t.Fatalf("got %q, want %q", ev.Message.Content, want)
	}
	if n := utf8.RuneCountInString(c.Nickname); n > 10 || c.Nickname[0] < 'A' || c.Nickname[0] > 'Z' {
		t.Fatalf("got nickname %q, want a short English one", c.Nickname)
	}
}

func TestJoinRefusals(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{RoomTTL: time.Hour})
	r := h.room(t, chat.CreateRoomInput{})
	other := h.room(t, chat.CreateRoomInput{Namespace: "other"})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	tests := []struct {
		name string
		in   chat.JoinInput
		want chat.Code
	}{
		{"unknown room", chat.JoinInput{RoomID: "00000000-1111-4000-8000-000000000000"}, chat.CodeRoomNotFound},
		{"no room id", chat.JoinInput{}, chat.CodeBadRequest},
		{"other namespace", chat.JoinInput{RoomID: other.ID}, chat.CodeNamespaceMismatch},
		{"existing chatter without token", chat.JoinInput{RoomID: r.ID, ChatterID: a.ID}, chat.CodeForbidden},
		{"existing chatter with a wrong token", chat.JoinInput{RoomID: r.ID, ChatterID: a.ID, Token: "x" + a.token}, chat.CodeForbidden},
		{"system chatter id is nobody's", chat.JoinInput{RoomID: r.ID, ChatterID: "00000000-0000-0000-0000-000000000000"}, chat.CodeChatterNotFound},
		{"unknown chatter id", chat.JoinInput{RoomID: r.ID, ChatterID: "11111111-1111-4111-8111-111111111111", Token: "x"}, chat.CodeChatterNotFound},
		{"null chatter id makes a new chatter", chat.JoinInput{RoomID: r.ID}, ""},
		{"resume needs no token", chat.JoinInput{RoomID: r.ID, ChatterID: a.ID, Resume: true}, ""},
		{"resume of an unknown chatter", chat.JoinInput{RoomID: r.ID, ChatterID: "nobody", Resume: true}, chat.CodeChatterNotFound},
		{"existing chatter with its token", chat.JoinInput{RoomID: r.ID, ChatterID: a.ID, Token: a.token}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Namespace, tt.in.ConnID = "anonymous", "c-"+tt.name
			c, token, err := h.svc.Join(ctx, tt.in)
			wantCode(t, err, tt.want)
			if err == nil && tt.in.ChatterID != a.ID && (c.ID == tt.in.ChatterID || token == "") {
				t.Fatalf("got chatter %q token %q, want a new chatter with a token", c.ID, token)
			}
			if err == nil && tt.in.ChatterID == a.ID && (c.ID != a.ID || token != tt.in.Token) {
				t.Fatalf("got chatter %q token %q, want the same chatter and the token it presented", c.ID, token)
			}
		})
	}
	h.clock.Advance(time.Hour)
	_, _, err := h.svc.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: r.ID, ConnID: "late"})
	wantCode(t, err, chat.CodeRoomExpired)
}

func TestJoinPasswordRoom(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	r := h.room(t, chat.CreateRoomInput{IsPassword: true, Password: "pw"})
	open := h.room(t, chat.CreateRoomInput{})
	_, ticket, err := h.svc.AccessCheck(ctx, r.ID, "pw")
	if err != nil {
		t.Fatal(err)
	}
	_, openTicket, err := h.svc.AccessCheck(ctx, open.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	member := h.join(t, chat.JoinInput{RoomID: r.ID, Password: "pw"})
	outsider := h.join(t, chat.JoinInput{RoomID: open.ID})
	tests := []struct {
		name string
		in   chat.JoinInput
		want chat.Code
	}{
		{"no password", chat.JoinInput{}, chat.CodePasswordRequired},
		{"wrong password", chat.JoinInput{Password: "nope"}, chat.CodeWrongPassword},
		{"right password", chat.JoinInput{Password: "pw"}, ""},
		{"ticket", chat.JoinInput{Ticket: ticket}, ""},
		{"ticket of another room", chat.JoinInput{Ticket: openTicket}, chat.CodePasswordRequired},
		{"tampered ticket", chat.JoinInput{Ticket: ticket + "x"}, chat.CodePasswordRequired},
		{"member back with its token alone", chat.JoinInput{ChatterID: member.ID, Token: member.token}, ""},
		{"chatter of another room needs the password", chat.JoinInput{ChatterID: outsider.ID, Token: outsider.token}, chat.CodePasswordRequired},
		{"a resume is vouched for", chat.JoinInput{ChatterID: outsider.ID, Resume: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Namespace, tt.in.RoomID, tt.in.ConnID = "anonymous", r.ID, "c-"+tt.name
			_, _, err := h.svc.Join(ctx, tt.in)
			wantCode(t, err, tt.want)
		})
	}
	h.clock.Advance(5 * time.Minute)
	_, _, err = h.svc.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: r.ID, Ticket: ticket, ConnID: "late"})
	wantCode(t, err, chat.CodePasswordRequired)
}

func TestJoinCompatMode(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{Identity: chat.IdentityCompat})
	r := h.room(t, chat.CreateRoomInput{IsPassword: true, Password: "pw"})
	a := h.join(t, chat.JoinInput{RoomID: r.ID}) // no password needed
	c, token, err := h.svc.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: r.ID, ChatterID: a.ID, ConnID: "x"})
	if err != nil || c.ID != a.ID || token != "" {
		t.Fatalf("got %q %q %v, want the same chatter without a token", c.ID, token, err)
	}
	// A stale id (say, from before a purge) gets a new chatter, as in the original.
	stale := h.join(t, chat.JoinInput{RoomID: r.ID, ChatterID: "11111111-1111-4111-8111-111111111111"})
	if stale.ID == "11111111-1111-4111-8111-111111111111" || stale.token == "" {
		t.Fatalf("got %+v, want a new chatter", stale)
	}
	if _, err := h.svc.Rename(ctx, a.ID, "", "새이름"); err != nil {
		t.Fatalf("compat rename without token: %v", err)
	}
}

func TestCapacity(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{LeaveGrace: time.Hour})
	r := h.room(t, chat.CreateRoomInput{Capacity: 2})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	b := h.join(t, chat.JoinInput{RoomID: r.ID})
	_, _, err := h.svc.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: r.ID, ConnID: "third"})
	wantCode(t, err, chat.CodeRoomFull)
	// A second socket of a chatter already in is not counted again.
	h.join(t, chat.JoinInput{RoomID: r.ID, ChatterID: a.ID, Token: a.token})
	// A chatter within its leave grace does not hold a seat.
	if err := h.svc.Leave(ctx, r.ID, b.ID, b.conn); err != nil {
		t.Fatal(err)
	}
	c := h.join(t, chat.JoinInput{RoomID: r.ID})
	_, _, err = h.svc.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: r.ID, ChatterID: b.ID, Token: b.token, ConnID: "back"})
	wantCode(t, err, chat.CodeRoomFull)
	// The refused rejoin left b's pending leave in place: it becomes final at shutdown.
	h.stop()
	h.events.waitFor(t, "b's leave", func(ev chat.Event) bool {
		return ev.Kind == chat.EventAlert && ev.Message.Alert.Kind == chat.AlertLeave && ev.Message.ChatterID == b.ID
	})
	online, _ := h.presence.Online(ctx, r.ID)
	if len(online) != 2 || online[0] != a.ID || online[1] != c.ID {
		t.Fatalf("got online %v, want [%s %s]", online, a.ID, c.ID)
	}
}

func TestNicknamesAreUniqueAmongOnline(t *testing.T) {
	h := newHarness(t, chat.Config{})
	// After the six original names, 54 random picks from the 384 Korean combinations
	// collide with probability ~98% unless the picker avoids the nicknames online.
	r := h.room(t, chat.CreateRoomInput{Capacity: 60})
	seen := map[string]bool{}
	for range 60 {
		c := h.join(t, chat.JoinInput{RoomID: r.ID})
		if seen[c.Nickname] {
			t.Fatalf("got nickname %q twice", c.Nickname)
		}
		seen[c.Nickname] = true
	}
}

func TestSecondSocketMakesNoJoinNoise(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{LeaveGrace: time.Millisecond})
	r := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	second := h.join(t, chat.JoinInput{RoomID: r.ID, ChatterID: a.ID, Token: a.token})
	if err := h.svc.Leave(ctx, r.ID, a.ID, a.conn); err != nil {
		t.Fatal(err)
	}
	if ok, _ := h.svc.ReentryCheck(ctx, r.ID, a.ID); !ok {
		t.Fatal("got reentry false while a socket remains")
	}
	if err := h.svc.Leave(ctx, r.ID, a.ID, second.conn); err != nil {
		t.Fatal(err)
	}
	h.events.waitFor(t, "leave alert", func(ev chat.Event) bool {
		return ev.Kind == chat.EventAlert && ev.Message.Alert.Kind == chat.AlertLeave
	})
	if got := h.events.alerts(r.ID); len(got) != 2 || got[0] != chat.AlertJoin || got[1] != chat.AlertLeave {
		t.Fatalf("got alerts %v, want [join leave]", got)
	}
}

func TestLeaveAfterGrace(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{LeaveGrace: time.Millisecond})
	r := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	b := h.join(t, chat.JoinInput{RoomID: r.ID})
	h.events.reset()
	if err := h.svc.Leave(ctx, r.ID, a.ID, a.conn); err != nil {
		t.Fatal(err)
	}
	ev := h.events.waitFor(t, "leave alert", func(ev chat.Event) bool { return ev.Kind == chat.EventAlert })
	if want := a.Nickname + "님이 퇴장했습니다."; ev.Message.Content != want || ev.Message.Alert.Kind != chat.AlertLeave ||
		ev.Message.Alert.Nickname != a.Nickname || ev.Message.ChatterID != a.ID {
		t.Fatalf("got %+v, want the leave alert %q", ev.Message, want)
	}
	online := h.events.waitFor(t, "online list", func(ev chat.Event) bool { return ev.Kind == chat.EventChatters })
	if len(online.Chatters) != 1 || online.Chatters[0].ID != b.ID {
		t.Fatalf("got online %+v, want only b", online.Chatters)
	}
	c, err := h.store.Chatter(ctx, a.ID)
	if err != nil || c.IsActive {
		t.Fatalf("got chatter %+v %v, want it inactive", c, err)
	}
	members, _ := h.store.RoomChatters(ctx, r.ID)
	for _, m := range members {
		if m.ChatterID == a.ID && (m.IsActive || m.LeftAt == nil) {
			t.Fatalf("got membership %+v, want it closed", m)
		}
	}
	if ok, err := h.svc.ReentryCheck(ctx, r.ID, a.ID); ok || err != nil {
		t.Fatalf("got reentry %v %v after the grace, want false", ok, err)
	}
	// Coming back later is a fresh entry: a join alert again.
	h.events.reset()
	back := h.join(t, chat.JoinInput{RoomID: r.ID, ChatterID: a.ID, Token: a.token})
	if got := h.events.alerts(r.ID); len(got) != 1 || got[0] != chat.AlertJoin {
		t.Fatalf("got alerts %v, want [join]", got)
	}
	if stored, err := h.store.Chatter(ctx, a.ID); err != nil || !stored.IsActive || !back.IsActive {
		t.Fatalf("got stored %+v %v, returned active %v; want active again", stored, err, back.IsActive)
	}
}

func TestRejoinWithinGraceMakesNoNoise(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{LeaveGrace: time.Hour})
	r := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	if err := h.svc.Leave(ctx, r.ID, a.ID, a.conn); err != nil {
		t.Fatal(err)
	}
	if ok, _ := h.svc.ReentryCheck(ctx, r.ID, a.ID); !ok {
		t.Fatal("got reentry false within the grace, want true")
	}
	h.join(t, chat.JoinInput{RoomID: r.ID, ChatterID: a.ID, Token: a.token})
	h.stop() // would make a pending leave final
	if got := h.events.alerts(r.ID); len(got) != 1 || got[0] != chat.AlertJoin {
		t.Fatalf("got alerts %v, want only the first join", got)
	}
}

func TestPendingLeavesBecomeFinalAtShutdown(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{LeaveGrace: time.Hour})
	r := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	if err := h.svc.Leave(ctx, r.ID, a.ID, a.conn); err != nil {
		t.Fatal(err)
	}
	h.stop()
	if got := h.events.alerts(r.ID); len(got) != 2 || got[1] != chat.AlertLeave {
		t.Fatalf("got alerts %v, want [join leave]", got)
	}
	// After Run has ended a leave is final at once.
	b := h.join(t, chat.JoinInput{RoomID: r.ID})
	if err := h.svc.Leave(ctx, r.ID, b.ID, b.conn); err != nil {
		t.Fatal(err)
	}
	if got := h.events.alerts(r.ID); len(got) != 4 || got[3] != chat.AlertLeave {
		t.Fatalf("got alerts %v, want [join leave join leave]", got)
	}
}

func TestReentryCheckOddIDs(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	r := h.room(t, chat.CreateRoomInput{})
	for _, id := range []string{"undefined", "", "null", "0f8fad5b-d9cb-469f-a165-70867728950e", "a b"} {
		if ok, err := h.svc.ReentryCheck(ctx, r.ID, id); ok || err != nil {
			t.Errorf("ReentryCheck(%q): got %v %v, want false, nil", id, ok, err)
		}
	}
	if ok, err := h.svc.ReentryCheck(ctx, "undefined", "undefined"); ok || err != nil {
		t.Errorf("unknown room: got %v %v, want false, nil", ok, err)
	}
}

func TestLeaveOfUnknownSocketIsHarmless(t *testing.T) {
	h := newHarness(t, chat.Config{LeaveGrace: time.Millisecond})
	for _, args := range [][3]string{{"", "", ""}, {"r", "c", ""}, {"r", "c", "conn"}} {
		if err := h.svc.Leave(context.Background(), args[0], args[1], args[2]); err != nil {
			t.Errorf("Leave%v: got %v, want nil", args, err)
		}
	}
	h.stop()
	if got := h.events.all(); len(got) != 0 {
		t.Fatalf("got events %+v, want none", got)
	}
}
