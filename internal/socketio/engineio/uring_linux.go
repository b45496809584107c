package engineio

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendRing is an io_uring instance used for one thing: handing the kernel
// many non-blocking sends (one per socket of a broadcast) in one system call
// instead of one write(2) each. Every send carries MSG_DONTWAIT, so the
// kernel completes it during the submitting call (with -EAGAIN when the
// socket has no room) and never keeps a request, a buffer or a socket
// beyond it. Callers serialize use of a ring.
type sendRing struct {
	fd       int
	ringMem  []byte
	sqeMem   []byte
	sqHead   *uint32
	sqTail   *uint32
	sqMask   uint32
	sqArray  []uint32
	sqes     []ringSQE
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     []ringCQE
	capacity int
}

// The kernel's structures (include/uapi/linux/io_uring.h); the layout is the
// same on every architecture.
type ringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqRingOffsets
	cqOff                                                                  cqRingOffsets
}

type sqRingOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqRingOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type ringSQE struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, msgFlags uint32
	userData      uint64
	bufIndex      uint16
	personality   uint16
	spliceFdIn    int32
	pad           [2]uint64
}

type ringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

const (
	ringOpSend         = 26     // IORING_OP_SEND
	ringSetupSubmitAll = 1 << 7 // IORING_SETUP_SUBMIT_ALL: a failing send does not stop the others
	ringFeatSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	ringEnterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS
	ringOffSQEs        = 0x10000000
)

var errRingUnusable = errors.New("engineio: io_uring cannot be used")

// newSendRing sets up a ring for up to entries sends per submission and
// checks that it behaves as sendBatch needs. It fails where io_uring is
// missing (old kernel), refused (seccomp, io_uring_disabled) or lacks what
// is used here (IORING_SETUP_SUBMIT_ALL, Linux 5.18).
func newSendRing(entries int) (*sendRing, error) {
	var p ringParams
	p.flags = ringSetupSubmitAll
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("engineio: io_uring_setup: %w", errno)
	}
	r := &sendRing{fd: int(fd)}
	if p.features&ringFeatSingleMmap == 0 {
		r.close()
		return nil, fmt.Errorf("%w: no single mmap", errRingUnusable)
	}
	size := max(int(p.sqOff.array+p.sqEntries*4), int(p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(ringCQE{}))))
	var err error
	if r.ringMem, err = unix.Mmap(r.fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("engineio: map io_uring: %w", err)
	}
	sqeSize := int(p.sqEntries) * int(unsafe.Sizeof(ringSQE{}))
	if r.sqeMem, err = unix.Mmap(r.fd, ringOffSQEs, sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("engineio: map io_uring entries: %w", err)
	}
	base := unsafe.Pointer(&r.ringMem[0])
	r.sqHead = (*uint32)(unsafe.Add(base, p.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(base, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(base, p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(base, p.sqOff.array)), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(base, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(base, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(base, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*ringCQE)(unsafe.Add(base, p.cqOff.cqes)), p.cqEntries)
	r.sqes = unsafe.Slice((*ringSQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.capacity = int(p.sqEntries)
	if err := r.selfTest(); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// selfTest sends on a full socket: the kernel must answer at once with
// EAGAIN. A kernel that would park the send instead (and so keep its buffer
// past the call) fails the test, and the portable path is used.
func (r *sendRing) selfTest() error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("engineio: io_uring self-test: %w", err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	buf := make([]byte, 64<<10)
	for {
		if _, err := unix.Write(fds[0], buf); err != nil {
			break
		}
	}
	ops := []ringSend{{fd: fds[0], buf: buf[:64]}, {fd: fds[1], buf: buf[:64]}}
	if err := r.submit(ops, false); err != nil {
		return err
	}
	if ops[0].err != unix.EAGAIN || ops[1].n != 64 {
		return fmt.Errorf("%w: self-test got (%d, %v) and (%d, %v), want EAGAIN and 64 bytes",
			errRingUnusable, ops[0].n, ops[0].err, ops[1].n, ops[1].err)
	}
	return nil
}

// ringSend is one send of a batch and, once done, its result.
type ringSend struct {
	fd   int
	buf  []byte
	item int // the caller's index
	n    int
	err  error
	done bool
}

// sendBatch sends every op's buffer on its socket, without blocking, in as
// few system calls as the ring's size allows, and records each result. The
// sockets must stay open for the duration of the call. After an error the
// ring must be closed (entries the kernel has not taken are then dropped):
// the ops not done were not sent.
func (r *sendRing) sendBatch(ops []ringSend) error {
	for len(ops) > 0 {
		chunk := ops[:min(len(ops), r.capacity)]
		if err := r.submit(chunk, true); err != nil {
			return err
		}
		ops = ops[len(chunk):]
	}
	return nil
}

// submit queues ops (at most the ring's capacity), enters the kernel and
// reaps their completions. With wait unset it never asks the kernel to
// wait: every completion must be there when the submitting call returns
// (selfTest checks exactly that).
func (r *sendRing) submit(ops []ringSend, wait bool) error {
	tail := atomic.LoadUint32(r.sqTail)
	for i := range ops {
		op := &ops[i]
		idx := tail & r.sqMask
		r.sqes[idx] = ringSQE{
			opcode:   ringOpSend,
			fd:       int32(op.fd),
			addr:     uint64(uintptr(unsafe.Pointer(unsafe.SliceData(op.buf)))),
			len:      uint32(len(op.buf)),
			msgFlags: unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL,
			userData: uint64(i),
		}
		r.sqArray[idx] = idx
		tail++
	}
	atomic.StoreUint32(r.sqTail, tail)
	// The buffers are Go heap memory, which the collector does not move;
	// ops keeps each alive until its completion is reaped.
	done, entered := 0, false
	for {
		done += r.reap(ops)
		pending := tail - atomic.LoadUint32(r.sqHead)
		if done == len(ops) {
			return nil
		}
		if !wait && entered && pending == 0 {
			return fmt.Errorf("%w: %d of %d sends completed in the call", errRingUnusable, done, len(ops))
		}
		var minComplete, flags uintptr
		if wait {
			minComplete, flags = uintptr(len(ops)-done), ringEnterGetEvents
		}
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(pending), minComplete, flags, 0, 0)
		entered = true
		if errno != 0 && errno != unix.EINTR {
			r.reap(ops)
			return fmt.Errorf("engineio: io_uring_enter: %w", errno)
		}
	}
}

// reap records the completions that have arrived and returns their number.
func (r *sendRing) reap(ops []ringSend) int {
	head := atomic.LoadUint32(r.cqHead)
	n := 0
	for ; head != atomic.LoadUint32(r.cqTail); head++ {
		c := r.cqes[head&r.cqMask]
		op := &ops[c.userData]
		if c.res < 0 {
			op.n, op.err = 0, unix.Errno(-c.res)
		} else {
			op.n, op.err = int(c.res), nil
		}
		op.done = true
		n++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

func (r *sendRing) close() {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
	}
	if r.ringMem != nil {
		_ = unix.Munmap(r.ringMem)
	}
	_ = unix.Close(r.fd)
}
