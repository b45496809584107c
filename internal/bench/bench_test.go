package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"colachat/internal/sioclient"
	"colachat/internal/socketio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c *config)
	}{
		{name: "defaults", check: func(t *testing.T, c *config) {
			if c.protocolName != "chat" || c.namespace != "/anonymous" || c.rooms != 100 || c.capacity != 16 {
				t.Errorf("got %s %s %d %d, want chat /anonymous 100 16", c.protocolName, c.namespace, c.rooms, c.capacity)
			}
		}},
		{name: "raw", args: []string{"-protocol", "raw", "-urls", "http://127.0.0.1:1/,http://localhost:2", "-server-pid", "1,2", "-source-addrs", "127.0.0.2, 127.0.0.3"},
			check: func(t *testing.T, c *config) {
				if c.namespace != "/" || len(c.urls) != 2 || c.urls[0] != "http://127.0.0.1:1" || len(c.serverPIDs) != 2 || len(c.sourceAddrs) != 2 {
					t.Errorf("got ns %q urls %q pids %v sources %v", c.namespace, c.urls, c.serverPIDs, c.sourceAddrs)
				}
			}},
		{name: "remote refused", args: []string{"-url", "http://192.0.2.1:80"}, wantErr: "loopback"},
		{name: "remote allowed", args: []string{"-url", "http://192.0.2.1:80", "-allow-remote"}},
		{name: "bad protocol", args: []string{"-protocol", "mqtt"}, wantErr: "want chat or raw"},
		{name: "bad pid", args: []string{"-server-pid", "x"}, wantErr: "process ids"},
		{name: "bad source", args: []string{"-source-addrs", "nope"}, wantErr: "not an IP"},
		{name: "chat size", args: []string{"-size", "1001"}, wantErr: "1000"},
		{name: "bad scheme", args: []string{"-url", "ws://127.0.0.1:1"}, wantErr: "http(s)"},
		{name: "no rooms", args: []string{"-rooms", "0"}, wantErr: "at least 1"},
		{name: "senders above capacity", args: []string{"-capacity", "4", "-senders", "5"}, wantErr: "-senders 5"},
		{name: "negative senders", args: []string{"-senders", "-1"}, wantErr: "-senders -1"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: got %v, want flag.ErrHelp", err)
	}
}

func TestContentRoundTrip(t *testing.T) {
	for _, size := range []int{0, 100} {
		c := makeContent(12345, 987654321*time.Nanosecond, size)
		if size > 0 && len(c) != size {
			t.Errorf("size %d: got length %d", size, len(c))
		}
		seq, at, ok := parseContent([]byte(c))
		if !ok || seq != 12345 || at != 987654321 {
			t.Errorf("parseContent(%q): got %d %d %v, want 12345 987654321 true", c, seq, at, ok)
		}
	}
	for _, bad := range []string{"", "hello", "b.1", "b12", "b12.", "x1.2"} {
		if _, _, ok := parseContent([]byte(bad)); ok {
			t.Errorf("parseContent(%q): got ok, want not ok", bad)
		}
	}
}

func TestDeliveredContent(t *testing.T) {
	msg := sioclient.Args{json.RawMessage(`{"id":7,"type":"MESSAGE","content":"b1.2xx","roomId":"r","chatter":{"nickname":"개구리"}}`)}
	if got, ok := (chatProtocol{}).deliveredContent(msg); !ok || string(got) != "b1.2xx" {
		t.Errorf("chat: got %q %v, want b1.2xx true", got, ok)
	}
	if got, ok := (rawProtocol{}).deliveredContent(sioclient.Args{json.RawMessage(`"b3.4"`)}); !ok || string(got) != "b3.4" {
		t.Errorf("raw: got %q %v, want b3.4 true", got, ok)
	}
	if ok, why := (chatProtocol{}).ackOK(sioclient.Args{json.RawMessage(`{"success":false,"message":"no","code":"NOT_JOINED"}`)}); ok || why != "NOT_JOINED no" {
		t.Errorf("chat ackOK: got %v %q, want false \"NOT_JOINED no\"", ok, why)
	}
}

func TestHistogramBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 100, 1000, 123456, 1 << 40, math.MaxInt64} {
		i := histIndex(v)
		if lo, hi := histLower(i), histLower(i+1); v < lo || (i+1 < histBuckets && v >= hi) {
			t.Errorf("value %d in bucket %d [%d, %d)", v, i, lo, hi)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	q := h.quantiles()
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p50", q.P50, 500}, {"p90", q.P90, 900}, {"p99", q.P99, 990}, {"max", q.Max, 1000}} {
		if math.Abs(c.got-c.want) > c.want*0.035 {
			t.Errorf("%s: got %.1f ms, want %.0f ms ± 3.5%%", c.name, c.got, c.want)
		}
	}
	if q.Count != 1000 {
		t.Errorf("count: got %d, want 1000", q.Count)
	}
}

func TestProcReaders(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// Burn a little CPU so the reading cannot be zero at 10 ms resolution.
	deadline := time.Now().Add(30 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	cpu, err := cpuTime(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Errorf("cpuTime: got %v, %v; want > 0", cpu, err)
	}
	rss, err := rssKB(os.Getpid())
	if err != nil || rss <= 0 {
		t.Errorf("rssKB: got %d, %v; want > 0", rss, err)
	}
	if _, err := cpuTime(-1); err == nil {
		t.Error("cpuTime(-1): got nil error")
	}
}

// TestRunRawBroadcast runs a short benchmark against an in-process broadcast app built on
// internal/socketio, the same app as bench/cmd/go-echo.
func TestRunRawBroadcast(t *testing.T) {
	io := socketio.NewServer(socketio.Options{})
	nsp := io.Of("/")
	nsp.OnConnection(func(s *socketio.Socket) {
		room := s.Handshake().Query.Get("room")
		s.Join(room)
		s.On("bcast", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			_ = nsp.To(room).Emit("bcast", args.Raw(0))
			if ack != nil {
				ack(true)
			}
		})
	})
	srv := httptest.NewServer(io)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		srv.Close()
	})

	var out, progress bytes.Buffer
	args := []string{"-protocol", "raw", "-url", srv.URL, "-rooms", "3", "-capacity", "4", "-rate", "20",
		"-duration", "300ms", "-settle", "0", "-json", "-server-pid", strconv.Itoa(os.Getpid())}
	if err := Run(context.Background(), args, &out, &progress); err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	var s Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, out.String())
	}
	if s.Connected != 12 || s.Joined != 12 {
		t.Errorf("connected/joined: got %d/%d, want 12/12", s.Connected, s.Joined)
	}
	if s.Sent == 0 || s.AcksOK != s.Sent {
		t.Errorf("sent %d, acks ok %d: want equal and above 0", s.Sent, s.AcksOK)
	}
	if want := s.AcksOK * 4; s.Expected != want || s.Received != want || s.Lost != 0 {
		t.Errorf("deliveries: expected %d received %d lost %d, want %d %d 0", s.Expected, s.Received, s.Lost, want, want)
	}
	if s.DeliveryLatency.Count != uint64(s.Received) {
		t.Errorf("delivery latency samples: got %d, want %d", s.DeliveryLatency.Count, s.Received)
	}
	if s.Server.RSSIdleKB <= 0 {
		t.Errorf("server rss: got %d, want > 0", s.Server.RSSIdleKB)
	}
	if len(s.Errors) != 0 {
		t.Errorf("errors: got %+v, want none", s.Errors)
	}
}

