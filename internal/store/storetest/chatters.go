package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"colachat/internal/chat"
)

var chatterTests = []subtest{
	{"CreateAndGet", testCreateAndGetChatter},
	{"NotFound", testChatterNotFound},
	{"Batch", testChattersBatch},
	{"Rename", testRenameChatter},
	{"SetActive", testSetChatterActive},
}

func testCreateAndGetChatter(t *testing.T, h *harness) {
	f := h.newFixture(t)
	deleted := base.Add(90 * time.Minute).In(time.FixedZone("KST", 9*60*60))
	tests := []struct {
		name string
		c    chat.Chatter
	}{
		{"active with token", chat.Chatter{ID: newID(), Nickname: "개구리", TokenHash: []byte{1, 2, 3, 0, 255}, CreatedAt: base, IsActive: true}},
		{"inactive without token", chat.Chatter{ID: newID(), Nickname: "메뚜기", CreatedAt: base.Add(time.Second)}},
		{"deleted", chat.Chatter{ID: newID(), Nickname: "멸치", CreatedAt: base, DeletedAt: &deleted}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.s.CreateChatter(f.ctx, tc.c); err != nil {
				t.Fatalf("CreateChatter: %v", err)
			}
			got, err := f.s.Chatter(f.ctx, tc.c.ID)
			if err != nil {
				t.Fatalf("Chatter: %v", err)
			}
			d := diffChatter(got, tc.c)
			d.report(t, "Chatter")
		})
	}
	c := f.chatter("올빼미")
	c.Nickname = "twice"
	if err := f.s.CreateChatter(f.ctx, c); err == nil {
		t.Error("CreateChatter with an existing id: got no error, want one")
	}
}

func testChatterNotFound(t *testing.T, h *harness) {
	f := h.newFixture(t)
	_, err := f.s.Chatter(f.ctx, newID())
	wantNotFound(t, "Chatter of an unknown id", err)
	_, err = f.s.RenameChatter(f.ctx, newID(), "코끼리")
	wantNotFound(t, "RenameChatter of an unknown id", err)
	wantNotFound(t, "SetChatterActive of an unknown id", f.s.SetChatterActive(f.ctx, newID(), false))
}

func testChattersBatch(t *testing.T, h *harness) {
	f := h.newFixture(t)
	a, b, c := f.chatter("개구리"), f.chatter("메뚜기"), f.chatter("멸치")
	tests := []struct {
		name string
		ids  []string
		want []chat.Chatter
	}{
		{"none", nil, nil},
		{"one", []string{b.ID}, []chat.Chatter{b}},
		{"some, unknown skipped", []string{c.ID, newID(), a.ID}, []chat.Chatter{a, c}},
		{"all", []string{a.ID, b.ID, c.ID}, []chat.Chatter{a, b, c}},
		{"only unknown", []string{newID()}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.s.Chatters(f.ctx, tc.ids)
			if err != nil {
				t.Fatalf("Chatters: %v", err)
			}
			// The order of the result is not part of the contract.
			byID := func(x, y chat.Chatter) int { return strings.Compare(x.ID, y.ID) }
			slices.SortFunc(got, byID)
			want := slices.Clone(tc.want)
			slices.SortFunc(want, byID)
			if len(got) != len(want) {
				t.Fatalf("Chatters: got %d chatters, want %d", len(got), len(want))
			}
			for i := range want {
				d := diffChatter(got[i], want[i])
				d.report(t, "Chatters")
			}
		})
	}
}

func testRenameChatter(t *testing.T, h *harness) {
	f := h.newFixture(t)
	c := f.chatter("너구리")
	other := f.chatter("코끼리")
	r := f.room(base)
	f.join(r, c, base)
	sent := f.append(message(r, c, "before the rename"))

	got, err := f.s.RenameChatter(f.ctx, c.ID, "라쿤")
	if err != nil {
		t.Fatalf("RenameChatter: %v", err)
	}
	want := c
	want.Nickname = "라쿤"
	d := diffChatter(got, want)
	d.report(t, "RenameChatter result")
	stored, err := f.s.Chatter(f.ctx, c.ID)
	if err != nil {
		t.Fatalf("Chatter: %v", err)
	}
	d = diffChatter(stored, want)
	d.report(t, "Chatter after rename")
	unchanged, err := f.s.Chatter(f.ctx, other.ID)
	if err != nil {
		t.Fatalf("Chatter: %v", err)
	}
	d = diffChatter(unchanged, other)
	d.report(t, "another chatter after rename")

	// Messages embed the chatter as it is now.
	sent.Chatter = want
	checkMessages(t, "messages after rename", f.allMessages(r.ID), []chat.Message{sent})
}

func testSetChatterActive(t *testing.T, h *harness) {
	f := h.newFixture(t)
	c := f.chatter("개구리")
	for _, active := range []bool{false, false, true, true, false} {
		if err := f.s.SetChatterActive(f.ctx, c.ID, active); err != nil {
			t.Fatalf("SetChatterActive(%v): %v", active, err)
		}
		got, err := f.s.Chatter(f.ctx, c.ID)
		if err != nil {
			t.Fatalf("Chatter: %v", err)
		}
		want := c
		want.IsActive = active
		d := diffChatter(got, want)
		d.report(t, "Chatter after SetChatterActive")
	}
}
