package chat_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"colachat/internal/chat"
)

func TestRenameRefusesANicknameSomeoneInTheRoomHas(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{LeaveGrace: time.Millisecond})
	r := h.room(t, chat.CreateRoomInput{})
	elsewhere := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	b := h.join(t, chat.JoinInput{RoomID: r.ID})
	gone := h.join(t, chat.JoinInput{RoomID: r.ID})
	other := h.join(t, chat.JoinInput{RoomID: elsewhere.ID})
	if _, err := h.svc.Rename(ctx, other.ID, other.token, "콜라"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Leave(ctx, r.ID, gone.ID, gone.conn); err != nil {
		t.Fatal(err)
	}
	h.events.waitFor(t, "gone's leave", func(ev chat.Event) bool {
		return ev.Kind == chat.EventAlert && ev.Message.Alert.Kind == chat.AlertLeave && ev.Message.ChatterID == gone.ID
	})
	h.events.reset()

	tests := []struct {
		name, nickname string
		want           chat.Code
	}{
		{"someone online", a.Nickname, chat.CodeNicknameTaken},
		{"in another case and spacing", " " + strings.ToUpper(a.Nickname) + " ", chat.CodeNicknameTaken},
		{"someone who left (may come back)", gone.Nickname, chat.CodeNicknameTaken},
		{"someone in another room only", "콜라", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.Rename(ctx, b.ID, b.token, tt.nickname)
			wantCode(t, err, tt.want)
		})
	}
	stored, err := h.store.Chatter(ctx, b.ID)
	if err != nil || stored.Nickname != "콜라" {
		t.Fatalf("got %q %v, want b renamed only by the allowed rename", stored.Nickname, err)
	}
	if got := h.events.alerts(r.ID); len(got) != 1 || got[0] != chat.AlertRename {
		t.Fatalf("got alerts %v, want one rename alert", got)
	}
}

func TestRenameToOwnNicknameInAnotherCase(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{Locale: "en"})
	r := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	renamed, err := h.svc.Rename(ctx, a.ID, a.token, strings.ToLower(a.Nickname))
	if err != nil || renamed.Nickname != strings.ToLower(a.Nickname) {
		t.Fatalf("got %+v %v, want the new spelling of its own name", renamed, err)
	}
}

func TestConcurrentRenamesToOneNicknameLetOneWin(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	r := h.room(t, chat.CreateRoomInput{Capacity: 16})
	people := make([]joined, 8)
	for i := range people {
		people[i] = h.join(t, chat.JoinInput{RoomID: r.ID})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(people))
	for i, p := range people {
		wg.Go(func() { _, errs[i] = h.svc.Rename(ctx, p.ID, p.token, "같은이름") })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			wantCode(t, err, chat.CodeNicknameTaken)
		}
	}
	if won != 1 {
		t.Fatalf("got %d renames to one nickname, want exactly 1 (errors %v)", won, errs)
	}
}

// A room whose people keep coming and going never hands out a name someone in it has had:
// the feed never reads "너구리 입장 / 퇴장 / 입장" about two people.
func TestNewcomersNeverGetTheNameOfSomeoneWhoLeft(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{LeaveGrace: time.Millisecond})
	r := h.room(t, chat.CreateRoomInput{Capacity: 2})
	stay := h.join(t, chat.JoinInput{RoomID: r.ID})
	seen := map[string]bool{stay.Nickname: true}
	for i := range 40 {
		c := h.join(t, chat.JoinInput{RoomID: r.ID})
		if seen[c.Nickname] {
			t.Fatalf("newcomer %d got %q, which someone in the room already had", i, c.Nickname)
		}
		seen[c.Nickname] = true
		if err := h.svc.Leave(ctx, r.ID, c.ID, c.conn); err != nil {
			t.Fatal(err)
		}
		h.events.waitFor(t, "leave", func(ev chat.Event) bool {
			return ev.Kind == chat.EventAlert && ev.Message.Alert.Kind == chat.AlertLeave && ev.Message.ChatterID == c.ID
		})
	}
}