// fakeChat serves the part of the Cola Chat contract the load generator uses: POST /chat/rooms,
// and on /anonymous joinRoom and sendMessage with envelope acks and Message broadcasts. It also
// returns how many distinct sockets have sent a message.
func fakeChat(t *testing.T) (string, func() int) {
	t.Helper()
	envelope := func(data any) map[string]any {
		return map[string]any{"success": true, "message": "요청이 성공적으로 처리되었습니다.", "data": data}
	}
	io := socketio.NewServer(socketio.Options{})
	nsp := io.Of("/anonymous")
	var nextID atomic.Int64
	var sendersMu sync.Mutex
	senders := map[string]bool{}
	nsp.OnConnection(func(s *socketio.Socket) {
		s.On("joinRoom", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var req struct {
				RoomID string `json:"roomId"`
			}
			_ = args.Decode(0, &req)
			s.Join(req.RoomID)
			s.Set("room", req.RoomID)
			ack(envelope(map[string]any{"id": s.ID(), "nickname": "개구리", "token": "t"}))
		})
		s.On("sendMessage", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var req struct {
				RoomID  string `json:"roomId"`
				Content string `json:"content"`
			}
			if err := args.Decode(0, &req); err != nil || s.Get("room") != req.RoomID {
				ack(map[string]any{"success": false, "message": "no", "code": "NOT_JOINED", "data": nil})
				return
			}
			sendersMu.Lock()
			senders[s.ID()] = true
			sendersMu.Unlock()
			msg := map[string]any{"id": nextID.Add(1), "type": "MESSAGE", "content": req.Content, "roomId": req.RoomID,
				"chatter": map[string]any{"id": s.ID(), "nickname": "개구리"}}
			_ = nsp.To(req.RoomID).Emit("sendMessage", msg)
			ack(envelope(nil))
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	var rooms atomic.Int64
	mux.HandleFunc("POST /chat/rooms", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Namespace string `json:"namespace"`
			Capacity  int    `json:"capacity"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Namespace != "anonymous" || req.Capacity != 5 {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "message": "bad", "data": nil})
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(envelope(map[string]any{"id": "room-" + strconv.FormatInt(rooms.Add(1), 10)}))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		srv.Close()
	})
	return srv.URL, func() int {
		sendersMu.Lock()
		defer sendersMu.Unlock()
		return len(senders)
	}
}

func TestRunChat(t *testing.T) {
	url, _ := fakeChat(t)
	var out, progress bytes.Buffer
	args := []string{"-url", url, "-rooms", "2", "-capacity", "5", "-rate", "10", "-duration", "300ms",
		"-settle", "0", "-size", "200", "-json", "-quiet"}
	if err := Run(context.Background(), args, &out, &progress); err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	var s Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, out.String())
	}
	if s.Joined != 10 || s.JoinLatency.Count != 10 {
		t.Errorf("joined %d with %d join latencies, want 10 and 10", s.Joined, s.JoinLatency.Count)
	}
	if s.Sent == 0 || s.AcksOK != s.Sent || s.AckErrors != 0 {
		t.Errorf("sent %d, acks ok %d, ack errors %d: want sent = acks ok > 0, no errors", s.Sent, s.AcksOK, s.AckErrors)
	}
	if want := s.AcksOK * 5; s.Expected != want || s.Received != want || s.Lost != 0 || s.Stray != 0 {
		t.Errorf("deliveries: expected %d received %d lost %d stray %d, want %d %d 0 0", s.Expected, s.Received, s.Lost, s.Stray, want, want)
	}
	if s.Server.PIDs != nil {
		t.Errorf("server pids: got %v, want none", s.Server.PIDs)
	}

	// The table form carries the same numbers.
	out.Reset()
	if err := writeSummary(&out, &s, false); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d received / %d expected, lost 0", s.Received, s.Expected); !strings.Contains(out.String(), want) {
		t.Errorf("table: got\n%s\nwant a line with %q", out.String(), want)
	}
}

// TestRunChatSenders: with -senders only the first members of each room send, and every member
// still receives every message.
func TestRunChatSenders(t *testing.T) {
	url, senders := fakeChat(t)
	var out, progress bytes.Buffer
	args := []string{"-url", url, "-rooms", "2", "-capacity", "5", "-senders", "2", "-rate", "10",
		"-duration", "300ms", "-settle", "0", "-json", "-quiet"}
	if err := Run(context.Background(), args, &out, &progress); err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	var s Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, out.String())
	}
	if got := senders(); got != 4 {
		t.Errorf("distinct senders: got %d, want 4 (2 rooms x 2)", got)
	}
	if s.Senders != 2 || s.Joined != 10 {
		t.Errorf("senders per room %d, joined %d: want 2 and 10", s.Senders, s.Joined)
	}
	if want := s.AcksOK * 5; s.AcksOK == 0 || s.Expected != want || s.Received != want || s.Lost != 0 {
		t.Errorf("deliveries: acked %d expected %d received %d lost %d, want %d received of %d", s.AcksOK, s.Expected, s.Received, s.Lost, want, want)
	}
	out.Reset()
	if err := writeSummary(&out, &s, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "from 2 of each room") {
		t.Errorf("table: got\n%s\nwant the load line to name 2 senders per room", out.String())
	}
}
