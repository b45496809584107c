package engineio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPollingHandshake(t *testing.T) {
	h := newHarness(t, Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}, nil)
	status, body, hdr := h.do(http.MethodGet, "EIO=4&transport=polling", "", nil)
	if status != http.StatusOK {
		t.Fatalf("got status %d, want 200", status)
	}
	if ct := hdr.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("got content type %q, want text/plain; charset=UTF-8", ct)
	}
	open := parseOpen(t, body)
	if len(open.SID) != 20 {
		t.Errorf("got sid %q, want 20 characters", open.SID)
	}
	if len(open.Upgrades) != 1 || open.Upgrades[0] != "websocket" {
		t.Errorf("got upgrades %v, want [websocket]", open.Upgrades)
	}
	if open.PingInterval != 300 || open.PingTimeout != 200 || open.MaxPayload != 1_000_000 {
		t.Errorf("got ping %d/%d max %d, want 300/200 1000000", open.PingInterval, open.PingTimeout, open.MaxPayload)
	}
	c := h.nextConn()
	if c.ID() != open.SID || c.Transport() != TransportPolling {
		t.Errorf("got conn %s on %s, want %s on polling", c.ID(), c.Transport(), open.SID)
	}
	if h.srv.Count() != 1 {
		t.Errorf("got count %d, want 1", h.srv.Count())
	}
}

func TestPollingHandshakeWithoutUpgrades(t *testing.T) {
	h := newHarness(t, Options{DisableUpgrades: true}, nil)
	open, _ := h.openPolling()
	if len(open.Upgrades) != 0 {
		t.Errorf("got upgrades %v, want none", open.Upgrades)
	}
}

func TestRequestIsAHandshakeCopy(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	status, _, _ := h.do(http.MethodGet, "EIO=4&transport=polling&room=abc", "", http.Header{"X-Test": {"yes"}})
	if status != http.StatusOK {
		t.Fatalf("got status %d, want 200", status)
	}
	c := h.nextConn()
	r := c.Request()
	if got := r.URL.Query().Get("room"); got != "abc" {
		t.Errorf("got query room %q, want abc", got)
	}
	if got := r.Header.Get("X-Test"); got != "yes" {
		t.Errorf("got header %q, want yes", got)
	}
	if !strings.HasPrefix(c.RemoteAddr(), "127.0.0.1:") {
		t.Errorf("got remote addr %q, want 127.0.0.1:port", c.RemoteAddr())
	}
}

