package engineio

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func TestWebSocketHandshake(t *testing.T) {
	h := newHarness(t, Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}, nil)
	_, open, c := h.openWebSocket()
	if len(open.Upgrades) != 0 || open.Upgrades == nil {
		t.Errorf("got upgrades %v, want []", open.Upgrades)
	}
	if open.PingInterval != 300 || open.PingTimeout != 200 || open.MaxPayload != 1_000_000 {
		t.Errorf("got ping %d/%d max %d, want 300/200 1000000", open.PingInterval, open.PingTimeout, open.MaxPayload)
	}
	if c.ID() != open.SID || c.Transport() != TransportWebSocket {
		t.Errorf("got %s on %s, want %s on websocket", c.ID(), c.Transport(), open.SID)
	}
}

func TestWebSocketHandshakeErrors(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	open, _ := h.openPolling()
	for _, q := range []string{
		"transport=websocket",
		"EIO=abc&transport=websocket",
		"EIO=4",
		"EIO=4&transport=abc",
		"EIO=4&transport=polling",
		"EIO=4&transport=websocket&sid=unknown",
	} {
		t.Run(q, func(t *testing.T) {
			_, err := h.dial(q)
			var status ws.StatusError
			if !errors.As(err, &status) || int(status) != http.StatusBadRequest {
				t.Errorf("got %v, want a 400 refusal", err)
			}
		})
	}
	_ = open
}

func TestWebSocketMessages(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	c, _, _ := h.openWebSocket()
	for _, msg := range []string{"4hello", "4", "4héllo ✓", "4" + strings.Repeat("y", 70_000)} {
		c.sendText(msg)
		if got := c.readText(); got != msg {
			t.Errorf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(msg), msg)
		}
	}
	bin := []byte{1, 2, 3, 4}
	c.sendBinary(bin)
	f, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if f.Header.OpCode != ws.OpBinary || !bytes.Equal(f.Payload, bin) {
		t.Errorf("got %v %v, want binary %v", f.Header.OpCode, f.Payload, bin)
	}
}

func TestWebSocketFragmentedMessage(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	c, _, _ := h.openWebSocket()
	c.sendFrame(ws.NewFrame(ws.OpText, false, []byte("4hel")))
	c.sendFrame(ws.NewPingFrame([]byte("p")))
	c.sendFrame(ws.NewFrame(ws.OpContinuation, false, []byte("lo ")))
	c.sendFrame(ws.NewFrame(ws.OpContinuation, true, []byte("world")))
	var got []string
	for len(got) < 2 {
		f, err := c.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		kind := map[ws.OpCode]string{ws.OpText: "text", ws.OpPong: "pong"}[f.Header.OpCode]
		got = append(got, kind+":"+string(f.Payload))
	}
	want := []string{"pong:p", "text:4hello world"}
	if got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWebSocketInvalidInput(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		send      func(c *wsClient)
		wantCode  int
		wantCause string
	}{
		{"bad packet", Options{}, func(c *wsClient) { c.sendText("abc") }, 1000, ReasonParseError},
		{"empty text", Options{}, func(c *wsClient) { c.sendText("") }, 1000, ReasonParseError},
		{"invalid utf-8", Options{}, func(c *wsClient) { c.sendFrame(ws.NewTextFrame([]byte{'4', 0xff, 0xfe})) }, 1007, ReasonTransportError},
		{"too big", Options{MaxPayload: 1000}, func(c *wsClient) { c.sendText("4" + strings.Repeat("x", 1000)) }, 1009, ReasonTransportError},
		{"too big in fragments", Options{MaxPayload: 1000}, func(c *wsClient) {
			c.sendFrame(ws.NewFrame(ws.OpText, false, []byte("4"+strings.Repeat("x", 600))))
			c.sendFrame(ws.NewFrame(ws.OpContinuation, true, []byte(strings.Repeat("x", 600))))
		}, 1009, ReasonTransportError},
		{"orphan continuation", Options{}, func(c *wsClient) { c.sendFrame(ws.NewFrame(ws.OpContinuation, true, []byte("x"))) }, 1002, ReasonTransportError},
		{"client ping packet", Options{}, func(c *wsClient) { c.sendText("2") }, 1000, ReasonTransportError},
		{"client close packet", Options{}, func(c *wsClient) { c.sendText("1") }, 1000, ReasonTransportClose},
		{"close frame", Options{}, func(c *wsClient) { c.sendFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(1000, ""))) }, 1000, ReasonTransportClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts, echo)
			c, _, _ := h.openWebSocket()
			tt.send(c)
			if code := c.readClose(); code != tt.wantCode {
				t.Errorf("got close code %d, want %d", code, tt.wantCode)
			}
			if r := h.closeReason(); r != tt.wantCause {
				t.Errorf("got reason %q, want %q", r, tt.wantCause)
			}
			if n := h.srv.Count(); n != 0 {
				t.Errorf("got count %d, want 0", n)
			}
		})
	}
}

