package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"colachat/internal/chat"
)

// TestBatchIsolatesFailures hands the committer one batch holding good writes, a write
// refused by a constraint, a write whose failure ends the whole transaction (as a full
// disk does) and a write whose caller gave up: only the good writes may be stored, and each
// must be answered on its own.
func TestBatchIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	if err := s.CreateRoom(ctx, chat.Room{ID: "r", Title: "t", Namespace: "anonymous", Capacity: 2, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateChatter(ctx, chat.Chatter{ID: "c", Nickname: "n", CreatedAt: now, IsActive: true}); err != nil {
		t.Fatal(err)
	}

	ids := map[string]int64{}
	insert := func(room, content string) *op {
		return &op{ctx: ctx, message: true, run: func(w *writeConn) error {
			m := chat.Message{Type: chat.TypeMessage, Content: content, SentAt: now, RoomID: room, ChatterID: "c"}
			if err := w.appendMessage(&m); err != nil {
				return err
			}
			ids[content] = m.ID
			return nil
		}}
	}
	errDiskFull := errors.New("disk full")
	breaker := &op{ctx: ctx, run: func(w *writeConn) error {
		m := chat.Message{Type: chat.TypeMessage, Content: "breaker", SentAt: now, RoomID: "r", ChatterID: "c"}
		if err := w.appendMessage(&m); err != nil {
			return err
		}
		if _, err := exec(w.rollback); err != nil { // the transaction is gone
			return err
		}
		return errDiskFull
	}}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	ranLate := false
	late := &op{ctx: gone, run: func(w *writeConn) error { ranLate = true; return nil }}
	batch := []*op{insert("r", "good 1"), insert("missing", "refused"), insert("r", "good 2"), breaker, late, insert("r", "good 3")}
	for _, o := range batch {
		o.done = make(chan struct{})
	}
	before := s.Stats()
	// A solo op runs on the committer's goroutine, between batches: the one place the
	// committer's write may be called from.
	if err := s.commit.do(ctx, &op{solo: true, run: func(*writeConn) error { s.commit.write(batch); return nil }}); err != nil {
		t.Fatal(err)
	}

	wantErrs := []error{nil, chat.ErrNotFound, nil, errDiskFull, context.Canceled, nil}
	for i, o := range batch {
		select {
		case <-o.done:
		default:
			t.Fatalf("write %d: not answered", i)
		}
		if !errors.Is(o.err, wantErrs[i]) || (wantErrs[i] == nil) != (o.err == nil) {
			t.Errorf("write %d: got error %v, want %v", i, o.err, wantErrs[i])
		}
	}
	if ranLate {
		t.Error("the write whose context had ended was executed")
	}
	stored, err := s.Messages(ctx, chat.MessageQuery{RoomID: "r", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range stored {
		got = append(got, m.Content)
		if m.ID != ids[m.Content] {
			t.Errorf("message %q: stored with id %d, its write was told %d", m.Content, m.ID, ids[m.Content])
		}
	}
	if want := []string{"good 1", "good 2", "good 3"}; !equalStrings(got, want) {
		t.Errorf("stored messages: got %q, want %q", got, want)
	}
	after := s.Stats()
	if d := after.Messages - before.Messages; d != 3 {
		t.Errorf("Stats().Messages: got %d more, want 3", d)
	}
}

func equalStrings(a, b []string) bool {
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

// TestSynchronousReachesTheWriter checks the setting on the connection that commits.
func TestSynchronousReachesTheWriter(t *testing.T) {
	tests := []struct {
		opts []Option
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{nil, 2},
		{[]Option{WithSynchronous(SyncFull)}, 2},
		{[]Option{WithSynchronous(SyncNormal)}, 1},
	}
	for _, tc := range tests {
		ctx := context.Background()
		s, err := Open(ctx, filepath.Join(t.TempDir(), "chat.db"), tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		err = s.commit.do(ctx, &op{solo: true, run: func(w *writeConn) error {
			return w.conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&got)
		}})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA synchronous with %d options: got %d, want %d", len(tc.opts), got, tc.want)
		}
	}
}
