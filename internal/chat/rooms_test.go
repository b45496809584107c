package chat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"colachat/internal/chat"
)

func TestCreateRoomValidation(t *testing.T) {
	h := newHarness(t, chat.Config{MaxCapacity: 100}) // a deployment that allows up to 100
	ok := chat.CreateRoomInput{Namespace: "anonymous", Title: "hello", Capacity: 4}
	with := func(f func(*chat.CreateRoomInput)) chat.CreateRoomInput {
		in := ok
		f(&in)
		return in
	}
	tests := []struct {
		name string
		in   chat.CreateRoomInput
		want chat.Code
	}{
		{"plain room", ok, ""},
		{"30 Korean characters", with(func(in *chat.CreateRoomInput) { in.Title = strings.Repeat("가", 30) }), ""},
		{"password room", with(func(in *chat.CreateRoomInput) { in.IsPassword, in.Password = true, "비밀번호1234" }), ""},
		{"capacity 2", with(func(in *chat.CreateRoomInput) { in.Capacity = 2 }), ""},
		{"capacity 100", with(func(in *chat.CreateRoomInput) { in.Capacity = 100 }), ""},
		{"title 31 characters", with(func(in *chat.CreateRoomInput) { in.Title = strings.Repeat("가", 31) }), chat.CodeBadRequest},
		{"empty title", with(func(in *chat.CreateRoomInput) { in.Title = "" }), chat.CodeBadRequest},
		{"blank title", with(func(in *chat.CreateRoomInput) { in.Title = "   " }), chat.CodeBadRequest},
		{"title not UTF-8", with(func(in *chat.CreateRoomInput) { in.Title = "a\xffb" }), chat.CodeBadRequest},
		{"empty namespace", with(func(in *chat.CreateRoomInput) { in.Namespace = "" }), chat.CodeBadRequest},
		{"namespace with space", with(func(in *chat.CreateRoomInput) { in.Namespace = "a b" }), chat.CodeBadRequest},
		{"capacity 1", with(func(in *chat.CreateRoomInput) { in.Capacity = 1 }), chat.CodeBadRequest},
		{"capacity 101, above the configured maximum", with(func(in *chat.CreateRoomInput) { in.Capacity = 101 }), chat.CodeBadRequest},
		{"isPassword without password", with(func(in *chat.CreateRoomInput) { in.IsPassword = true }), chat.CodeBadRequest},
		{"password without isPassword", with(func(in *chat.CreateRoomInput) { in.Password = "x" }), chat.CodeBadRequest},
		{"password 13 characters", with(func(in *chat.CreateRoomInput) { in.IsPassword, in.Password = true, strings.Repeat("p", 13) }), chat.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.CreateRoom(context.Background(), tt.in)
			wantCode(t, err, tt.want)
		})
	}
}

func TestCreateRoomStoresHashAndExpiry(t *testing.T) {
	h := newHarness(t, chat.Config{RoomTTL: 3 * time.Hour, PasswordCost: 5})
	r := h.room(t, chat.CreateRoomInput{IsPassword: true, Password: "secret"})
	got, err := h.store.Room(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash == "secret" || bcrypt.CompareHashAndPassword([]byte(got.PasswordHash), []byte("secret")) != nil {
		t.Fatalf("got password hash %q, want a bcrypt hash of the password", got.PasswordHash)
	}
	if cost, _ := bcrypt.Cost([]byte(got.PasswordHash)); cost != 5 {
		t.Errorf("got bcrypt cost %d, want the configured 5", cost)
	}
	if want := h.clock.Now().Add(3 * time.Hour); !got.ExpiresAt.Equal(want) {
		t.Errorf("got expiresAt %v, want %v", got.ExpiresAt, want)
	}
	if len(r.ID) != 36 || r.ID[14] != '4' {
		t.Errorf("got id %q, want a version 4 UUID", r.ID)
	}
	rooms, err := h.svc.Rooms(context.Background())
	if err != nil || len(rooms) != 1 || rooms[0].ID != r.ID {
		t.Fatalf("got rooms %v, %v; want the one room", rooms, err)
	}
}

func TestAccessCheck(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	open := h.room(t, chat.CreateRoomInput{})
	locked := h.room(t, chat.CreateRoomInput{IsPassword: true, Password: "pw"})
	full := h.room(t, chat.CreateRoomInput{Capacity: 2})
	h.join(t, chat.JoinInput{RoomID: full.ID})
	h.join(t, chat.JoinInput{RoomID: full.ID})
	tests := []struct {
		name        string
		roomID, pw  string
		wantAllowed bool
		wantCode    chat.Code
	}{
		{"open room", open.ID, "", true, ""},
		{"right password", locked.ID, "pw", true, ""},
		{"wrong password", locked.ID, "nope", false, ""},
		{"empty password", locked.ID, "", false, ""},
		{"full room", full.ID, "", false, chat.CodeRoomFull},
		{"unknown room", "3f0c2c55-0000-4000-8000-000000000000", "", false, chat.CodeRoomNotFound},
		{"garbage id", "../../etc", "", false, chat.CodeRoomNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allowed, ticket, err := h.svc.AccessCheck(ctx, tt.roomID, tt.pw)
			wantCode(t, err, tt.wantCode)
			if allowed != tt.wantAllowed || (ticket != "") != tt.wantAllowed {
				t.Fatalf("got allowed %v ticket %q, want allowed %v with a ticket exactly when allowed", allowed, ticket, tt.wantAllowed)
			}
		})
	}
}

