package engineio

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// ioTimeout only keeps a broken test from hanging; no assertion depends on it.
const ioTimeout = 5 * time.Second

// harness is a Server behind a real loopback HTTP server, recording every
// connection and close reason.
type harness struct {
	t      *testing.T
	srv    *Server
	http   *httptest.Server
	url    string // http://127.0.0.1:port/engine.io/
	conns  chan *Conn
	closes chan string
}

// echo makes every connection send each message back.
func echo(c *Conn) {
	c.OnMessage(func(data []byte, binary bool) {
		_ = c.Send(NewMessage(data, binary))
	})
}

func newHarness(t *testing.T, opts Options, setup func(c *Conn)) *harness {
	t.Helper()
	h := &harness{t: t, conns: make(chan *Conn, 64), closes: make(chan string, 64)}
	h.srv = NewServer(opts)
	h.srv.OnConnection(func(c *Conn) {
		c.OnClose(func(reason string) { h.closes <- reason })
		if setup != nil {
			setup(c)
		}
		h.conns <- c
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", h.srv)
	h.http = httptest.NewServer(mux)
	h.url = h.http.URL + "/engine.io/"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		if err := h.srv.Close(ctx); err != nil {
			t.Errorf("server close: %v", err)
		}
		h.http.Close()
	})
	return h
}

func (h *harness) nextConn() *Conn {
	h.t.Helper()
	select {
	case c := <-h.conns:
		return c
	case <-time.After(ioTimeout):
		h.t.Fatal("no connection")
		return nil
	}
}

func (h *harness) closeReason() string {
	h.t.Helper()
	select {
	case r := <-h.closes:
		return r
	case <-time.After(ioTimeout):
		h.t.Fatal("connection did not close")
		return ""
	}
}

type openPayload struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(t *testing.T, body string) openPayload {
	t.Helper()
	if !strings.HasPrefix(body, "0") {
		t.Fatalf("got handshake %q, want an open packet", body)
	}
	var o openPayload
	dec := json.NewDecoder(strings.NewReader(body[1:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("handshake %q: %v", body, err)
	}
	return o
}

// do sends an HTTP request and returns status, body and headers.
func (h *harness) do(method, query, body string, hdr http.Header) (int, string, http.Header) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	return h.doCtx(ctx, method, query, body, hdr)
}

func (h *harness) doCtx(ctx context.Context, method, query, body string, hdr http.Header) (int, string, http.Header) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.url+"?"+query, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := h.http.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, query, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return res.StatusCode, string(b), res.Header
}

// openPolling performs a polling handshake and returns the session.
func (h *harness) openPolling() (openPayload, *Conn) {
	h.t.Helper()
	status, body, _ := h.do(http.MethodGet, "EIO=4&transport=polling", "", nil)
	if status != http.StatusOK {
		h.t.Fatalf("handshake: got status %d, want 200 (%s)", status, body)
	}
	return parseOpen(h.t, body), h.nextConn()
}

func (h *harness) get(sid string) (int, string) {
	h.t.Helper()
	status, body, _ := h.do(http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil)
	return status, body
}

func (h *harness) post(sid, payload string) (int, string) {
	h.t.Helper()
	status, body, _ := h.do(http.MethodPost, "EIO=4&transport=polling&sid="+sid, payload, nil)
	return status, body
}

// waitUntil polls cond; it only bounds how long a broken test hangs.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *Conn) pollPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getWaiting
}

// wsClient is a minimal websocket client over a real connection.
type wsClient struct {
	t  *testing.T
	nc net.Conn
	r  io.Reader
	mu sync.Mutex
}

func (h *harness) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(h.url, "http") + "?" + query
}

func (h *harness) dial(query string) (*wsClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	nc, br, _, err := ws.Dial(ctx, h.wsURL(query))
	if err != nil {
		return nil, err
	}
	c := &wsClient{t: h.t, nc: nc, r: nc}
	if br != nil {
		c.r = br
	}
	h.t.Cleanup(func() { _ = nc.Close() })
	return c, nil
}

func (h *harness) mustDial(query string) *wsClient {
	h.t.Helper()
	c, err := h.dial(query)
	if err != nil {
		h.t.Fatalf("dial %s: %v", query, err)
	}
	return c
}

// openWebSocket opens a websocket session and reads its handshake.
func (h *harness) openWebSocket() (*wsClient, openPayload, *Conn) {
	h.t.Helper()
	c := h.mustDial("EIO=4&transport=websocket")
	open := parseOpen(h.t, c.readText())
	return c, open, h.nextConn()
}

func (c *wsClient) sendFrame(f ws.Frame) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ws.WriteFrame(c.nc, ws.MaskFrame(f)); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

func (c *wsClient) sendText(s string) { c.sendFrame(ws.NewTextFrame([]byte(s))) }

func (c *wsClient) sendBinary(b []byte) { c.sendFrame(ws.NewBinaryFrame(b)) }

func (c *wsClient) readFrame() (ws.Frame, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	return readFrame(c.r)
}

// readFrame reads one whole frame, refusing payloads above 16 MiB.
func readFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > 16<<20 {
		return ws.Frame{}, fmt.Errorf("frame of %d bytes", h.Length)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r, p); err != nil {
		return ws.Frame{}, err
	}
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	return ws.Frame{Header: h, Payload: p}, nil
}

func (c *wsClient) readText() string {
	c.t.Helper()
	f, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	if f.Header.OpCode != ws.OpText {
		c.t.Fatalf("got opcode %v (%q), want text", f.Header.OpCode, f.Payload)
	}
	return string(f.Payload)
}

// readClose reads until the server's close frame or the end of the
// connection, and returns the close code (0 when the connection just ended).
func (c *wsClient) readClose() int {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("connection still open: %v", err)
			}
			return 0
		}
		if f.Header.OpCode == ws.OpClose {
			if len(f.Payload) < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(f.Payload))
		}
	}
}
