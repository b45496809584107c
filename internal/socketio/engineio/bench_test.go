package engineio

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The benchmarks run the server in a child process (this test binary
// re-executed with benchServerEnv set) so that its RSS and CPU time can be
// read without the load of the in-process clients:
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/socketio/engineio/   # memory
//	go test -run '^$' -bench Broadcast -benchtime 200x ./internal/socketio/engineio/
//
// ENGINEIO_BENCH_CONNS sets the number of websocket connections (default
// 2000); ENGINEIO_BENCH_CPUPROFILE=file and ENGINEIO_BENCH_MEMPROFILE=file
// write the server's CPU and heap profiles.
const benchServerEnv = "ENGINEIO_BENCH_SERVER"

type serverStats struct {
	RSS        int64 `json:"rss"`        // bytes, after a GC and FreeOSMemory
	HeapInuse  int64 `json:"heapInuse"`  // bytes
	StackInuse int64 `json:"stackInuse"` // bytes
	Goroutines int64 `json:"goroutines"`
	CPU        int64 `json:"cpu"` // user+system nanoseconds
	Conns      int64 `json:"conns"`
}

// TestBenchServerProcess is the child process of the benchmarks; it is
// skipped in normal test runs.
func TestBenchServerProcess(t *testing.T) {
	if os.Getenv(benchServerEnv) != "1" {
		t.Skip("the benchmarks' server process")
	}
	if path := os.Getenv("ENGINEIO_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	srv := NewServer(Options{PingInterval: time.Hour, PingTimeout: time.Hour, QueueLimit: 1 << 16,
		DisableIOURing: os.Getenv("ENGINEIO_BENCH_NO_IO_URING") == "1"})
	var mu sync.Mutex
	var conns []*Conn
	srv.OnConnection(func(c *Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if path := os.Getenv("ENGINEIO_BENCH_MEMPROFILE"); path != "" {
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				_ = f.Close()
			}
		}
		_ = json.NewEncoder(w).Encode(serverStats{
			RSS: readRSS(t), HeapInuse: int64(ms.HeapInuse), StackInuse: int64(ms.StackInuse),
			Goroutines: int64(runtime.NumGoroutine()), CPU: cpuTime(), Conns: int64(srv.Count()),
		})
	})
	// /broadcast?n=N sends N packets to every connection; with room=R and
	// from=F, packet i goes to the R connections of room F+i instead (rooms
	// are consecutive runs of R connections), through a Batch when batch=1.
	mux.HandleFunc("GET /broadcast", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, _ := strconv.Atoi(q.Get("n"))
		room, _ := strconv.Atoi(q.Get("room"))
		from, _ := strconv.Atoi(q.Get("from"))
		data := []byte(strings.Repeat("m", 100))
		mu.Lock()
		all := conns
		mu.Unlock()
		for i := range n {
			targets := all
			if room > 0 {
				lo := ((from + i) * room) % len(all)
				targets = all[lo:min(lo+room, len(all))]
			}
			p := NewMessage(data, false)
			if q.Get("batch") == "1" {
				b := srv.NewBatch()
				for _, c := range targets {
					_ = b.Send(c, p)
				}
				b.Flush()
				continue
			}
			for _, c := range targets {
				_ = c.Send(p)
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Println(ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // the parent closes stdin to stop us
	_ = srv.Close(context.Background())
	_ = hs.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Error(err)
	}
}

func readRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchServer is the child server process.
type benchServer struct {
	b     *testing.B
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startBenchServer(b *testing.B, env ...string) *benchServer {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServerProcess$", "-test.v=false")
	cmd.Env = append(append(os.Environ(), benchServerEnv+"=1"), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	s := &benchServer{b: b, addr: strings.TrimSpace(addr), cmd: cmd, stdin: stdin}
	b.Cleanup(func() {
		_ = stdin.Close()
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	})
	return s
}

func (s *benchServer) get(path string) []byte {
	s.b.Helper()
	res, err := http.Get("http://" + s.addr + path)
	if err != nil {
		s.b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		s.b.Fatal(err)
	}
	return body
}

func (s *benchServer) stats() serverStats {
	var st serverStats
	if err := json.Unmarshal(s.get("/stats"), &st); err != nil {
		s.b.Fatal(err)
	}
	return st
}

// dialRaw opens a websocket session with a hand-written handshake, reads
// the open packet and returns the bare connection.
func (s *benchServer) dialRaw() net.Conn {
	s.b.Helper()
	nc, err := net.Dial("tcp", s.addr)
	if err != nil {
		s.b.Fatal(err)
	}
	req := "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + s.addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		s.b.Fatal(err)
	}
	// read byte by byte so nothing past the open packet is consumed
	var resp []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(resp), "\r\n\r\n") {
		if _, err := io.ReadFull(nc, one); err != nil {
			s.b.Fatal(err)
		}
		resp = append(resp, one[0])
	}
	if !strings.HasPrefix(string(resp), "HTTP/1.1 101") {
		s.b.Fatalf("handshake: %q", resp)
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(nc, hdr); err != nil {
		s.b.Fatal(err)
	}
	if _, err := io.ReadFull(nc, make([]byte, hdr[1]&0x7f)); err != nil {
		s.b.Fatal(err)
	}
	return nc
}

func benchConns(b *testing.B) int {
	n := 2000
	if v := os.Getenv("ENGINEIO_BENCH_CONNS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	return n
}

func (s *benchServer) waitConns(n int) serverStats {
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := s.stats()
		if int(st.Conns) == n || time.Now().After(deadline) {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkIdleWebSocketMemory reports the server's memory per idle
// websocket connection.
func BenchmarkIdleWebSocketMemory(b *testing.B) {
	n := benchConns(b)
	s := startBenchServer(b)
	before := s.stats()
	conns := make([]net.Conn, 0, n)
	for range n {
		conns = append(conns, s.dialRaw())
	}
	after := s.waitConns(n)
	per := func(x, y int64) float64 { return float64(x-y) / float64(n) }
	for b.Loop() {
		// the measurement above is the benchmark; b.Loop runs this function once
	}
	b.ReportMetric(per(after.RSS, before.RSS), "rss-B/conn")
	b.ReportMetric(per(after.HeapInuse, before.HeapInuse), "heap-B/conn")
	b.ReportMetric(per(after.StackInuse, before.StackInuse), "stack-B/conn")
	b.ReportMetric(per(after.Goroutines, before.Goroutines), "goroutines/conn")
	for _, c := range conns {
		_ = c.Close()
	}
}

// BenchmarkBroadcast sends one 100-byte message per op to every connection
// and waits until every client has read it. server-ns/delivery is the
// server process's CPU time divided by the messages delivered.
func BenchmarkBroadcast(b *testing.B) {
	n := benchConns(b)
	s := startBenchServer(b)
	var received atomic.Int64
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, n)
	for range n {
		nc := s.dialRaw()
		conns = append(conns, nc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			countFrames(nc, &received)
		}()
	}
	s.waitConns(n)
	before := s.stats()
	b.ResetTimer()
	var sent int64
	for b.Loop() {
		s.get("/broadcast?n=1")
		sent += int64(n)
		for received.Load() < sent {
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.StopTimer()
	after := s.stats()
	b.ReportMetric(float64(after.CPU-before.CPU)/float64(sent), "server-ns/delivery")
	for _, c := range conns {
		_ = c.Close()
	}
	wg.Wait()
}

// countFrames counts the server's frames until the connection ends.
func countFrames(nc net.Conn, n *atomic.Int64) {
	br := bufio.NewReaderSize(nc, 4096)
	hdr := make([]byte, 2)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			return
		}
		size := int64(hdr[1] & 0x7f)
		if size == 126 {
			ext := make([]byte, 2)
			if _, err := io.ReadFull(br, ext); err != nil {
				return
			}
			size = int64(ext[0])<<8 | int64(ext[1])
		}
		if _, err := br.Discard(int(size)); err != nil {
			return
		}
		n.Add(1)
	}
}

// BenchmarkBroadcastRoom sends to rooms of 20 connections, one room after
// another, as a chat's broadcasts do: each Conn.Send on its own (one write(2)
// per delivery), or one Batch per room with and without io_uring.
// server-ns/delivery is the server process's CPU.
func BenchmarkBroadcastRoom(b *testing.B) {
	const room, perRequest = 20, 5
	for _, mode := range []struct {
		name, query string
		env         []string
	}{
		{"send", "", nil},
		{"batch-write", "&batch=1", []string{"ENGINEIO_BENCH_NO_IO_URING=1"}},
		{"batch-io_uring", "&batch=1", nil},
	} {
		b.Run(mode.name, func(b *testing.B) {
			n := benchConns(b)
			s := startBenchServer(b, mode.env...)
			var received atomic.Int64
			var wg sync.WaitGroup
			conns := make([]net.Conn, 0, n)
			for range n {
				nc := s.dialRaw()
				conns = append(conns, nc)
				wg.Add(1)
				go func() {
					defer wg.Done()
					countFrames(nc, &received)
				}()
			}
			s.waitConns(n)
			before := s.stats()
			var sent int64
			from := 0
			for b.Loop() {
				s.get(fmt.Sprintf("/broadcast?n=%d&room=%d&from=%d%s", perRequest, room, from, mode.query))
				from += perRequest
				sent += room * perRequest
				for received.Load() < sent {
					time.Sleep(50 * time.Microsecond)
				}
			}
			after := s.stats()
			b.ReportMetric(float64(after.CPU-before.CPU)/float64(sent), "server-ns/delivery")
			for _, c := range conns {
				_ = c.Close()
			}
			wg.Wait()
		})
	}
}