func TestAccessCheckLimitsWrongPasswordsPerRoom(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{AccessAttempts: chat.RateLimit{Burst: 3, Per: time.Hour}})
	locked := h.room(t, chat.CreateRoomInput{IsPassword: true, Password: "pw"})
	other := h.room(t, chat.CreateRoomInput{IsPassword: true, Password: "pw"})
	for i := range 3 {
		allowed, _, err := h.svc.AccessCheck(ctx, locked.ID, "wrong")
		if allowed || err != nil {
			t.Fatalf("attempt %d: got %v, %v; want refused without error", i, allowed, err)
		}
	}
	_, _, err := h.svc.AccessCheck(ctx, locked.ID, "pw")
	wantCode(t, err, chat.CodeRateLimited)
	if allowed, _, err := h.svc.AccessCheck(ctx, other.ID, "pw"); !allowed || err != nil {
		t.Fatalf("other room: got %v, %v; want allowed", allowed, err)
	}
	// Joining with a password counts against the same limit.
	_, _, err = h.svc.Join(ctx, chat.JoinInput{Namespace: "anonymous", RoomID: locked.ID, Password: "pw", ConnID: "c"})
	wantCode(t, err, chat.CodeRateLimited)
}

func TestAccessCheckOnExpiredRoomMarksAndAnnouncesIt(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{RoomTTL: time.Hour})
	r := h.room(t, chat.CreateRoomInput{})
	h.clock.Advance(time.Hour)
	_, _, err := h.svc.AccessCheck(ctx, r.ID, "")
	wantCode(t, err, chat.CodeRoomExpired)
	got, err := h.store.Room(ctx, r.ID)
	if err != nil || !got.IsExpired {
		t.Fatalf("got room %+v, %v; want it marked expired", got, err)
	}
	h.events.waitFor(t, "roomExpired", func(ev chat.Event) bool { return ev.Kind == chat.EventExpired && ev.RoomID == r.ID })
	if kinds := h.events.alerts(r.ID); len(kinds) != 1 || kinds[0] != chat.AlertExpire {
		t.Fatalf("got alerts %v, want one expire alert", kinds)
	}
	// A second look does not announce it again.
	_, _, err = h.svc.AccessCheck(ctx, r.ID, "")
	wantCode(t, err, chat.CodeRoomExpired)
	if kinds := h.events.alerts(r.ID); len(kinds) != 1 {
		t.Fatalf("got alerts %v, want still one", kinds)
	}
}

func TestRoomDetail(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, chat.Config{})
	r := h.room(t, chat.CreateRoomInput{})
	a := h.join(t, chat.JoinInput{RoomID: r.ID})
	got, members, err := h.svc.RoomDetail(ctx, r.ID)
	if err != nil || got.ID != r.ID || len(members) != 1 || members[0].ChatterID != a.ID {
		t.Fatalf("got %+v %+v %v, want the room with its one member", got, members, err)
	}
	_, _, err = h.svc.RoomDetail(ctx, "undefined")
	wantCode(t, err, chat.CodeRoomNotFound)
	h.join(t, chat.JoinInput{RoomID: r.ID})
	if n, err := h.svc.OnlineCount(ctx, r.ID); n != 2 || err != nil {
		t.Fatalf("got online count %d %v, want 2", n, err)
	}
	if err := h.svc.Leave(ctx, r.ID, a.ID, a.conn); err != nil {
		t.Fatal(err)
	}
	if n, err := h.svc.OnlineCount(ctx, r.ID); n != 1 || err != nil {
		t.Fatalf("got online count %d %v after a leave (in its grace), want 1", n, err)
	}
}

func TestDefaultMaxCapacity(t *testing.T) {
	h := newHarness(t, chat.Config{})
	ctx := context.Background()
	if _, err := h.svc.CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "big", Capacity: 1000}); err != nil {
		t.Fatalf("a room of 1,000: %v", err)
	}
	_, err := h.svc.CreateRoom(ctx, chat.CreateRoomInput{Namespace: "anonymous", Title: "too big", Capacity: 1001})
	if chat.CodeOf(err) != chat.CodeBadRequest {
		t.Fatalf("a room of 1,001: got %v, want BAD_REQUEST", err)
	}
	if got := h.svc.Limits().MaxCapacity; got != 1000 {
		t.Fatalf("Limits().MaxCapacity: got %d, want 1000", got)
	}
}
