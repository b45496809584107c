package socketio

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

// countingTransport drops what it is sent, counting frames.
type countingTransport struct {
	req  *http.Request
	sent *atomic.Int64
}

func (c countingTransport) send(f *frames) error {
	c.sent.Add(int64(1 + len(f.attachments)))
	return nil
}
func (countingTransport) close()                   {}
func (c countingTransport) request() *http.Request { return c.req }
func (countingTransport) remoteAddr() string       { return "192.0.2.1:1" }

// connectMany connects n clients to "/" and puts them in room "r".
func connectMany(b *testing.B, s *Server, n int, sent *atomic.Int64) []*client {
	req := httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4", nil)
	s.Of("/").OnConnection(func(so *Socket) { so.Join("r") })
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = s.accept(countingTransport{req: req, sent: sent})
		clients[i].onFrame([]byte("0"), false)
	}
	if got := s.Of("/").Len(); got != n {
		b.Fatalf("got %d sockets, want %d", got, n)
	}
	return clients
}

// BenchmarkBroadcast measures one room broadcast to 1,000 sockets.
func BenchmarkBroadcast(b *testing.B) {
	var sent atomic.Int64
	s := newServer(Options{})
	defer func() { _ = s.Close(b.Context()) }()
	connectMany(b, s, 1000, &sent)
	room := s.Of("/").To("r")
	msg := map[string]any{"id": 1, "content": "hello", "roomId": "abc"}
	b.ReportAllocs()
	for b.Loop() {
		if err := room.Emit("sendMessage", msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sent.Load())/float64(b.N), "frames/op")
}

// BenchmarkSocketMemory reports the heap the Socket.IO layer holds per
// connected socket in one room (the Engine.IO connection not included).
func BenchmarkSocketMemory(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				var sent atomic.Int64
				s := newServer(Options{})
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				clients := connectMany(b, s, n, &sent)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-bytes/socket")
				runtime.KeepAlive(clients)
				_ = s.Close(b.Context())
			}
		})
	}
}