func TestWebSocketUnmaskedFrameIsRefused(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	c, _, _ := h.openWebSocket()
	if err := ws.WriteFrame(c.nc, ws.NewTextFrame([]byte("4x"))); err != nil {
		t.Fatal(err)
	}
	if code := c.readClose(); code != 1002 {
		t.Errorf("got close code %d, want 1002", code)
	}
}

func TestWebSocketClientDisconnect(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	c, _, _ := h.openWebSocket()
	_ = c.nc.Close()
	if r := h.closeReason(); r != ReasonTransportClose {
		t.Errorf("got reason %q, want %q", r, ReasonTransportClose)
	}
}

func TestWebSocketHeartbeat(t *testing.T) {
	h := newHarness(t, Options{PingInterval: 20 * time.Millisecond, PingTimeout: time.Minute}, nil)
	c, _, _ := h.openWebSocket()
	for i := range 3 {
		if got := c.readText(); got != "2" {
			t.Fatalf("round %d: got %q, want 2", i, got)
		}
		c.sendText("3")
	}
	if n := h.srv.Count(); n != 1 {
		t.Errorf("got count %d, want 1", n)
	}
}

func TestWebSocketPingTimeout(t *testing.T) {
	h := newHarness(t, Options{PingInterval: 10 * time.Millisecond, PingTimeout: 10 * time.Millisecond}, nil)
	c, _, _ := h.openWebSocket()
	if got := c.readText(); got != "2" {
		t.Fatalf("got %q, want a ping", got)
	}
	if code := c.readClose(); code != 1000 {
		t.Errorf("got close code %d, want 1000", code)
	}
	if r := h.closeReason(); r != ReasonPingTimeout {
		t.Errorf("got reason %q, want %q", r, ReasonPingTimeout)
	}
}

