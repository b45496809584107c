package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"colachat/internal/chat"
	"colachat/internal/store/sqlite"
	"colachat/internal/store/storetest"
)

// cpuClock reads the CPU time (user + system) the whole process has used so far.
func cpuClock(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports the process CPU time spent between start and stop per unit of work.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) *cpuMeter { return &cpuMeter{b: b, start: cpuClock(b)} }

// report adds the metric "µs-cpu/<unit>": process CPU time divided by n.
func (m *cpuMeter) report(n int, unit string) {
	used := cpuClock(m.b) - m.start
	if n > 0 {
		m.b.ReportMetric(float64(used.Microseconds())/float64(n), "µs-cpu/"+unit)
	}
}

func benchRoom(b *testing.B, s *sqlite.Store, id string) chat.Room {
	b.Helper()
	now := time.Now()
	r := chat.Room{ID: id, Title: "t", Namespace: "anonymous", Capacity: 1 << 20, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateRoom(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkJoinParallel is the store's share of a burst of joins: every goroutine, as
// chat.Service.Join does for a new client, creates a chatter, records its membership and
// appends the join alert, each call waiting for its commit. One op is one whole join.
func BenchmarkJoinParallel(b *testing.B) {
	for _, opts := range []struct {
		name string
		opts []sqlite.Option
	}{
		{"full", nil},
		{"normal", []sqlite.Option{sqlite.WithSynchronous(sqlite.SyncNormal)}},
	} {
		b.Run(opts.name, func(b *testing.B) {
			s := openFile(b, filepath.Join(b.TempDir(), "chat.db"), opts.opts...)
			defer s.Close()
			rooms := []chat.Room{benchRoom(b, s, "r0"), benchRoom(b, s, "r1"), benchRoom(b, s, "r2"), benchRoom(b, s, "r3")}
			ctx := context.Background()
			var next atomic.Int64
			var failed atomic.Int64
			token := make([]byte, 32)
			b.SetParallelism(64) // a burst: many clients per core
			b.ResetTimer()
			cpu := startCPU(b)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1)
					r := rooms[n%int64(len(rooms))]
					now := time.Now()
					c := chat.Chatter{ID: fmt.Sprintf("chatter-%d", n), Nickname: fmt.Sprintf("nick %d", n), TokenHash: token, CreatedAt: now, IsActive: true}
					if err := s.CreateChatter(ctx, c); err != nil {
						failed.Add(1)
						continue
					}
					if _, _, err := storetest.JoinRoom(ctx, s, r.ID, c.ID, now); err != nil {
						failed.Add(1)
						continue
					}
					alert := chat.Message{Type: chat.TypeAlert, Content: c.Nickname + " joined", SentAt: now,
						RoomID: r.ID, ChatterID: c.ID, Chatter: c, Alert: &chat.Alert{Kind: chat.AlertJoin, Nickname: c.Nickname}}
					if _, err := s.AppendMessage(ctx, alert); err != nil {
						failed.Add(1)
					}
				}
			})
			elapsed := time.Since(start)
			cpu.report(b.N, "join")
			b.StopTimer()
			if failed.Load() > 0 {
				b.Fatalf("%d joins failed", failed.Load())
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "joins/s")
		})
	}
}

