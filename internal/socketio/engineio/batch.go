package engineio

import (
	"sync"
	"sync/atomic"
	"syscall"
)

// batchChunk bounds the sends made in one submission, and so how many
// sockets a batch holds at once (one stack frame each, see hold).
const batchChunk = 128

// Batch is one fan-out: the same packets to many connections. Send queues
// like Conn.SendMany, but a packet that would be written straight to an idle
// socket waits for Flush, which writes all of those at once: one io_uring
// submission on Linux, one write(2) per socket where io_uring is missing or
// refused. A broadcast so costs one system call instead of one per
// recipient. The socket of a connection waiting in a batch is the batch's
// until Flush: later packets queue behind, in order. A Batch belongs to one
// goroutine between Server.NewBatch and Flush, which must be called.
type Batch struct {
	srv   *Server
	items []batchItem
	// while Flush holds a chunk's sockets
	ring   *sendRing
	chunk  []batchItem
	ops    []ringSend
	cur    int
	holdFn func(fd uintptr)
}

// batchItem is one frame waiting for Flush, and its result.
type batchItem struct {
	c     *Conn
	frame []byte
	n     int
	err   error
}

func newBatch(s *Server) *Batch {
	b := &Batch{srv: s}
	b.holdFn = b.holdOne
	return b
}

// NewBatch returns an empty Batch for one fan-out; call Flush when done.
func (s *Server) NewBatch() *Batch { return s.batches.Get().(*Batch) }

// Send queues ps for c as Conn.SendMany does, with the same errors; the
// write may wait for Flush.
func (b *Batch) Send(c *Conn, ps ...*Packet) error { return c.sendMany(ps, b) }

// Flush writes what Send left for it and releases the Batch, which must not
// be used afterwards.
func (b *Batch) Flush() {
	if len(b.items) > 0 {
		b.write()
		for i := range b.items {
			it := &b.items[i]
			it.c.finishBatchedWrite(it.frame, it.n, it.err)
		}
	}
	clear(b.items)
	b.items = b.items[:0]
	b.srv.batches.Put(b)
}

// add takes over c's idle socket for frame until Flush. The caller holds
// c.mu and has checked c.canWriteInlineLocked.
func (b *Batch) add(c *Conn, frame []byte) {
	c.writing = true
	b.items = append(b.items, batchItem{c: c, frame: frame})
}

// write sends every item's frame without blocking and records the results.
func (b *Batch) write() {
	ring := b.srv.rings.acquire(b.srv)
	if ring == nil {
		for i := range b.items {
			b.items[i].n, b.items[i].err = b.items[i].c.writeRaw(b.items[i].frame)
		}
		return
	}
	b.ring = ring.r
	for lo := 0; lo < len(b.items); lo += batchChunk {
		b.chunk = b.items[lo:min(lo+batchChunk, len(b.items))]
		b.ops = b.ops[:0]
		b.hold(0)
	}
	if b.ring == nil {
		ring.kill() // it failed: close it for good
	}
	b.srv.rings.release(ring)
	b.ring, b.chunk = nil, nil
	clear(b.ops)
}

// hold takes the socket of chunk[i], and recursively of every later item,
// through syscall.RawConn.Control, which keeps each socket from being closed
// (and its number reused) while its callback runs; the innermost call sends
// them all. Nobody else writes to these sockets meanwhile: the batch owns
// them (Conn.writing). A socket that is being closed is skipped.
func (b *Batch) hold(i int) {
	for ; i < len(b.chunk); i++ {
		b.cur = i
		err := b.chunk[i].c.raw.Control(b.holdFn)
		if err == nil {
			return // holdOne went on with the rest
		}
		b.chunk[i].err = err
	}
	b.sendHeld()
}

func (b *Batch) holdOne(fd uintptr) {
	i := b.cur
	b.ops = append(b.ops, ringSend{fd: int(fd), buf: b.chunk[i].frame, item: i})
	b.hold(i + 1)
}

// sendHeld sends the held sockets' frames in one submission; whatever the
// ring could not send (it broke) goes out with a write(2) each.
func (b *Batch) sendHeld() {
	if b.ring != nil {
		if err := b.ring.sendBatch(b.ops); err != nil {
			b.srv.opts.Logger.Warn("engineio: io_uring failed; writing with one system call per socket", "err", err)
			b.ring = nil
		}
	}
	for i := range b.ops {
		op := &b.ops[i]
		if !op.done {
			op.n, op.err = syscall.Write(op.fd, op.buf)
			op.n = max(op.n, 0)
		}
		b.chunk[op.item].n, b.chunk[op.item].err = op.n, op.err
	}
}

// ringPool keeps the send rings. A ring serves one batch at a time, and a
// batch's goroutine gives up its processor while it is in the kernel, so
// other batches may start meanwhile: when every ring is busy, a new one is
// set up, up to maxRings; past that a batch writes socket by socket.
type ringPool struct {
	mu       sync.Mutex
	disabled bool // io_uring unusable, turned off, or the server closed
	next     atomic.Uint32
	// rings[:count] are set up; grow fills the next slot, then publishes
	// the count, so acquire reads them without mu.
	rings [maxRings]*pooledRing
	count atomic.Int32
}

// maxRings bounds the rings of a server (each costs a file descriptor and
// about 24 KB of kernel memory).
const maxRings = 16

type pooledRing struct {
	mu sync.Mutex
	r  *sendRing // nil once closed
}

// acquire returns a free ring, locked, or nil.
func (p *ringPool) acquire(s *Server) *pooledRing {
	if n := uint32(p.count.Load()); n > 0 {
		start := p.next.Add(1)
		for k := range n {
			pr := p.rings[(start+k)%n]
			if pr.mu.TryLock() {
				if pr.r != nil {
					return pr
				}
				pr.mu.Unlock()
			}
		}
	}
	return p.grow(s)
}

// grow sets up one more ring and returns it locked, or nil.
func (p *ringPool) grow(s *Server) *pooledRing {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(p.count.Load())
	if p.disabled || n >= maxRings {
		return nil
	}
	if s.opts.DisableIOURing {
		p.disabled = true
		return nil
	}
	r, err := newSendRing(batchChunk)
	if err != nil {
		if n == 0 {
			p.disabled = true
			s.opts.Logger.Info("engineio: io_uring unavailable; a broadcast writes with one system call per socket", "err", err)
		}
		return nil
	}
	pr := &pooledRing{r: r}
	pr.mu.Lock()
	p.rings[n] = pr
	p.count.Store(int32(n + 1))
	return pr
}

func (p *ringPool) release(pr *pooledRing) { pr.mu.Unlock() }

// kill closes a ring that failed; the caller holds it.
func (pr *pooledRing) kill() {
	if pr.r != nil {
		pr.r.close()
		pr.r = nil
	}
}

// close closes every ring; batches then write socket by socket.
func (p *ringPool) close() {
	p.mu.Lock()
	p.disabled = true
	rings := p.rings[:p.count.Load()]
	p.mu.Unlock()
	for _, pr := range rings {
		pr.mu.Lock()
		pr.kill()
		pr.mu.Unlock()
	}
}

// usingIOURing reports whether batches go through io_uring (for tests).
func (p *ringPool) usingIOURing(s *Server) bool {
	if pr := p.acquire(s); pr != nil {
		p.release(pr)
		return true
	}
	return false
}
