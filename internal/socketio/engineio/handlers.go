package engineio

import (
	"fmt"
	"sync"
	"time"
)

// handlerIdle is how long a handler goroutine waits for work before it
// exits.
const handlerIdle = 10 * time.Second

// handlerPool reads and handles websocket frames for the readers.
//
// A websocket reader lives as long as its connection, parked in a read
// almost all of that time. If it read whole frames and ran the
// application's handlers itself, its stack would grow to what the deepest
// handler needs and keep that size (the runtime shrinks a stack only when
// it is nearly empty): memory per idle connection, and stack copying
// whenever a garbage collection shrinks it anyway. So the reader only
// waits for a frame's first byte and hands the rest to one of a few
// long-lived handler goroutines, whose grown stacks serve all connections,
// and waits for it: frames of one connection are still handled one at a
// time and in order.
type handlerPool struct {
	tasks *tasks
	jobs  chan handlerJob // unbuffered: a send succeeds only to an idle handler
	quit  chan struct{}
	once  sync.Once
	dones sync.Pool // chan struct{} with room for one signal
}

type handlerJob struct {
	c    *Conn
	fr   *frameReader
	done chan bool // readFrame's answer
}

func (p *handlerPool) init(t *tasks) {
	p.tasks = t
	p.jobs = make(chan handlerJob)
	p.quit = make(chan struct{})
	p.dones.New = func() any { return make(chan bool, 1) }
}

// run has a handler goroutine read and handle the frame fr has started
// and returns whether the reader should go on. When no handler is idle it
// starts one; when the server is shutting down it does the work itself.
func (p *handlerPool) run(c *Conn, fr *frameReader) bool {
	done := p.dones.Get().(chan bool)
	job := handlerJob{c: c, fr: fr, done: done}
	select {
	case p.jobs <- job:
	default:
		if !p.tasks.goTask(func() { p.serve(job) }) {
			p.dones.Put(done)
			return c.readFrame(fr)
		}
	}
	more := <-done
	p.dones.Put(done)
	return more
}

// serve runs job, then further jobs until it has been idle for handlerIdle
// or the server stops.
func (p *handlerPool) serve(job handlerJob) {
	idle := time.NewTimer(handlerIdle)
	defer idle.Stop()
	for {
		p.handle(job)
		idle.Reset(handlerIdle)
		select {
		case job = <-p.jobs:
		case <-idle.C:
			return
		case <-p.quit:
			return
		}
	}
}

// handle runs one job and always answers its reader, even on a panic.
func (p *handlerPool) handle(job handlerJob) {
	more := false
	defer func() {
		if v := recover(); v != nil {
			job.c.srv.opts.Logger.Error("engineio: message handling panicked", "sid", job.c.id, "panic", fmt.Sprint(v))
			job.c.closeWith(ReasonTransportError, closeAbort)
		}
		job.done <- more
	}()
	more = job.c.readFrame(job.fr)
}

// stop makes idle handlers exit; a busy one exits after its job.
func (p *handlerPool) stop() { p.once.Do(func() { close(p.quit) }) }