// BenchmarkAppendMessageRate offers appends at a steady 2,000 a second, each from its own
// goroutine, as a busy server receives them: batches are then only as large as the
// committer's pacing makes them. Run it with -benchtime=Nx (N messages take N/2000 s).
func BenchmarkAppendMessageRate(b *testing.B) {
	rate := 2000
	if r, err := strconv.Atoi(os.Getenv("APPEND_RATE")); err == nil {
		rate = r
	}
	for _, sync := range []sqlite.Sync{sqlite.SyncFull, sqlite.SyncNormal} {
		for _, wait := range []time.Duration{0, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond} {
			b.Run(fmt.Sprintf("sync=%s/wait=%s", sync, wait), func(b *testing.B) {
				s := openFile(b, filepath.Join(b.TempDir(), "chat.db"), sqlite.WithSynchronous(sync), sqlite.WithBatch(256, wait))
				defer s.Close()
				r := benchRoom(b, s, "r")
				ctx := context.Background()
				c := chat.Chatter{ID: "c", Nickname: "n", CreatedAt: time.Now(), IsActive: true}
				if err := s.CreateChatter(ctx, c); err != nil {
					b.Fatal(err)
				}
				m := chat.Message{Type: chat.TypeMessage, Content: "hello there", SentAt: time.Now(), RoomID: r.ID, ChatterID: c.ID, Chatter: c}
				before := s.Stats()
				var failed atomic.Int64
				var latency atomic.Int64
				done := make(chan struct{}, b.N)
				b.ResetTimer()
				cpu := startCPU(b)
				start := time.Now()
				for i := range b.N {
					time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
					go func() {
						sent := time.Now()
						if _, err := s.AppendMessage(ctx, m); err != nil {
							failed.Add(1)
						}
						latency.Add(int64(time.Since(sent)))
						done <- struct{}{}
					}()
				}
				for range b.N {
					<-done
				}
				cpu.report(b.N, "msg")
				b.StopTimer()
				if failed.Load() > 0 {
					b.Fatalf("%d appends failed", failed.Load())
				}
				st := s.Stats()
				b.ReportMetric(float64(st.Messages-before.Messages)/float64(st.Batches-before.Batches), "msgs/commit")
				b.ReportMetric(float64(latency.Load())/float64(b.N)/1e3, "µs-wait/msg")
			})
		}
	}
}

// BenchmarkReads measures the reads a join and a history page make, on a room of 200
// members with 1,000 messages, from many goroutines at once.
func BenchmarkReads(b *testing.B) {
	s := openFile(b, filepath.Join(b.TempDir(), "chat.db"))
	defer s.Close()
	ctx := context.Background()
	r := benchRoom(b, s, "r")
	const members = 200
	ids := make([]string, members)
	now := time.Now()
	for i := range ids {
		ids[i] = fmt.Sprintf("chatter-%d", i)
		c := chat.Chatter{ID: ids[i], Nickname: fmt.Sprintf("nick %d", i), CreatedAt: now, IsActive: true}
		if err := s.CreateChatter(ctx, c); err != nil {
			b.Fatal(err)
		}
		if _, _, err := storetest.JoinRoom(ctx, s, r.ID, c.ID, now); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 1000 {
		c := ids[i%members]
		if _, err := s.AppendMessage(ctx, chat.Message{Type: chat.TypeMessage, Content: "hello", SentAt: now, RoomID: r.ID, ChatterID: c}); err != nil {
			b.Fatal(err)
		}
	}
	reads := []struct {
		name string
		read func(i int) error
	}{
		{"Room", func(int) error { _, err := s.Room(ctx, r.ID); return err }},
		{"Chatter", func(i int) error { _, err := s.Chatter(ctx, ids[i%members]); return err }},
		{"Chatters50", func(i int) error { _, err := s.Chatters(ctx, ids[:50]); return err }},
		{"Chatters200", func(i int) error { _, err := s.Chatters(ctx, ids); return err }},
		{"FirstMessageID", func(i int) error { _, err := s.FirstMessageID(ctx, r.ID, ids[i%members]); return err }},
		{"RoomChatters200", func(int) error { _, err := s.RoomChatters(ctx, r.ID); return err }},
		{"MessagesPage50", func(int) error {
			_, err := s.Messages(ctx, chat.MessageQuery{RoomID: r.ID, Page: 1, Limit: 50})
			return err
		}},
	}
	for _, rd := range reads {
		b.Run(rd.name, func(b *testing.B) {
			var failed atomic.Int64
			var next atomic.Int64
			cpu := startCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := rd.read(int(next.Add(1))); err != nil {
						failed.Add(1)
					}
				}
			})
			cpu.report(b.N, "read")
			if failed.Load() > 0 {
				b.Fatalf("%d reads failed", failed.Load())
			}
		})
	}
}
