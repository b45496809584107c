package engineio

import (
	"runtime"
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
	holdFn func(fd uintptr) bool
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
// through syscall.RawConn.Write, which keeps each socket from being closed
// (and its number reused) while its callback runs; the innermost call sends
// them all. A socket that is being closed is skipped.
func (b *Batch) hold(i int) {
	for ; i < len(b.chunk); i++ {
		b.cur = i
		err := b.chunk[i].c.raw.Write(b.holdFn)
		if err == nil {
			return // holdOne went on with the rest
		}
		b.chunk[i].err = err
	}
	b.sendHeld()
}

func (b *Batch) holdOne(fd uintptr) bool {
	i := b.cur
	b.ops = append(b.ops, ringSend{fd: int(fd), buf: b.chunk[i].frame, item: i})
	b.hold(i + 1)
	return true
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

// ringPool keeps a few send rings, one per processor, set up on first use;
// a batch that finds none free writes socket by socket.
type ringPool struct {
	once  sync.Once
	rings []*pooledRing
	next  atomic.Uint32
}

type pooledRing struct {
	mu sync.Mutex
	r  *sendRing // nil once closed
}

func (p *ringPool) acquire(s *Server) *pooledRing {
	p.once.Do(func() { p.setup(s) })
	n := uint32(len(p.rings))
	if n == 0 {
		return nil
	}
	start := p.next.Add(1)
	for k := range n {
		pr := p.rings[(start+k)%n]
		if !pr.mu.TryLock() {
			continue
		}
		if pr.r != nil {
			return pr
		}
		pr.mu.Unlock()
	}
	return nil
}

func (p *ringPool) release(pr *pooledRing) { pr.mu.Unlock() }

// kill closes a ring that failed; the caller holds it.
func (pr *pooledRing) kill() {
	if pr.r != nil {
		pr.r.close()
		pr.r = nil
	}
}

func (p *ringPool) setup(s *Server) {
	if s.opts.DisableIOURing {
		return
	}
	n := min(max(runtime.GOMAXPROCS(0), 1), 8)
	for range n {
		r, err := newSendRing(batchChunk)
		if err != nil {
			if len(p.rings) == 0 {
				s.opts.Logger.Info("engineio: io_uring unavailable; a broadcast writes with one system call per socket", "err", err)
			}
			break
		}
		p.rings = append(p.rings, &pooledRing{r: r})
	}
}

// close closes every ring; batches then write socket by socket.
func (p *ringPool) close() {
	p.once.Do(func() {}) // none may be set up after this
	for _, pr := range p.rings {
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
