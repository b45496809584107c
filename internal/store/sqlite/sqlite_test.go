package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"colachat/internal/chat"
	"colachat/internal/store/migrations"
	"colachat/internal/store/sqlite"
	"colachat/internal/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		os.Exit(runCrashWriter(os.Getenv(crashEnv), sqlite.Sync(os.Getenv(crashSyncEnv))))
	}
	goleak.VerifyTestMain(m)
}

func openFile(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	return s
}

func TestStoreSuite(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) storetest.Store { return openFile(t, filepath.Join(t.TempDir(), "chat.db")) },
		storetest.WithReopen(func(t *testing.T, closed storetest.Store) storetest.Store {
			return openFile(t, closed.(*sqlite.Store).Path())
		}),
	)
}

// The suite again with commits that never wait for more appends: batching then comes only
// from appends queueing up behind a commit in progress.
func TestStoreSuiteNoBatchWait(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) storetest.Store {
			return openFile(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.WithBatch(16, 0))
		},
		storetest.WithReopen(func(t *testing.T, closed storetest.Store) storetest.Store {
			return openFile(t, closed.(*sqlite.Store).Path(), sqlite.WithBatch(16, 0))
		}),
	)
}

func TestOpenNeedsAFile(t *testing.T) {
	for _, path := range []string{"", ":memory:"} {
		if s, err := sqlite.Open(context.Background(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q): got no error, want one", path)
		}
	}
}

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s := openFile(t, path)
	ctx := context.Background()
	for i := range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate run %d: %v", i+1, err)
		}
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatalf("SchemaVersion: %v", err)
	}
	all, err := migrations.Load(os.DirFS("."), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	latest := all[len(all)-1].Version
	if v != latest {
		t.Errorf("SchemaVersion: got %d, want %d", v, latest)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Inspect the file with a connection of our own.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != len(all) {
		t.Errorf("schema_migrations rows after three migrations runs: got %d, want %d", applied, len(all))
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode: got %q, want wal", mode)
	}
	for _, index := range []string{"messages_room_id", "messages_room_seq", "rooms_expires_at", "room_chatters_room_chatter"} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, index).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("index %s: got %d, want 1", index, n)
		}
	}
}

func TestErrorsNameTheStore(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "chat.db"))
	defer s.Close()
	_, err := s.Room(context.Background(), "missing")
	if err == nil || !strings.HasPrefix(err.Error(), "sqlite: ") {
		t.Errorf("Room of a missing id: got %v, want an error starting with %q", err, "sqlite: ")
	}
	_, err = s.AppendMessage(context.Background(), chat.Message{Type: chat.TypeMessage, RoomID: "missing", ChatterID: "missing"})
	if !strings.HasPrefix(fmt.Sprint(err), "sqlite: append message: ") {
		t.Errorf("AppendMessage to a missing room: got %v, want an error starting with %q", err, "sqlite: append message: ")
	}
}