func TestNicknameFollowsTheJoinersLocale(t *testing.T) {
	h := newHarness(t, chat.Config{}) // Korean server
	r := h.room(t, chat.CreateRoomInput{Capacity: 16})
	isEnglish := func(n string) bool {
		for _, c := range n {
			if c > unicode.MaxASCII {
				return false
			}
		}
		return n != ""
	}
	for _, locale := range []string{"en", "en-US", "EN_gb"} {
		if c := h.join(t, chat.JoinInput{RoomID: r.ID, Locale: locale}); !isEnglish(c.Nickname) {
			t.Errorf("locale %q: got nickname %q, want an English one", locale, c.Nickname)
		}
	}
	for _, locale := range []string{"", "ko", "fr"} {
		if c := h.join(t, chat.JoinInput{RoomID: r.ID, Locale: locale}); isEnglish(c.Nickname) {
			t.Errorf("locale %q: got nickname %q, want a Korean one", locale, c.Nickname)
		}
	}
	// The stored alert text stays in the server's language, whoever joined.
	ev := h.events.waitFor(t, "join alert", func(ev chat.Event) bool { return ev.Kind == chat.EventAlert })
	if want := ev.Message.Alert.Nickname + "님이 입장했습니다."; ev.Message.Content != want {
		t.Fatalf("got %q, want %q", ev.Message.Content, want)
	}
}

func TestNormalizeLocale(t *testing.T) {
	for tag, want := range map[string]string{"ko": "ko", "ko-KR": "ko", "en": "en", "en-US": "en", "en_GB": "en", " EN ": "en", "fr": "", "": "", "english": ""} {
		if got := chat.NormalizeLocale(tag); got != want {
			t.Errorf("NormalizeLocale(%q): got %q, want %q", tag, got, want)
		}
	}
}

// Two nodes over one store and broker: each knows the names the other gave out and took,
// whether it learnt the room's names from the store or from the other's alerts.
func TestNicknamesAreUniqueAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, b, events := twoNodes(t, time.Hour)
	room, err := a.CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "t", Capacity: 16})
	if err != nil {
		t.Fatal(err)
	}
	join := func(svc *chat.Service, conn string) (chat.Chatter, string) {
		t.Helper()
		c, token, err := svc.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: room.ID, ConnID: conn})
		if err != nil {
			t.Fatal(err)
		}
		return c, token
	}
	onA, tokenA := join(a, "a1")
	if _, err := a.Rename(ctx, onA.ID, tokenA, "콜라"); err != nil {
		t.Fatal(err)
	}
	// b reads the room's names from the store on its first join there.
	onB, tokenB := join(b, "b1")
	if onB.Nickname == "콜라" {
		t.Fatalf("node b gave out %q, which a's chatter has", onB.Nickname)
	}
	if _, err := b.Rename(ctx, onB.ID, tokenB, "콜라"); chat.CodeOf(err) != chat.CodeNicknameTaken {
		t.Fatalf("rename on b to a's chatter's name: got %v, want NICKNAME_TAKEN", err)
	}
	// Later joins and renames on a reach b through their alerts.
	second, _ := join(a, "a2")
	events.waitFor(t, "second's join", func(ev chat.Event) bool {
		return ev.Kind == chat.EventAlert && ev.Message.ChatterID == second.ID
	})
	if _, err := b.Rename(ctx, onB.ID, tokenB, second.Nickname); chat.CodeOf(err) != chat.CodeNicknameTaken {
		t.Fatalf("rename on b to the name a just gave out: got %v, want NICKNAME_TAKEN", err)
	}
	if _, err := a.Rename(ctx, onA.ID, tokenA, "환타"); err != nil {
		t.Fatal(err)
	}
	events.waitFor(t, "rename to 환타", func(ev chat.Event) bool {
		return ev.Kind == chat.EventAlert && ev.Message.Alert.Kind == chat.AlertRename && ev.Message.Alert.NewNickname == "환타"
	})
	if _, err := b.Rename(ctx, onB.ID, tokenB, "환타"); chat.CodeOf(err) != chat.CodeNicknameTaken {
		t.Fatalf("rename on b to a's chatter's new name: got %v, want NICKNAME_TAKEN", err)
	}
	// 콜라 is free again for a rename (nobody has it now), though never given to a newcomer.
	if _, err := b.Rename(ctx, onB.ID, tokenB, "콜라"); err != nil {
		t.Fatalf("rename on b to a name nobody has now: %v", err)
	}
}

// A node that did not hear a room (it did not host it) reads its names again before naming
// anyone there: the room created on a, filled through b, then joined through a.
func TestANodeThatDidNotHostARoomReadsItsNamesAgain(t *testing.T) {
	ctx := context.Background()
	a, b, _ := twoNodes(t, time.Hour)
	room, err := a.CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "t", Capacity: 16})
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]bool{}
	for i := range 6 { // as many as the original's names: all of them are taken through b
		c, _, err := b.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: room.ID, ConnID: "b" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		taken[c.Nickname] = true
	}
	c, _, err := a.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: room.ID, ConnID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	if taken[c.Nickname] {
		t.Fatalf("node a named a newcomer %q, which a chatter who joined through b has", c.Nickname)
	}
}
