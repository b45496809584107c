package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hangGuard bounds every wait, so that a missing packet fails instead of hanging.
const hangGuard = 5 * time.Second

var errFakeClosed = errors.New("fake transport closed")

// frame is one message the server sent: text, or binary when bin is set.
type frame struct {
	text string
	bin  []byte
	src  *frames // the encoded packet it came from
}

// fakeConn stands in for an Engine.IO connection: the test feeds frames with
// write and reads what the server sent with next.
type fakeConn struct {
	t   *testing.T
	c   *client
	req *http.Request

	mu     sync.Mutex
	out    []frame
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

func dial(t *testing.T, s *Server) *fakeConn {
	t.Helper()
	fc := &fakeConn{
		t:    t,
		req:  httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=websocket&room=x", nil),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	c := s.accept(fc)
	fc.mu.Lock()
	fc.c = c
	fc.mu.Unlock()
	return fc
}

func (f *fakeConn) send(fr *frames) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errFakeClosed
	}
	f.out = append(f.out, frame{text: "4" + string(fr.text), src: fr})
	for _, a := range fr.attachments {
		f.out = append(f.out, frame{bin: a, src: fr})
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return nil
}

// close behaves as Conn.Close: the connection ends with "forced close".
func (f *fakeConn) close() { f.drop("forced close") }

// drop ends the connection as the network would, with reason.
func (f *fakeConn) drop(reason string) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	close(f.done)
	c := f.c
	f.mu.Unlock()
	if c != nil { // nil: refused while being accepted
		c.onClose(reason)
	}
}

func (f *fakeConn) request() *http.Request { return f.req }
func (f *fakeConn) remoteAddr() string     { return "192.0.2.1:1234" }

func (f *fakeConn) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// write feeds a text frame to the server, as the reader goroutine would.
// Like the frames read with next, it carries the Engine.IO message type "4",
// which the engine strips.
func (f *fakeConn) write(text string) {
	f.t.Helper()
	msg, ok := strings.CutPrefix(text, "4")
	if !ok {
		f.t.Fatalf("frame %q is not an Engine.IO message", text)
	}
	f.c.onFrame([]byte(msg), false)
}

// writeBinary feeds a binary frame.
func (f *fakeConn) writeBinary(b []byte) { f.c.onFrame(b, true) }

// next returns the next frame the server sent.
func (f *fakeConn) next() frame {
	f.t.Helper()
	deadline := time.After(hangGuard)
	for {
		f.mu.Lock()
		if len(f.out) > 0 {
			fr := f.out[0]
			f.out = f.out[1:]
			f.mu.Unlock()
			return fr
		}
		f.mu.Unlock()
		select {
		case <-f.wake:
		case <-deadline:
			f.t.Fatalf("no frame from the server")
			return frame{}
		}
	}
}

// nextText returns the next frame, which must be text.
func (f *fakeConn) nextText() string {
	f.t.Helper()
	fr := f.next()
	if fr.bin != nil {
		f.t.Fatalf("got binary frame %v, want text", fr.bin)
	}
	return fr.text
}

// pending returns the frames sent and not read yet.
func (f *fakeConn) pending() []frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.out
	f.out = nil
	return out
}

// waitClosed waits until the server closes the connection.
func (f *fakeConn) waitClosed() {
	f.t.Helper()
	select {
	case <-f.done:
	case <-time.After(hangGuard):
		f.t.Fatalf("connection not closed")
	}
}

// connect connects to nsp with auth (may be empty) and returns the sid.
func (f *fakeConn) connect(nsp, auth string) (sid, pid string) {
	f.t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	f.write(prefix + auth)
	got := f.nextText()
	if !strings.HasPrefix(got, prefix+"{") {
		f.t.Fatalf("got %q, want a CONNECT reply for %s", got, nsp)
	}
	var reply struct {
		SID string `json:"sid"`
		PID string `json:"pid"`
	}
	if err := json.Unmarshal([]byte(got[len(prefix):]), &reply); err != nil || reply.SID == "" {
		f.t.Fatalf("CONNECT reply %q: %v", got, err)
	}
	return reply.SID, reply.PID
}

func newTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s := newServer(opts)
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// expect fails unless got equals want.
func expect[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}
