package engineio

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// writePaths runs a test with io_uring (where this kernel allows it) and with
// the portable one-write-per-socket path.
func writePaths(t *testing.T, run func(t *testing.T, opts Options)) {
	for _, disable := range []bool{false, true} {
		name := "io_uring"
		if disable {
			name = "write"
		}
		t.Run(name, func(t *testing.T) { run(t, Options{DisableIOURing: disable}) })
	}
}

func TestBatchUsesIOURingWhereAvailable(t *testing.T) {
	s := NewServer(Options{})
	if !s.rings.usingIOURing(s) {
		if _, err := newSendRing(batchChunk); err != nil {
			t.Skipf("io_uring unusable here: %v", err)
		}
		t.Fatal("io_uring works on this kernel, but batches do not use it")
	}
	s.rings.close()
	if s.rings.usingIOURing(s) {
		t.Error("a closed server's batches still use io_uring")
	}
	if d := NewServer(Options{DisableIOURing: true}); d.rings.usingIOURing(d) {
		t.Error("DisableIOURing: batches use io_uring")
	}
}

func TestBatchSendsToEveryConnInOrder(t *testing.T) {
	writePaths(t, func(t *testing.T, opts Options) {
		h := newHarness(t, opts, nil)
		var clients []*wsClient
		var conns []*Conn
		for range 5 {
			c, _, conn := h.openWebSocket()
			clients = append(clients, c)
			conns = append(conns, conn)
		}
		open, pconn := h.openPolling()
		conns = append(conns, pconn)
		for round := range 3 {
			b := h.srv.NewBatch()
			p := NewMessage(fmt.Appendf(nil, "round %d", round), false)
			for _, conn := range conns {
				if err := b.Send(conn, p); err != nil {
					t.Fatal(err)
				}
			}
			// a packet sent outside the batch before Flush still comes after it
			if err := conns[0].Send(NewMessage([]byte("after"), false)); err != nil {
				t.Fatal(err)
			}
			b.Flush()
		}
		for round := range 3 {
			want := fmt.Sprintf("4round %d", round)
			for i, c := range clients {
				if got := c.readText(); got != want {
					t.Errorf("client %d: got %q, want %q", i, got, want)
				}
				if i == 0 {
					if got := c.readText(); got != "4after" {
						t.Errorf("client 0: got %q, want 4after", got)
					}
				}
			}
		}
		if _, body := h.get(open.SID); body != "4round 0\x1e4round 1\x1e4round 2" {
			t.Errorf("polling client: got %q, want the three rounds", body)
		}
	})
}

func TestBatchSkipsClosedConns(t *testing.T) {
	writePaths(t, func(t *testing.T, opts Options) {
		h := newHarness(t, opts, nil)
		gone, _, goneConn := h.openWebSocket()
		c, _, conn := h.openWebSocket()
		b := h.srv.NewBatch()
		p := NewMessage([]byte("hi"), false)
		for _, x := range []*Conn{goneConn, conn} {
			if err := b.Send(x, p); err != nil {
				t.Fatal(err)
			}
		}
		goneConn.closeWith(ReasonTransportError, closeAbort) // cut between Send and Flush
		b.Flush()
		if got := c.readText(); got != "4hi" {
			t.Errorf("got %q, want 4hi", got)
		}
		if code := gone.readClose(); code != 0 {
			t.Errorf("cut connection: got close code %d, want none", code)
		}
		if err := h.srv.NewBatch().Send(goneConn, p); !errors.Is(err, ErrClosed) {
			t.Errorf("Send to a closed conn: got %v, want ErrClosed", err)
		}
	})
}

// A client that stops reading fills its socket: the batch's send comes back
// short or with EAGAIN, the writer takes over, and the queue limit cuts it.
func TestBatchSlowConsumerIsCut(t *testing.T) {
	writePaths(t, func(t *testing.T, opts Options) {
		opts.QueueLimit = 4
		h := newHarness(t, opts, nil)
		reader, _, fast := h.openWebSocket()
		_, _, slow := h.openWebSocket() // never reads
		big := NewMessage(bytes.Repeat([]byte("z"), 64<<10), false)
		var err error
		sent := 0
		for ; sent < 100_000 && err == nil; sent++ {
			b := h.srv.NewBatch()
			err = b.Send(slow, big)
			if err == nil {
				if ferr := b.Send(fast, big); ferr != nil {
					t.Fatal(ferr)
				}
			}
			b.Flush()
			if err == nil {
				if got := len(reader.readText()); got != len(big.payload()) {
					t.Fatalf("fast client: got %d bytes, want %d", got, len(big.payload()))
				}
			}
		}
		if !errors.Is(err, ErrSlowConsumer) {
			t.Fatalf("got %v, want ErrSlowConsumer", err)
		}
		if r := h.closeReason(); r != ReasonTransportError {
			t.Errorf("got reason %q, want %q", r, ReasonTransportError)
		}
	})
}

// A batched frame the socket takes only in part is finished by the writer
// even when nothing else is sent to that connection afterwards.
func TestBatchShortWriteIsFinished(t *testing.T) {
	writePaths(t, func(t *testing.T, opts Options) {
		h := newHarness(t, opts, nil)
		c, _, conn := h.openWebSocket()
		big := NewMessage(bytes.Repeat([]byte("z"), 64<<10), false)
		sent := 0
		for full := false; !full; {
			b := h.srv.NewBatch()
			if err := b.Send(conn, big); err != nil {
				t.Fatal(err)
			}
			b.Flush()
			sent++
			conn.mu.Lock()
			full = conn.writing || conn.partial != nil || len(conn.queue) > 0
			conn.mu.Unlock()
		}
		for i := range sent { // the client reads only now
			if got := len(c.readText()); got != len(big.payload()) {
				t.Fatalf("frame %d of %d: got %d bytes, want %d", i, sent, got, len(big.payload()))
			}
		}
	})
}
