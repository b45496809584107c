package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"colachat/internal/chat"
)

var writeTests = []subtest{
	{"ConcurrentMixedWrites", testConcurrentMixedWrites},
}

// testConcurrentMixedWrites runs writes of every kind at once, as a burst of joins, renames
// and leaves does, with refused writes among them. A store may share one transaction among
// concurrent writes of any kind: each write must still succeed or fail on its own, and
// every acknowledged one must be stored.
func testConcurrentMixedWrites(t *testing.T, h *harness) {
	f := h.newFixture(t)
	r := f.room(base)
	existing := f.chatter("터줏대감")
	const joiners = 24
	results := make([]joinResult, joiners)
	errs := make([]error, joiners)
	var wg sync.WaitGroup
	for i := range joiners {
		wg.Go(func() { results[i], errs[i] = mixedJoin(f, r, i) })
	}

	// Each refused write, with whether the suite requires chat.ErrNotFound.
	refused := []struct {
		name     string
		notFound bool
		do       func() error
	}{
		{"CreateRoom of an existing id", false, func() error { return f.s.CreateRoom(f.ctx, r) }},
		{"CreateChatter of an existing id", false, func() error { return f.s.CreateChatter(f.ctx, existing) }},
		{"JoinRoom of an unknown room", false, func() error {
			_, _, err := JoinRoom(f.ctx, f.s, newID(), existing.ID, base)
			return err
		}},
		{"LeaveRoom without a membership", true, func() error { return f.s.LeaveRoom(f.ctx, r.ID, existing.ID, base) }},
		{"RenameChatter of an unknown id", true, func() error {
			_, err := f.s.RenameChatter(f.ctx, newID(), "유령")
			return err
		}},
		{"SetChatterActive of an unknown id", true, func() error { return f.s.SetChatterActive(f.ctx, newID(), true) }},
		{"ClaimRoomExpiry of an unknown id", true, func() error {
			_, err := f.s.ClaimRoomExpiry(f.ctx, newID())
			return err
		}},
		{"AppendMessage to an unknown room", false, func() error {
			m := message(r, existing, "nowhere")
			m.RoomID = newID()
			_, err := f.s.AppendMessage(f.ctx, m)
			return err
		}},
	}
	const rounds = 3
	refusedErrs := make([]error, len(refused)*rounds)
	for round := range rounds {
		for i, rf := range refused {
			wg.Go(func() { refusedErrs[round*len(refused)+i] = rf.do() })
		}
	}
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("joiner %d: %v", i, err)
		}
	}
	for i, err := range refusedErrs {
		rf := refused[i%len(refused)]
		switch {
		case err == nil:
			t.Errorf("%s: got no error, want one", rf.name)
		case rf.notFound && !errors.Is(err, chat.ErrNotFound):
			t.Errorf("%s: got error %v, want one wrapping chat.ErrNotFound", rf.name, err)
		}
	}
	if t.Failed() {
		return
	}

	// Everything acknowledged is there, and nothing of the refused writes.
	members, err := f.s.RoomChatters(f.ctx, r.ID)
	if err != nil {
		t.Fatalf("RoomChatters: %v", err)
	}
	byChatter := map[string]chat.RoomChatter{}
	for _, m := range members {
		byChatter[m.ChatterID] = m
	}
	if len(members) != joiners {
		t.Errorf("RoomChatters: got %d memberships, want %d", len(members), joiners)
	}
	var wantMsgs []chat.Message
	for i, j := range results {
		got, err := f.s.Chatter(f.ctx, j.c.ID)
		if err != nil {
			t.Fatalf("Chatter of joiner %d: %v", i, err)
		}
		d := diffChatter(got, j.c)
		d.report(t, fmt.Sprintf("joiner %d", i))
		rc, ok := byChatter[j.c.ID]
		if !ok {
			t.Errorf("joiner %d: no membership stored", i)
			continue
		}
		d = diffMember(rc, j.rc)
		d.report(t, fmt.Sprintf("membership of joiner %d", i))
		j.alert.Chatter = j.c // messages come with the chatter as it is now
		wantMsgs = append(wantMsgs, j.alert)
	}
	stored := f.allMessages(r.ID)
	byID := map[int64]chat.Message{}
	for _, m := range wantMsgs {
		byID[m.ID] = m
	}
	if len(stored) != len(wantMsgs) {
		t.Errorf("stored: got %d messages, want %d", len(stored), len(wantMsgs))
	}
	for _, m := range stored {
		want, ok := byID[m.ID]
		if !ok {
			t.Errorf("stored message %d (%q) was never acknowledged", m.ID, m.Content)
			continue
		}
		d := diffMessage(m, want)
		d.report(t, fmt.Sprintf("stored message %d", m.ID))
	}
}

// joinResult is what the store should hold after one mixedJoin.
type joinResult struct {
	c     chat.Chatter
	alert chat.Message
	rc    chat.RoomChatter
}

// mixedJoin is one client's writes: a new chatter joins r and announces it; some then
// rename themselves, some leave and go inactive.
func mixedJoin(f *fixture, r chat.Room, i int) (joinResult, error) {
	var out joinResult
	s, ctx := f.s, f.ctx
	c := chat.Chatter{ID: newID(), Nickname: fmt.Sprintf("손님 %d", i), TokenHash: []byte{byte(i), 1}, CreatedAt: base, IsActive: true}
	if err := s.CreateChatter(ctx, c); err != nil {
		return out, fmt.Errorf("CreateChatter: %w", err)
	}
	at := base.Add(time.Duration(i) * time.Second)
	rc, first, err := JoinRoom(ctx, s, r.ID, c.ID, at)
	if err != nil {
		return out, fmt.Errorf("JoinRoom: %w", err)
	}
	if !first {
		return out, errors.New("JoinRoom of a new chatter: got first false, want true")
	}
	alert := message(r, c, c.Nickname+" joined")
	alert.Type, alert.Alert = chat.TypeAlert, &chat.Alert{Kind: chat.AlertJoin, Nickname: c.Nickname}
	if alert, err = s.AppendMessage(ctx, alert); err != nil {
		return out, fmt.Errorf("AppendMessage: %w", err)
	}
	if i%2 == 1 {
		renamed, err := s.RenameChatter(ctx, c.ID, fmt.Sprintf("단골 %d", i))
		if err != nil {
			return out, fmt.Errorf("RenameChatter: %w", err)
		}
		c = renamed
	}
	if i%3 == 0 {
		left := at.Add(time.Minute)
		if err := s.LeaveRoom(ctx, r.ID, c.ID, left); err != nil {
			return out, fmt.Errorf("LeaveRoom: %w", err)
		}
		if err := s.SetChatterActive(ctx, c.ID, false); err != nil {
			return out, fmt.Errorf("SetChatterActive: %w", err)
		}
		c.IsActive, rc.IsActive, rc.LeftAt = false, false, &left
	}
	out.c, out.alert, out.rc = c, alert, rc
	return out, nil
}
