package httpapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"colachat/internal/chat"
)

// fakeService records what the API asked and answers with canned results.
type fakeService struct {
	mu    sync.Mutex
	calls []string

	createIn  chat.CreateRoomInput
	historyQ  chat.HistoryQuery
	renameArg [3]string
	accessPwd string

	err     error // returned by every method when set
	allowed bool
	panics  bool
}

var (
	fakeTime = time.Date(2024, 9, 18, 18, 39, 3, 0, time.UTC)
	fakeRoom = chat.Room{
		ID: "11111111-1111-4111-8111-111111111111", Title: "cola", Namespace: "anonymous",
		PasswordHash: "$2a$10$secret", Capacity: 4, CreatedAt: fakeTime, ExpiresAt: fakeTime.Add(24 * time.Hour),
	}
	fakeChatter = chat.Chatter{ID: "22222222-2222-4222-8222-222222222222", Nickname: "개구리", TokenHash: []byte("hash"), CreatedAt: fakeTime, IsActive: true}
)

func (f *fakeService) record(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	if f.panics {
		panic("boom")
	}
	return f.err
}

func (f *fakeService) CreateRoom(_ context.Context, in chat.CreateRoomInput) (chat.Room, error) {
	f.createIn = in
	if err := f.record("CreateRoom"); err != nil {
		return chat.Room{}, err
	}
	r := fakeRoom
	r.Title, r.Namespace, r.Capacity, r.IsPassword = in.Title, in.Namespace, in.Capacity, in.IsPassword
	return r, nil
}

func (f *fakeService) Rooms(context.Context) ([]chat.Room, error) {
	if err := f.record("Rooms"); err != nil {
		return nil, err
	}
	return []chat.Room{fakeRoom}, nil
}

func (f *fakeService) RoomDetail(_ context.Context, roomID string) (chat.Room, []chat.RoomChatter, error) {
	if err := f.record("RoomDetail " + roomID); err != nil {
		return chat.Room{}, nil, err
	}
	if roomID == "empty" {
		return fakeRoom, nil, nil
	}
	return fakeRoom, []chat.RoomChatter{{ID: 7, RoomID: fakeRoom.ID, ChatterID: fakeChatter.ID, JoinedAt: fakeTime, IsActive: true}}, nil
}

func (f *fakeService) OnlineCount(context.Context, string) (int, error) { return 1, nil }

func (f *fakeService) AccessCheck(_ context.Context, roomID, password string) (bool, string, error) {
	f.accessPwd = password
	if err := f.record("AccessCheck " + roomID); err != nil {
		return false, "", err
	}
	if !f.allowed {
		return false, "", nil
	}
	return true, "ticket-1", nil
}

func (f *fakeService) ReentryCheck(_ context.Context, roomID, chatterID string) (bool, error) {
	if err := f.record("ReentryCheck " + roomID + " " + chatterID); err != nil {
		return false, err
	}
	return chatterID == fakeChatter.ID, nil
}

func (f *fakeService) History(_ context.Context, q chat.HistoryQuery) ([]chat.Message, error) {
	f.historyQ = q
	if err := f.record("History"); err != nil {
		return nil, err
	}
	if q.ChatterID == "" {
		return []chat.Message{}, nil
	}
	return []chat.Message{{ID: 3, Seq: 2, Type: chat.TypeMessage, Content: "hi", SentAt: fakeTime, RoomID: fakeRoom.ID, ChatterID: fakeChatter.ID, Chatter: fakeChatter}}, nil
}

func (f *fakeService) Rename(_ context.Context, chatterID, token, nickname string) (chat.Chatter, error) {
	f.renameArg = [3]string{chatterID, token, nickname}
	if err := f.record("Rename"); err != nil {
		return chat.Chatter{}, err
	}
	c := fakeChatter
	c.Nickname = nickname
	return c, nil
}

func (f *fakeService) Limits() chat.Limits {
	f.record("Limits") //nolint:errcheck // the limits cannot fail
	return chat.Limits{MinCapacity: 2, MaxCapacity: 1000, MaxTitle: 30, MaxPassword: 12, MaxNickname: 10, MaxContent: 1000}
}

// allowN lets the first n requests per key through.
type allowN struct {
	mu   sync.Mutex
	n    int
	seen map[string]int
}

func (l *allowN) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	l.seen[key]++
	return l.seen[key] <= l.n
}

var errDisk = errors.New("disk on fire")
