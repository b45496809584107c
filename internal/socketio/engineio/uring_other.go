//go:build !linux

package engineio

import "errors"

// sendRing stands in for the Linux io_uring ring (uring_linux.go): elsewhere
// a batch writes each socket with its own system call.
type sendRing struct{ capacity int }

type ringSend struct {
	fd   int
	buf  []byte
	item int // the caller's index
	n    int
	err  error
	done bool
}

var errRingUnusable = errors.New("engineio: io_uring is Linux only")

func newSendRing(int) (*sendRing, error)       { return nil, errRingUnusable }
func (r *sendRing) sendBatch([]ringSend) error { return errRingUnusable }
func (r *sendRing) close()                     {}