func TestProtocolErrors(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, _ := h.openPolling()
	tests := []struct {
		name, method, query string
		hdr                 http.Header
		status              int
		body                string
	}{
		{"no EIO", "GET", "transport=polling", nil, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"bad EIO", "GET", "EIO=abc&transport=polling", nil, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO 3", "GET", "EIO=3&transport=polling", nil, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"no transport", "GET", "EIO=4", nil, 400, `{"code":0,"message":"Transport unknown"}`},
		{"bad transport", "GET", "EIO=4&transport=abc", nil, 400, `{"code":0,"message":"Transport unknown"}`},
		{"POST handshake", "POST", "EIO=4&transport=polling", nil, 400, `{"code":2,"message":"Bad handshake method"}`},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", nil, 400, `{"code":2,"message":"Bad handshake method"}`},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", nil, 400, `{"code":1,"message":"Session ID unknown"}`},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", nil, 400, `{"code":3,"message":"Bad request"}`},
		{"PUT on session", "PUT", "EIO=4&transport=polling&sid=" + open.SID, nil, 400, `{"code":3,"message":"Bad request"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, hdr := h.do(tt.method, tt.query, "", tt.hdr)
			if status != tt.status || body != tt.body {
				t.Errorf("got %d %s, want %d %s", status, body, tt.status, tt.body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("got content type %q, want application/json", ct)
			}
		})
	}
}

func TestPollingMessages(t *testing.T) {
	tests := []struct{ name, payload string }{
		{"one text packet", "4hello"},
		{"several text packets", "4test1\x1e4test2\x1e4test3"},
		{"text and binary", "4hello\x1ebAQIDBA=="},
		{"empty message", "4"},
		{"utf-8", "4héllo ✓"},
	}
	h := newHarness(t, Options{}, echo)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open, _ := h.openPolling()
			status, _, hdr := h.do(http.MethodPost, "EIO=4&transport=polling&sid="+open.SID, tt.payload, nil)
			if status != http.StatusOK {
				t.Fatalf("POST: got status %d, want 200", status)
			}
			if ct := hdr.Get("Content-Type"); ct != "text/html" {
				t.Errorf("POST: got content type %q, want text/html", ct)
			}
			status, body := h.get(open.SID)
			if status != http.StatusOK || body != tt.payload {
				t.Errorf("GET: got %d %q, want 200 %q", status, body, tt.payload)
			}
		})
	}
}

func TestPollingPostAnswersOK(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, _ := h.openPolling()
	status, body := h.post(open.SID, "6")
	if status != http.StatusOK || body != "ok" {
		t.Errorf("got %d %q, want 200 ok", status, body)
	}
}

func TestPollingInvalidPacketClosesSession(t *testing.T) {
	for _, payload := range []string{"abc", "", "4ok\x1e", "bnot base64!", "9"} {
		t.Run(payload, func(t *testing.T) {
			h := newHarness(t, Options{}, nil)
			open, _ := h.openPolling()
			if status, _ := h.post(open.SID, payload); status != http.StatusBadRequest {
				t.Errorf("POST %q: got status %d, want 400", payload, status)
			}
			if r := h.closeReason(); r != ReasonParseError {
				t.Errorf("got reason %q, want %q", r, ReasonParseError)
			}
			if status, _ := h.get(open.SID); status != http.StatusBadRequest {
				t.Errorf("GET after: got status %d, want 400", status)
			}
		})
	}
}

func TestPollingMessagesBeforeAnInvalidPacketAreDelivered(t *testing.T) {
	got := make(chan string, 4)
	h := newHarness(t, Options{}, func(c *Conn) {
		c.OnMessage(func(data []byte, _ bool) { got <- string(data) })
	})
	open, _ := h.openPolling()
	if status, _ := h.post(open.SID, "4first\x1ezzz\x1e4never"); status != http.StatusBadRequest {
		t.Fatalf("got status %d, want 400", status)
	}
	h.closeReason()
	close(got)
	var msgs []string
	for m := range got {
		msgs = append(msgs, m)
	}
	if len(msgs) != 1 || msgs[0] != "first" {
		t.Errorf("got messages %q, want [first]", msgs)
	}
}

func TestPollingDuplicateGetClosesSession(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, c := h.openPolling()
	first := make(chan string, 1)
	go func() {
		status, body, _ := h.do(http.MethodGet, "EIO=4&transport=polling&sid="+open.SID, "", nil)
		first <- strings.Join([]string{http.StatusText(status), body}, " ")
	}()
	waitUntil(t, "the first GET to wait", c.pollPending)
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("second GET: got status %d, want 400", status)
	}
	if got := <-first; got != "OK 1" {
		t.Errorf("first GET: got %q, want OK 1", got)
	}
	if r := h.closeReason(); r != ReasonTransportError {
		t.Errorf("got reason %q, want %q", r, ReasonTransportError)
	}
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("third GET: got status %d, want 400", status)
	}
}

func TestPollingClientClose(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, c := h.openPolling()
	pending := make(chan string, 1)
	go func() {
		_, body := h.get(open.SID)
		pending <- body
	}()
	waitUntil(t, "the GET to wait", c.pollPending)
	if status, body := h.post(open.SID, "1"); status != http.StatusOK || body != "ok" {
		t.Errorf("POST close: got %d %q, want 200 ok", status, body)
	}
	if got := <-pending; got != "6" {
		t.Errorf("pending GET: got %q, want 6 (noop)", got)
	}
	if r := h.closeReason(); r != ReasonTransportClose {
		t.Errorf("got reason %q, want %q", r, ReasonTransportClose)
	}
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("GET after close: got status %d, want 400", status)
	}
}

func TestPollingServerClose(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, c := h.openPolling()
	if err := c.Send(NewMessage([]byte("bye"), false)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if r := h.closeReason(); r != ReasonForcedClose {
		t.Errorf("got reason %q, want %q", r, ReasonForcedClose)
	}
	if err := c.Send(NewMessage([]byte("late"), false)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after close: got %v, want ErrClosed", err)
	}
	// The next GET still gets what was queued before the close, then the
	// close packet, so the client sees "transport close", not an error.
	if status, body := h.get(open.SID); status != http.StatusOK || body != "4bye\x1e1" {
		t.Errorf("GET after close: got %d %q, want 200 \"4bye\\x1e1\"", status, body)
	}
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("second GET after close: got status %d, want 400", status)
	}
	if n := h.srv.Count(); n != 0 {
		t.Errorf("got count %d, want 0", n)
	}
}

func TestPollingServerCloseForgetsSessionWithoutGet(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	h.srv.lingerTimeout = 10 * time.Millisecond
	open, c := h.openPolling()
	if err := c.Send(NewMessage([]byte("bye"), false)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	h.closeReason()
	waitUntil(t, "the session to be forgotten", func() bool { return h.srv.Count() == 0 })
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("GET after the linger: got status %d, want 400", status)
	}
}

func TestPollingServerCloseFlushesAckAfterPost(t *testing.T) {
	// The handler acks and closes during the POST, while no GET waits.
	h := newHarness(t, Options{}, func(c *Conn) {
		c.OnMessage(func(data []byte, _ bool) {
			_ = c.Send(NewMessage(append([]byte("ack:"), data...), false))
			c.Close()
		})
	})
	open, _ := h.openPolling()
	if status, body := h.post(open.SID, "4last"); status != http.StatusOK || body != "ok" {
		t.Fatalf("POST: got %d %q, want 200 ok", status, body)
	}
	if status, body := h.get(open.SID); status != http.StatusOK || body != "4ack:last\x1e1" {
		t.Errorf("GET: got %d %q, want 200 \"4ack:last\\x1e1\"", status, body)
	}
}

func TestPollingServerCloseAnswersPendingGet(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, c := h.openPolling()
	pending := make(chan string, 1)
	go func() {
		_, body := h.get(open.SID)
		pending <- body
	}()
	waitUntil(t, "the GET to wait", c.pollPending)
	c.Close()
	if got := <-pending; got != "1" {
		t.Errorf("pending GET: got %q, want 1 (close)", got)
	}
}

func TestPollingPayloadTooLarge(t *testing.T) {
	h := newHarness(t, Options{MaxPayload: 100}, nil)
	open, _ := h.openPolling()
	if status, _ := h.post(open.SID, "4"+strings.Repeat("x", 200)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("got status %d, want 413", status)
	}
	if r := h.closeReason(); r != ReasonTransportError {
		t.Errorf("got reason %q, want %q", r, ReasonTransportError)
	}
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("GET after: got status %d, want 400", status)
	}
}

func TestPollingPayloadAtLimitIsAccepted(t *testing.T) {
	h := newHarness(t, Options{MaxPayload: 100}, echo)
	open, _ := h.openPolling()
	payload := "4" + strings.Repeat("x", 99)
	if status, _ := h.post(open.SID, payload); status != http.StatusOK {
		t.Fatalf("got status %d, want 200", status)
	}
	if _, body := h.get(open.SID); body != payload {
		t.Errorf("got %d bytes back, want %d", len(body), len(payload))
	}
}

func TestPollingCancelledGetClosesSession(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, c := h.openPolling()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"?EIO=4&transport=polling&sid="+open.SID, nil)
		res, err := h.http.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
	}()
	waitUntil(t, "the GET to wait", c.pollPending)
	cancel()
	<-done
	if r := h.closeReason(); r != ReasonTransportError {
		t.Errorf("got reason %q, want %q", r, ReasonTransportError)
	}
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("GET after: got status %d, want 400", status)
	}
}

func TestPollingHeartbeat(t *testing.T) {
	h := newHarness(t, Options{PingInterval: 20 * time.Millisecond, PingTimeout: time.Minute}, nil)
	open, _ := h.openPolling()
	for i := range 3 {
		if status, body := h.get(open.SID); status != http.StatusOK || body != "2" {
			t.Fatalf("round %d: got %d %q, want 200 2", i, status, body)
		}
		if status, _ := h.post(open.SID, "3"); status != http.StatusOK {
			t.Fatalf("round %d: pong got status %d, want 200", i, status)
		}
	}
	if h.srv.Count() != 1 {
		t.Errorf("got count %d, want 1 (pongs keep the session)", h.srv.Count())
	}
}

func TestPollingPingTimeout(t *testing.T) {
	h := newHarness(t, Options{PingInterval: 10 * time.Millisecond, PingTimeout: 10 * time.Millisecond}, nil)
	open, _ := h.openPolling()
	if r := h.closeReason(); r != ReasonPingTimeout {
		t.Errorf("got reason %q, want %q", r, ReasonPingTimeout)
	}
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("GET after timeout: got status %d, want 400", status)
	}
}

func TestPollingClientPingIsATransportError(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, _ := h.openPolling()
	h.post(open.SID, "2")
	if r := h.closeReason(); r != ReasonTransportError {
		t.Errorf("got reason %q, want %q", r, ReasonTransportError)
	}
}

func TestPollingSlowConsumerIsCut(t *testing.T) {
	h := newHarness(t, Options{QueueLimit: 3}, nil)
	open, c := h.openPolling()
	msg := NewMessage([]byte("x"), false)
	for i := range 3 {
		if err := c.Send(msg); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := c.Send(msg); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("got %v, want ErrSlowConsumer", err)
	}
	if r := h.closeReason(); r != ReasonTransportError {
		t.Errorf("got reason %q, want %q", r, ReasonTransportError)
	}
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("GET after: got status %d, want 400", status)
	}
}

func TestCORS(t *testing.T) {
	tests := []struct {
		name        string
		cors        CORSOptions
		origin      string
		wantOrigin  string
		wantCredent string
	}{
		{"none configured", CORSOptions{}, "http://a.test", "", ""},
		{"any origin", CORSOptions{AllowedOrigins: []string{"*"}}, "http://a.test", "*", ""},
		{"any origin with credentials", CORSOptions{AllowedOrigins: []string{"*"}, Credentials: true}, "http://a.test", "http://a.test", "true"},
		{"listed origin", CORSOptions{AllowedOrigins: []string{"http://b.test", "http://a.test"}, Credentials: true}, "http://a.test", "http://a.test", "true"},
		{"unlisted origin", CORSOptions{AllowedOrigins: []string{"http://b.test"}}, "http://a.test", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{CORS: tt.cors}, nil)
			hdr := http.Header{"Origin": {tt.origin}}
			_, _, got := h.do(http.MethodGet, "EIO=4&transport=polling", "", hdr)
			if o := got.Get("Access-Control-Allow-Origin"); o != tt.wantOrigin {
				t.Errorf("GET: got allow-origin %q, want %q", o, tt.wantOrigin)
			}
			if c := got.Get("Access-Control-Allow-Credentials"); c != tt.wantCredent {
				t.Errorf("GET: got allow-credentials %q, want %q", c, tt.wantCredent)
			}
			if len(tt.cors.AllowedOrigins) == 0 {
				return
			}
			pre := http.Header{"Origin": {tt.origin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"}}
			status, _, got := h.do(http.MethodOptions, "EIO=4&transport=polling", "", pre)
			if status != http.StatusNoContent {
				t.Errorf("preflight: got status %d, want 204", status)
			}
			if o := got.Get("Access-Control-Allow-Origin"); o != tt.wantOrigin {
				t.Errorf("preflight: got allow-origin %q, want %q", o, tt.wantOrigin)
			}
			if m := got.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
				t.Errorf("preflight: got allow-methods %q, want POST in it", m)
			}
			if hh := got.Get("Access-Control-Allow-Headers"); hh != "content-type" {
				t.Errorf("preflight: got allow-headers %q, want content-type", hh)
			}
		})
	}
}

func TestServerCloseEndsPollingSessions(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, c := h.openPolling()
	pending := make(chan string, 1)
	go func() {
		_, body := h.get(open.SID)
		pending <- body
	}()
	waitUntil(t, "the GET to wait", c.pollPending)
	if err := h.srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := <-pending; got != "1" {
		t.Errorf("pending GET: got %q, want 1", got)
	}
	if r := h.closeReason(); r != ReasonServerShutdown {
		t.Errorf("got reason %q, want %q", r, ReasonServerShutdown)
	}
	if n := h.srv.Count(); n != 0 {
		t.Errorf("got count %d, want 0", n)
	}
	if status, _, _ := h.do(http.MethodGet, "EIO=4&transport=polling", "", nil); status != http.StatusServiceUnavailable {
		t.Errorf("handshake after close: got status %d, want 503", status)
	}
}

func TestPollingConcurrentPostClosesSession(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, c := h.openPolling()
	body, feed := io.Pipe()
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.url+"?EIO=4&transport=polling&sid="+open.SID, body)
		res, err := h.http.Client().Do(req)
		if err != nil {
			first <- 0
			return
		}
		res.Body.Close()
		first <- res.StatusCode
	}()
	if _, err := feed.Write([]byte("4par")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the first POST to be read", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.postReading
	})
	if status, _ := h.post(open.SID, "4second"); status != http.StatusBadRequest {
		t.Errorf("second POST: got status %d, want 400", status)
	}
	if r := h.closeReason(); r != ReasonTransportError {
		t.Errorf("got reason %q, want %q", r, ReasonTransportError)
	}
	_ = feed.Close()
	<-first
}

func TestPollingCloseWaitsForAConcurrentGet(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	h.srv.closeNoopWait = time.Hour // only the GET can release the close
	open, c := h.openPolling()
	posted := make(chan string, 1)
	go func() {
		_, body := h.post(open.SID, "1")
		posted <- body
	}()
	waitUntil(t, "the close to wait for a poll", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pollStarted != nil
	})
	if status, body := h.get(open.SID); status != http.StatusOK || body != "6" {
		t.Errorf("GET racing the close: got %d %q, want 200 6", status, body)
	}
	if body := <-posted; body != "ok" {
		t.Errorf("POST: got %q, want ok", body)
	}
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("GET after close: got status %d, want 400", status)
	}
}