func TestGroupCommitBatches(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.WithBatch(64, 5*time.Millisecond))
	defer s.Close()
	ctx := context.Background()
	r := chat.Room{ID: "r", Title: "t", Namespace: "anonymous", Capacity: 2, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	c := chat.Chatter{ID: "c", Nickname: "n", CreatedAt: time.Now(), IsActive: true}
	if err := s.CreateRoom(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateChatter(ctx, c); err != nil {
		t.Fatal(err)
	}
	const n = 64
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := s.AppendMessage(ctx, chat.Message{Type: chat.TypeMessage, Content: "x", SentAt: time.Now(), RoomID: "r", ChatterID: "c", Chatter: c})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Messages != n {
		t.Errorf("Stats().Messages: got %d, want %d", st.Messages, n)
	}
	if st.Batches >= n {
		t.Errorf("Stats().Batches: got %d transactions for %d concurrent appends, want fewer", st.Batches, n)
	}
}

// TestJoinsShareCommits runs the writes of concurrent joins (a new chatter, its membership,
// its join alert): writes of every kind must share transactions.
func TestJoinsShareCommits(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.WithBatch(64, 5*time.Millisecond))
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateRoom(ctx, chat.Room{ID: "r", Title: "t", Namespace: "anonymous", Capacity: 64, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	const n = 32
	errs := make(chan error, n)
	for i := range n {
		go func() {
			c := chat.Chatter{ID: fmt.Sprintf("c%d", i), Nickname: fmt.Sprintf("n%d", i), CreatedAt: now, IsActive: true}
			err := s.CreateChatter(ctx, c)
			if err == nil {
				_, _, err = storetest.JoinRoom(ctx, s, "r", c.ID, now)
			}
			if err == nil {
				_, err = s.AppendMessage(ctx, chat.Message{Type: chat.TypeAlert, Content: "joined", SentAt: now, RoomID: "r", ChatterID: c.ID, Chatter: c,
					Alert: &chat.Alert{Kind: chat.AlertJoin, Nickname: c.Nickname}})
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	writes, batches := st.Writes-before.Writes, st.Batches-before.Batches
	if writes != 3*n || st.Messages-before.Messages != n {
		t.Errorf("Stats: got %d writes (%d messages), want %d (%d)", writes, st.Messages-before.Messages, 3*n, n)
	}
	if batches >= n {
		t.Errorf("Stats().Batches: got %d transactions for %d concurrent joins (%d writes), want fewer than %d", batches, n, writes, n)
	}
	members, err := s.RoomChatters(ctx, "r")
	if err != nil || len(members) != n {
		t.Errorf("RoomChatters: got (%d, %v), want (%d, nil)", len(members), err, n)
	}
}

// TestOpenRefusesUnknownSync checks that a mistyped synchronous mode is an error, not
// silently some other durability.
func TestOpenRefusesUnknownSync(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), sqlite.WithSynchronous("OFF"))
	if err == nil {
		s.Close()
		t.Fatal("Open with synchronous OFF: got no error, want one")
	}
}

// crashEnv makes the test binary a writer that appends until it is killed (see
// TestKilledProcessLosesNoAckedMessage); crashSyncEnv is its synchronous mode.
const (
	crashEnv     = "COLACHAT_SQLITE_CRASH_WRITER"
	crashSyncEnv = "COLACHAT_SQLITE_CRASH_SYNC"
)

// runCrashWriter appends from several goroutines and prints each acknowledged id, one a
// line, only after AppendMessage has returned it.
func runCrashWriter(path string, sync sqlite.Sync) int {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.WithSynchronous(sync))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	now := time.Now()
	c := chat.Chatter{ID: "c", Nickname: "n", CreatedAt: now, IsActive: true}
	if err := s.CreateRoom(ctx, chat.Room{ID: "r", Title: "t", Namespace: "anonymous", Capacity: 2, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := s.CreateChatter(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	acks := make(chan int64, 1024)
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				m, err := s.AppendMessage(ctx, chat.Message{Type: chat.TypeMessage, Content: fmt.Sprintf("w%d m%d", w, i), SentAt: time.Now(), RoomID: "r", ChatterID: "c", Chatter: c})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				acks <- m.ID
			}
		}()
	}
	out := bufio.NewWriter(os.Stdout)
	for id := range acks {
		fmt.Fprintln(out, id)
		if len(acks) == 0 {
			out.Flush()
		}
	}
	return 0
}

// TestKilledProcessLosesNoAckedMessage kills (SIGKILL) a process in the middle of appending
// and checks that every id it had been given is in the file. SyncNormal must pass too: it
// gives up only what an operating system crash or a power loss would take.
func TestKilledProcessLosesNoAckedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	for _, sync := range []sqlite.Sync{sqlite.SyncFull, sqlite.SyncNormal} {
		t.Run(string(sync), func(t *testing.T) { killWhileAppending(t, sync) })
	}
}

func killWhileAppending(t *testing.T, sync sqlite.Sync) {
	path := filepath.Join(t.TempDir(), "chat.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path, crashSyncEnv+"="+string(sync))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []int64
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		id, err := strconv.ParseInt(lines.Text(), 10, 64)
		if err != nil {
			t.Fatalf("child wrote %q: %v", lines.Text(), err)
		}
		acked = append(acked, id)
		if len(acked) == 2000 {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	// Ids the child printed before it died count as acknowledged too.
	for lines.Scan() {
		if id, err := strconv.ParseInt(lines.Text(), 10, 64); err == nil {
			acked = append(acked, id)
		}
	}
	cmd.Wait()
	if len(acked) < 2000 {
		t.Fatalf("child stopped after %d acks: %s", len(acked), stderr.String())
	}

	s := openFile(t, path)
	defer s.Close()
	var stored []int64
	after := int64(0)
	for {
		page, err := s.Messages(context.Background(), chat.MessageQuery{RoomID: "r", After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			stored = append(stored, m.ID)
		}
		after = page[len(page)-1].ID
	}
	missing := 0
	for _, id := range acked {
		if _, found := slices.BinarySearch(stored, id); !found {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("after kill -9: %d of %d acknowledged messages missing (%d stored)", missing, len(acked), len(stored))
	}
}

// BenchmarkAppendMessageParallel measures group-commit throughput: every goroutine appends
// and waits for its commit, as every socket does.
func BenchmarkAppendMessageParallel(b *testing.B) {
	for _, wait := range []time.Duration{0, time.Millisecond} {
		b.Run(fmt.Sprintf("wait=%s", wait), func(b *testing.B) {
			s := openFile(b, filepath.Join(b.TempDir(), "chat.db"), sqlite.WithBatch(256, wait))
			defer s.Close()
			ctx := context.Background()
			now := time.Now()
			c := chat.Chatter{ID: "c", Nickname: "n", CreatedAt: now, IsActive: true}
			if err := s.CreateRoom(ctx, chat.Room{ID: "r", Title: "t", Namespace: "anonymous", Capacity: 2, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			if err := s.CreateChatter(ctx, c); err != nil {
				b.Fatal(err)
			}
			m := chat.Message{Type: chat.TypeMessage, Content: strings.Repeat("가", 40), SentAt: now, RoomID: "r", ChatterID: "c", Chatter: c}
			var failed atomic.Int64
			b.SetParallelism(64) // many sockets per core
			b.ResetTimer()
			cpu := startCPU(b)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.AppendMessage(ctx, m); err != nil {
						failed.Add(1)
					}
				}
			})
			elapsed := time.Since(start)
			cpu.report(b.N, "msg")
			b.StopTimer()
			if failed.Load() > 0 {
				b.Fatalf("%d appends failed", failed.Load())
			}
			st := s.Stats()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			if st.Batches > 0 {
				b.ReportMetric(float64(st.Messages)/float64(st.Batches), "msgs/commit")
			}
		})
	}
}

// BenchmarkAppendMessageSerial is one appender alone: the cost of one commit, with and
// without an fsync. A lone writer must never wait for company that never comes.
func BenchmarkAppendMessageSerial(b *testing.B) {
	for _, sync := range []sqlite.Sync{sqlite.SyncFull, sqlite.SyncNormal} {
		b.Run(fmt.Sprintf("sync=%s", sync), func(b *testing.B) {
			s := openFile(b, filepath.Join(b.TempDir(), "chat.db"), sqlite.WithSynchronous(sync))
			defer s.Close()
			ctx := context.Background()
			now := time.Now()
			c := chat.Chatter{ID: "c", Nickname: "n", CreatedAt: now, IsActive: true}
			if err := s.CreateRoom(ctx, chat.Room{ID: "r", Title: "t", Namespace: "anonymous", Capacity: 2, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			if err := s.CreateChatter(ctx, c); err != nil {
				b.Fatal(err)
			}
			m := chat.Message{Type: chat.TypeMessage, Content: "hello", SentAt: now, RoomID: "r", ChatterID: "c", Chatter: c}
			b.ResetTimer()
			cpu := startCPU(b)
			n := 0
			for b.Loop() {
				if _, err := s.AppendMessage(ctx, m); err != nil {
					b.Fatal(err)
				}
				n++
			}
			cpu.report(n, "msg")
		})
	}
}

// TestMigratePositions opens a file written before messages had positions: each room's
// messages get 1, 2, 3, ... in id order, and the room's counter goes on from there.
func TestMigratePositions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	initSQL, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		string(initSQL),
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)`,
		`INSERT INTO rooms (id, title, namespace, capacity, created_at, expires_at) VALUES ('a', 't', 'n', 4, 0, 9e12), ('b', 't', 'n', 4, 0, 9e12), ('e', 't', 'n', 4, 0, 9e12)`,
		`INSERT INTO chatters (id, nickname, created_at) VALUES ('c', 'n', 0)`,
		`INSERT INTO messages (type, content, sent_at, room_id, chatter_id) VALUES
			('MESSAGE', 'a1', 0, 'a', 'c'), ('MESSAGE', 'b1', 0, 'b', 'c'), ('MESSAGE', 'a2', 0, 'a', 'c'),
			('MESSAGE', 'b2', 0, 'b', 'c'), ('MESSAGE', 'a3', 0, 'a', 'c')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openFile(t, path)
	defer s.Close()
	ctx := context.Background()
	for room, want := range map[string][]string{"a": {"a1", "a2", "a3"}, "b": {"b1", "b2"}, "e": nil} {
		ms, err := s.Messages(ctx, chat.MessageQuery{RoomID: room, BySeq: true, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range ms {
			if m.Seq != int64(i+1) || m.Content != want[i] {
				t.Errorf("room %s message %d: got (%d, %q), want (%d, %q)", room, i, m.Seq, m.Content, i+1, want[i])
			}
		}
		if last, err := s.LastSeq(ctx, room); err != nil || last != int64(len(want)) {
			t.Errorf("room %s: LastSeq got (%d, %v), want %d", room, last, err, len(want))
		}
	}
	m, err := s.AppendMessage(ctx, chat.Message{Type: chat.TypeMessage, Content: "a4", SentAt: time.Now(), RoomID: "a", ChatterID: "c"})
	if err != nil || m.Seq != 4 {
		t.Errorf("AppendMessage after the migration: got (%d, %v), want Seq 4", m.Seq, err)
	}
}
