package socketio

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"colachat/internal/socketio/engineio"
)

// wsClient is a raw Engine.IO websocket client for tests over real sockets.
type wsClient struct {
	t    *testing.T
	conn net.Conn
	rw   io.ReadWriter // reads what the handshake reader buffered first
}

func dialWS(t *testing.T, url string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &wsClient{t: t, conn: conn, rw: conn}
	if br != nil {
		c.rw = struct {
			io.Reader
			io.Writer
		}{br, conn}
	}
	if open := c.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("got %q, want an open packet", open)
	}
	return c
}

// read returns the next message, skipping pings; binary ones prefixed "b:".
func (c *wsClient) read() string {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(hangGuard))
		data, op, err := wsutil.ReadServerData(c.rw)
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if op == ws.OpBinary {
			return "b:" + string(data)
		}
		if string(data) == "2" {
			_ = wsutil.WriteClientText(c.conn, []byte("3"))
			continue
		}
		return string(data)
	}
}

func (c *wsClient) write(text string) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.conn, []byte(text)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *wsClient) writeBinary(b []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientBinary(c.conn, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// waitClosed reads until the server ends the connection.
func (c *wsClient) waitClosed() {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(hangGuard))
		if _, _, err := wsutil.ReadServerData(c.rw); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatal("connection not closed")
			}
			return
		}
	}
}

func TestOverEngineIO(t *testing.T) {
	s := NewServer(Options{Engine: engineio.Options{PingInterval: time.Second, PingTimeout: time.Second}})
	n := s.Of("/")
	n.On("echo", func(so *Socket, args Args, ack AckFunc) {
		if ack != nil {
			ack(args.Values()...)
			return
		}
		_ = so.Emit("echo-back", args.Values()...)
	})
	n.On("join", func(so *Socket, args Args, ack AckFunc) {
		var room string
		_ = args.Decode(0, &room)
		so.Join(room)
		ack()
	})
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	}()

	a, b := dialWS(t, hs.URL), dialWS(t, hs.URL)
	for _, c := range []*wsClient{a, b} {
		c.write("40")
		if got := c.read(); !strings.HasPrefix(got, `40{"sid":`) {
			t.Fatalf("got %q, want a CONNECT reply", got)
		}
	}

	a.write(`421["echo","hi",{"n":1}]`)
	expect(t, "ack", a.read(), `431["hi",{"n":1}]`)

	a.write(`451-["echo",{"_placeholder":true,"num":0}]`)
	a.writeBinary([]byte{0, 1, 2})
	expect(t, "binary event", a.read(), `451-["echo-back",{"_placeholder":true,"num":0}]`)
	expect(t, "attachment", a.read(), "b:\x00\x01\x02")

	b.write(`422["join","room"]`)
	expect(t, "join ack", b.read(), `432[]`)
	if err := n.To("room").Emit("news", []byte("x"), "y"); err != nil {
		t.Fatal(err)
	}
	expect(t, "room broadcast", b.read(), `451-["news",{"_placeholder":true,"num":0},"y"]`)
	expect(t, "room broadcast attachment", b.read(), "b:x")

	// Bad input cuts only that connection.
	a.write(`42{}`)
	a.waitClosed()
	b.write(`423["echo",true]`)
	expect(t, "other connection", b.read(), `433[true]`)
}

func TestConnectTimeoutOverEngineIO(t *testing.T) {
	s := NewServer(Options{
		ConnectTimeout: 20 * time.Millisecond,
		Engine:         engineio.Options{PingInterval: time.Minute, PingTimeout: time.Minute},
	})
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer func() { _ = s.Close(context.Background()) }()
	dialWS(t, hs.URL).waitClosed()
}

// An event's attachments must follow its text frame with nothing between
// them, even while the engine sends pings from its own goroutine.
func TestBinaryEventFramesStayTogether(t *testing.T) {
	s := NewServer(Options{Engine: engineio.Options{PingInterval: time.Millisecond, PingTimeout: time.Minute}})
	sockets := make(chan *Socket, 1)
	s.Of("/").OnConnection(func(so *Socket) { sockets <- so })
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer func() { _ = s.Close(context.Background()) }()

	c := dialWS(t, hs.URL)
	c.write("40")
	if got := c.read(); !strings.HasPrefix(got, `40{"sid":`) {
		t.Fatalf("got %q, want a CONNECT reply", got)
	}
	so := <-sockets

	// The emitter sends batches and waits for the reader between them, so
	// the queue stays far below its limit.
	const batch = 64
	stop := make(chan struct{})
	more := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			for range batch {
				if so.Emit("b", []byte("x")) != nil {
					return
				}
			}
			select {
			case <-stop:
				return
			case <-more:
			}
		}
	}()
	defer func() { close(stop); <-done }()

	// Read raw frames: a ping right after "451-..." is the bug.
	const wantPings = 300
	pings, events := 0, 0
	afterHeader := false
	for pings < wantPings {
		_ = c.conn.SetReadDeadline(time.Now().Add(hangGuard))
		data, op, err := wsutil.ReadServerData(c.rw)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		switch {
		case op == ws.OpBinary:
			if !afterHeader {
				t.Fatalf("got an attachment without its event")
			}
			afterHeader = false
			events++
			if events%batch == 0 {
				more <- struct{}{}
			}
		case afterHeader:
			t.Fatalf("after event %d: got %q between an event and its attachment", events, data)
		case string(data) == "2":
			pings++
			_ = wsutil.WriteClientText(c.conn, []byte("3"))
		case strings.HasPrefix(string(data), "451-"):
			afterHeader = true
		default:
			t.Fatalf("got %q, want a ping or an event", data)
		}
	}
}
