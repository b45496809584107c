package metrics

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("got status %d, want 200", rec.Code)
	}
	return rec.Body.String()
}

func TestCollectorsAppearInScrape(t *testing.T) {
	reg := NewRegistry()
	m, err := New(reg, Sources{
		Connections:   func() int { return 1 },
		Rooms:         func() int { return 1 },
		Deliveries:    func() uint64 { return 5 },
		QueueDrops:    func() uint64 { return 1 },
		GapsFilled:    func() uint64 { return 4 },
		Duplicates:    func() uint64 { return 5 },
		ForeignEvents: func() uint64 { return 6 },
	})
	if err != nil {
		t.Fatal(err)
	}
	m.MessageIn()
	m.ObserveAck(3 * time.Millisecond)
	m.ObserveCommit(2 * time.Millisecond)
	m.ObserveHTTP("GET /chat/rooms", "GET", 200)

	body := scrape(t, Handler(reg))
	for _, want := range []string{
		"colachat_connections 1",
		"colachat_rooms_active 1",
		"colachat_messages_in_total 1",
		"colachat_messages_out_total 5",
		"colachat_ack_latency_seconds_count 1",
		"colachat_store_commit_latency_seconds_count 1",
		"colachat_queue_drops_total 1",
		"colachat_stream_gap_fills_total 4",
		"colachat_stream_duplicates_total 5",
		"colachat_stream_foreign_events_total 6",
		`colachat_http_requests_total{method="GET",route="GET /chat/rooms",status="200"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestNewTwiceOnOneRegistryFails(t *testing.T) {
	reg := NewRegistry()
	if _, err := New(reg, Sources{}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg, Sources{}); err == nil {
		t.Fatal("got nil, want a duplicate registration error")
	}
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *Metrics
	m.MessageIn()
	m.ObserveAck(time.Millisecond)
	m.ObserveCommit(time.Millisecond)
	m.ObserveHTTP("x", "GET", 200)
	h := http.NotFoundHandler()
	if got := m.Middleware(h); got == nil {
		t.Fatal("got nil handler, want next")
	}
}

func TestMiddlewareLabelsByPattern(t *testing.T) {
	reg := NewRegistry()
	m, err := New(reg, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chat/rooms/{roomId}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") })
	mux.HandleFunc("GET /upgrade", func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack through middleware: %v", err)
			return
		}
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: close\r\n\r\n")
		rw.Flush()
		conn.Close()
	})
	// served counts requests whose middleware has returned, so the scrape below sees them.
	served := make(chan struct{}, 8)
	counted := m.Middleware(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counted.ServeHTTP(w, r)
		served <- struct{}{}
	}))
	defer srv.Close()

	for _, path := range []string{"/chat/rooms/a", "/chat/rooms/b", "/ok", "/nowhere"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET /upgrade HTTP/1.1\r\nHost: x\r\n\r\n")
	status, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if err != nil || !strings.Contains(status, "101") {
		t.Fatalf("got %q, %v, want a 101 through the middleware", status, err)
	}
	for range 5 {
		<-served
	}

	body := scrape(t, Handler(reg))
	for _, want := range []string{
		`colachat_http_requests_total{method="GET",route="GET /chat/rooms/{roomId}",status="404"} 2`,
		`colachat_http_requests_total{method="GET",route="GET /ok",status="200"} 1`,
		`colachat_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`colachat_http_requests_total{method="GET",route="GET /upgrade",status="101"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