func TestWebSocketForcedCloseFlushesQueue(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	c, _, conn := h.openWebSocket()
	for _, m := range []string{"a", "b", "c"} {
		if err := conn.Send(NewMessage([]byte(m), false)); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	for _, want := range []string{"4a", "4b", "4c"} {
		if got := c.readText(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if code := c.readClose(); code != 1000 {
		t.Errorf("got close code %d, want 1000", code)
	}
	if r := h.closeReason(); r != ReasonForcedClose {
		t.Errorf("got reason %q, want %q", r, ReasonForcedClose)
	}
}

func TestWebSocketSlowConsumerIsCut(t *testing.T) {
	h := newHarness(t, Options{QueueLimit: 4}, nil)
	c, _, conn := h.openWebSocket()
	big := NewMessage(bytes.Repeat([]byte("z"), 64<<10), false)
	var err error
	for i := 0; i < 100_000 && err == nil; i++ { // the client never reads
		err = conn.Send(big)
	}
	if !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("got %v, want ErrSlowConsumer", err)
	}
	if r := h.closeReason(); r != ReasonTransportError {
		t.Errorf("got reason %q, want %q", r, ReasonTransportError)
	}
	if err := conn.Send(big); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after cut: got %v, want ErrClosed", err)
	}
	_ = c
}

func TestCallbackPanicClosesOnlyThatConn(t *testing.T) {
	h := newHarness(t, Options{}, func(c *Conn) {
		c.OnMessage(func(data []byte, _ bool) {
			if string(data) == "boom" {
				panic("boom")
			}
			_ = c.Send(NewMessage(data, false))
		})
	})
	bad, _, _ := h.openWebSocket()
	good, _, _ := h.openWebSocket()
	bad.sendText("4boom")
	if r := h.closeReason(); r != ReasonTransportError {
		t.Errorf("got reason %q, want %q", r, ReasonTransportError)
	}
	good.sendText("4still here")
	if got := good.readText(); got != "4still here" {
		t.Errorf("got %q, want 4still here", got)
	}
}

func TestBroadcastOnePacketToManyConns(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	var clients []*wsClient
	var conns []*Conn
	for range 5 {
		c, _, conn := h.openWebSocket()
		clients = append(clients, c)
		conns = append(conns, conn)
	}
	open, pconn := h.openPolling()
	conns = append(conns, pconn)
	p := NewMessage([]byte("to all"), false)
	for _, conn := range conns {
		if err := conn.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		if got := c.readText(); got != "4to all" {
			t.Errorf("client %d: got %q, want 4to all", i, got)
		}
	}
	if _, body := h.get(open.SID); body != "4to all" {
		t.Errorf("polling client: got %q, want 4to all", body)
	}
}

func TestMessagesArriveInOrder(t *testing.T) {
	var got atomic.Int64
	var bad atomic.Bool
	h := newHarness(t, Options{}, func(c *Conn) {
		c.OnMessage(func(data []byte, _ bool) {
			if string(data) != string(rune('a'+got.Load()%26)) {
				bad.Store(true)
			}
			got.Add(1)
			if got.Load() == 260 {
				_ = c.Send(NewMessage([]byte("done"), false))
			}
		})
	})
	c, _, _ := h.openWebSocket()
	for i := range 260 {
		c.sendText("4" + string(rune('a'+i%26)))
	}
	if m := c.readText(); m != "4done" || bad.Load() {
		t.Errorf("got %q (out of order: %v), want 4done in order", m, bad.Load())
	}
}

func TestUpgrade(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	open, conn := h.openPolling()
	c := h.mustDial("EIO=4&transport=websocket&sid=" + open.SID)
	pending := make(chan string, 1)
	go func() {
		_, body := h.get(open.SID)
		pending <- body
	}()
	waitUntil(t, "the GET to wait", conn.pollPending)
	c.sendText("2probe")
	if got := c.readText(); got != "3probe" {
		t.Fatalf("got %q, want 3probe", got)
	}
	if got := <-pending; got != "6" {
		t.Errorf("pending GET: got %q, want 6", got)
	}
	// a message sent while the upgrade is pending goes out on the websocket
	if err := conn.Send(NewMessage([]byte("queued"), false)); err != nil {
		t.Fatal(err)
	}
	c.sendText("5")
	if got := c.readText(); got != "4queued" {
		t.Errorf("got %q, want 4queued", got)
	}
	c.sendText("4hello")
	if got := c.readText(); got != "4hello" {
		t.Errorf("got %q, want 4hello", got)
	}
	if tr := conn.Transport(); tr != TransportWebSocket {
		t.Errorf("got transport %s, want websocket", tr)
	}
	if status, _ := h.get(open.SID); status != http.StatusBadRequest {
		t.Errorf("GET after upgrade: got status %d, want 400", status)
	}
	if status, _ := h.post(open.SID, "4x"); status != http.StatusBadRequest {
		t.Errorf("POST after upgrade: got status %d, want 400", status)
	}
	// a second websocket for the session is accepted, then closed without a code
	if second := h.mustDial("EIO=4&transport=websocket&sid=" + open.SID); second.readClose() != 1005 {
		t.Errorf("second websocket for an upgraded session: want a close frame without a code")
	}
	c.sendText("4still")
	if got := c.readText(); got != "4still" {
		t.Errorf("got %q, want 4still", got)
	}
}

func TestUpgradeProbeAnswersLaterGetWithNoop(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	open, _ := h.openPolling()
	c := h.mustDial("EIO=4&transport=websocket&sid=" + open.SID)
	c.sendText("2probe")
	if got := c.readText(); got != "3probe" {
		t.Fatalf("got %q, want 3probe", got)
	}
	if status, body := h.get(open.SID); status != http.StatusOK || body != "6" {
		t.Errorf("GET during upgrade: got %d %q, want 200 6", status, body)
	}
	c.sendText("5")
	c.sendText("4hello")
	if got := c.readText(); got != "4hello" {
		t.Errorf("got %q, want 4hello", got)
	}
}

func TestFailedUpgradeKeepsPolling(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	open, conn := h.openPolling()
	c := h.mustDial("EIO=4&transport=websocket&sid=" + open.SID)
	c.sendText("4not a probe")
	if code := c.readClose(); code != 0 {
		t.Errorf("got close code %d, want the connection dropped", code)
	}
	waitUntil(t, "the upgrade to be abandoned", func() bool {
		conn.mu.Lock()
		defer conn.mu.Unlock()
		return conn.state == statePolling
	})
	if status, _ := h.post(open.SID, "4poll"); status != http.StatusOK {
		t.Fatalf("POST: got status %d, want 200", status)
	}
	if _, body := h.get(open.SID); body != "4poll" {
		t.Errorf("GET: got %q, want 4poll", body)
	}
	if tr := conn.Transport(); tr != TransportPolling {
		t.Errorf("got transport %s, want polling", tr)
	}
}

func TestUpgradeRefusedWhenDisabled(t *testing.T) {
	h := newHarness(t, Options{DisableUpgrades: true}, nil)
	open, _ := h.openPolling()
	if _, err := h.dial("EIO=4&transport=websocket&sid=" + open.SID); err == nil {
		t.Errorf("got upgrade accepted, want refused")
	}
}

func TestOnlyPollingTransport(t *testing.T) {
	h := newHarness(t, Options{Transports: []string{TransportPolling}}, nil)
	open, _ := h.openPolling()
	if len(open.Upgrades) != 0 {
		t.Errorf("got upgrades %v, want none", open.Upgrades)
	}
	if _, err := h.dial("EIO=4&transport=websocket"); err == nil {
		t.Errorf("got websocket accepted, want refused")
	}
}

func TestServerCloseEndsWebSockets(t *testing.T) {
	h := newHarness(t, Options{}, nil)
	c, _, _ := h.openWebSocket()
	probing := h.mustDial("EIO=4&transport=websocket&sid=" + func() string { o, _ := h.openPolling(); return o.SID }())
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := h.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if code := c.readClose(); code != 1001 {
		t.Errorf("got close code %d, want 1001", code)
	}
	if code := probing.readClose(); code != 0 {
		t.Errorf("probing websocket: got close code %d, want dropped", code)
	}
	for range 2 {
		if r := h.closeReason(); r != ReasonServerShutdown {
			t.Errorf("got reason %q, want %q", r, ReasonServerShutdown)
		}
	}
}

func TestSendManyKeepsPacketsTogether(t *testing.T) {
	h := newHarness(t, Options{QueueLimit: 3}, nil)
	c, _, conn := h.openWebSocket()
	a, b := NewMessage([]byte("head"), false), NewMessage([]byte{1}, true)
	if err := conn.SendMany(a, b); err != nil {
		t.Fatal(err)
	}
	if got := c.readText(); got != "4head" {
		t.Errorf("got %q, want 4head", got)
	}
	if f, err := c.readFrame(); err != nil || f.Header.OpCode != ws.OpBinary {
		t.Errorf("got %v %v, want the binary attachment", f.Header.OpCode, err)
	}
	if err := conn.SendMany(a, a, a, a); !errors.Is(err, ErrSlowConsumer) {
		t.Errorf("four packets over a limit of three: got %v, want ErrSlowConsumer", err)
	}
}

func TestOnCloseRunsAfterOnMessageReturns(t *testing.T) {
	events := make(chan string, 4)
	h := newHarness(t, Options{}, func(c *Conn) {
		c.OnMessage(func([]byte, bool) {
			c.Close() // closing from inside the handler must not deadlock
			events <- "message done"
		})
		c.OnClose(func(reason string) { events <- "close: " + reason })
	})
	c, _, _ := h.openWebSocket()
	var both bytes.Buffer // one write: the server may close before a second one
	for _, m := range []string{"4x", "4never delivered"} {
		if err := ws.WriteFrame(&both, ws.MaskFrame(ws.NewTextFrame([]byte(m)))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.nc.Write(both.Bytes()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"message done", "close: forced close"} {
		select {
		case got := <-events:
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		case <-time.After(ioTimeout):
			t.Fatalf("no %q", want)
		}
	}
	if code := c.readClose(); code != 1000 {
		t.Errorf("got close code %d, want 1000", code)
	}
}

func TestPollAfterProbeIsRefusedOnceUpgraded(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	h.srv.probeNoopDelay = time.Hour // only the upgrade can answer the poll
	open, conn := h.openPolling()
	c := h.mustDial("EIO=4&transport=websocket&sid=" + open.SID)
	c.sendText("2probe")
	if got := c.readText(); got != "3probe" {
		t.Fatalf("got %q, want 3probe", got)
	}
	status := make(chan int, 1)
	go func() {
		s, _ := h.get(open.SID)
		status <- s
	}()
	waitUntil(t, "the GET to wait", conn.pollPending)
	c.sendText("5")
	if s := <-status; s != http.StatusBadRequest {
		t.Errorf("poll held across the upgrade: got status %d, want 400", s)
	}
	c.sendText("4hello")
	if got := c.readText(); got != "4hello" {
		t.Errorf("got %q, want 4hello", got)
	}
}

func TestPollDuringProbeWaitsForTheUpgrade(t *testing.T) {
	tests := []struct {
		name       string
		pollFirst  bool // the GET waits before the websocket opens
		wantStatus int
		wantBody   string
	}{
		{"poll waiting before the websocket is answered at the probe", true, http.StatusOK, "6"},
		{"poll arriving during the probe is refused by the upgrade", false, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{}, echo)
			h.srv.probeNoopDelay = time.Hour // no timer answers the poll
			open, conn := h.openPolling()
			type result struct {
				status int
				body   string
			}
			polled := make(chan result, 1)
			poll := func() {
				go func() {
					s, b := h.get(open.SID)
					polled <- result{s, b}
				}()
				waitUntil(t, "the GET to wait", conn.pollPending)
			}
			if tt.pollFirst {
				poll()
			}
			c := h.mustDial("EIO=4&transport=websocket&sid=" + open.SID)
			if !tt.pollFirst {
				poll()
			}
			c.sendText("2probe")
			if got := c.readText(); got != "3probe" {
				t.Fatalf("got %q, want 3probe", got)
			}
			if tt.pollFirst {
				if got := <-polled; got.status != tt.wantStatus || got.body != tt.wantBody {
					t.Errorf("got %d %q, want %d %q", got.status, got.body, tt.wantStatus, tt.wantBody)
				}
			}
			c.sendText("5")
			if !tt.pollFirst {
				if got := <-polled; got.status != tt.wantStatus {
					t.Errorf("got %d %q, want %d", got.status, got.body, tt.wantStatus)
				}
			}
			c.sendText("4hello")
			if got := c.readText(); got != "4hello" {
				t.Errorf("got %q, want 4hello", got)
			}
		})
	}
}

// Frames that arrive together, one of them across the server's read
// buffer, are all handled, in order.
func TestWebSocketFramesInOneWrite(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	c, _, _ := h.openWebSocket()
	msgs := []string{"4a", "4b", "4" + strings.Repeat("z", 5000), "4c", "4" + strings.Repeat("w", 3000), "4d"}
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := ws.WriteFrame(&buf, ws.MaskFrame(ws.NewTextFrame([]byte(m)))); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	_, err := c.nc.Write(buf.Bytes())
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range msgs {
		if got := c.readText(); got != want {
			t.Fatalf("message %d: got %d bytes %.10q, want %d bytes %.10q", i, len(got), got, len(want), want)
		}
	}
}

// A client that stops in the middle of a frame holds up only itself.
func TestWebSocketStalledFrameBlocksOnlyItsConn(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	stalled, _, _ := h.openWebSocket()
	var buf bytes.Buffer
	if err := ws.WriteFrame(&buf, ws.MaskFrame(ws.NewTextFrame([]byte("4late")))); err != nil {
		t.Fatal(err)
	}
	frame := buf.Bytes()
	stalled.mu.Lock()
	_, err := stalled.nc.Write(frame[:3])
	stalled.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}

	other, _, _ := h.openWebSocket()
	other.sendText("4hi")
	if got := other.readText(); got != "4hi" {
		t.Errorf("other connection: got %q, want 4hi", got)
	}

	stalled.mu.Lock()
	_, err = stalled.nc.Write(frame[3:])
	stalled.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := stalled.readText(); got != "4late" {
		t.Errorf("stalled connection: got %q, want 4late", got)
	}
}

func TestSecondWebSocketDuringUpgradeIsTurnedAway(t *testing.T) {
	h := newHarness(t, Options{}, echo)
	open, conn := h.openPolling()
	first := h.mustDial("EIO=4&transport=websocket&sid=" + open.SID)
	first.sendText("2probe")
	if got := first.readText(); got != "3probe" {
		t.Fatalf("got %q, want 3probe", got)
	}
	second := h.mustDial("EIO=4&transport=websocket&sid=" + open.SID)
	if code := second.readClose(); code != 1005 {
		t.Errorf("second websocket: got close code %d, want a close frame without a code (1005)", code)
	}
	first.sendText("5")
	first.sendText("4hello")
	if got := first.readText(); got != "4hello" {
		t.Errorf("first websocket after the upgrade: got %q, want 4hello", got)
	}
	if tr := conn.Transport(); tr != TransportWebSocket {
		t.Errorf("got transport %s, want websocket", tr)
	}
}
