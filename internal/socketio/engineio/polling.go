package engineio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// probeNoopDelay is how long a poll arriving after the upgrade probe waits
// before it is answered with a noop; closeNoopWait is how long a client's
// close waits for a poll to answer with a noop. Both match the reference
// server's 100 ms check interval, so clients and suites that race a poll
// against a websocket frame or a POST see the reference's outcome.
const (
	probeNoopDelay = 100 * time.Millisecond
	closeNoopWait  = 100 * time.Millisecond
)

var errStopPayload = errors.New("engineio: session closed while reading a payload")

// poll answers a long-polling GET in three steps: admitPoll takes the
// session's one GET slot, awaitPoll waits with the lock released until the
// session has an answer and takes it, and the answer is written.
func (c *Conn) poll(w http.ResponseWriter, r *http.Request) {
	late, ok := c.admitPoll()
	if !ok {
		writeError(w, errBadRequest)
		return
	}
	ans, ok := c.awaitPoll(r.Context(), late)
	if !ok {
		return // the client gave up on the request; the session is closed
	}
	if ans.refuse {
		writeError(w, errBadRequest) // the session moved to the websocket meanwhile
		return
	}
	writePayload(w, ans.body())
}

// admitPoll takes the GET slot of a session that polls. late reports that a
// websocket is probing the session: such a GET is held until probeNoopDelay
// after the probe, as the reference does (it answers these polls from a 100
// ms check timer), so a client that sends "5" meanwhile gets its answer
// from the completed upgrade instead of a noop. A second concurrent GET is
// a transport error, as in the reference.
func (c *Conn) admitPoll() (late, ok bool) {
	c.mu.Lock()
	closed, fire := c.expireLocked()
	switch {
	case closed && c.state != stateLingering, !closed && !c.state.onPolling():
		// gone, or carried by a websocket: refused
	case c.getWaiting:
		fire = c.closeLocked(ReasonTransportError, closeAbort)
	default:
		c.setGetWaitingLocked(true)
		if c.pollStarted != nil {
			close(c.pollStarted) // a client close is waiting to answer this GET
			c.pollStarted = nil
		}
		late = c.state == stateProbing || c.state == stateProbed
		ok = true
	}
	c.mu.Unlock()
	c.finishClose(fire)
	return late, ok
}

// setGetWaitingLocked takes or frees the session's GET slot.
func (c *Conn) setGetWaitingLocked(waiting bool) {
	c.getWaiting = waiting
	if waiting {
		c.srv.longPolls.Add(1)
	} else {
		c.srv.longPolls.Add(-1)
	}
}

// pollAnswer is what a GET returns: the packets it takes from the queue and
// the packet after them, or a refusal.
type pollAnswer struct {
	batch   []*Packet
	trailer *Packet
	refuse  bool
}

func (a pollAnswer) body() []byte {
	size := 8
	for _, p := range a.batch {
		size += len(p.payload())*4/3 + 5
	}
	body := encodePayload(make([]byte, 0, size), a.batch)
	if a.trailer != nil {
		if len(body) > 0 {
			body = append(body, recordSeparator)
		}
		body = a.trailer.appendPolling(body)
	}
	return body
}

// awaitPoll waits until the session has an answer for the GET admitPoll
// let in, then takes it and frees the GET slot. It reports false when the
// request ended first: the client gave up on it, which breaks the session.
func (c *Conn) awaitPoll(ctx context.Context, late bool) (pollAnswer, bool) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	c.mu.Lock()
	for {
		if c.state == statePolling {
			late = false // the upgrade failed: an ordinary poll again
		}
		ans, ready, wait := c.pollAnswerLocked(late, time.Now())
		if ready {
			c.setGetWaitingLocked(false)
			if c.state == stateLingering {
				c.stopLingerLocked() // this GET took the last packets
			}
			c.mu.Unlock()
			return ans, true
		}
		var due <-chan time.Time
		if wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			due = timer.C
		}
		c.mu.Unlock()
		select {
		case <-c.pollWake:
		case <-due:
		case <-ctx.Done():
			c.mu.Lock()
			c.setGetWaitingLocked(false)
			fire := c.closeLocked(ReasonTransportError, closeAbort)
			c.mu.Unlock()
			c.finishClose(fire)
			return pollAnswer{}, false
		}
		c.mu.Lock()
	}
}

// pollAnswerLocked decides a waiting GET's answer from the session's state.
// When there is none yet, wait > 0 says when to look again; otherwise the
// GET waits for a wake-up.
func (c *Conn) pollAnswerLocked(late bool, now time.Time) (ans pollAnswer, ready bool, wait time.Duration) {
	switch {
	case c.ws != nil: // the session moved to the websocket (and may have closed since)
		if late {
			return pollAnswer{refuse: true}, true, 0
		}
		return pollAnswer{trailer: noopPacket}, true, 0 // the websocket drains the queue now
	case c.state.closed():
		ans.batch, c.queue = c.queue, nil
		ans.trailer = closePacket
		if c.reason == ReasonTransportClose {
			ans.trailer = noopPacket // the client closed: it expects no close packet
		}
		return ans, true, 0
	case len(c.queue) > 0:
		ans.batch, c.queue = c.queue, nil
		return ans, true, 0
	case c.state == stateProbed && !late:
		return pollAnswer{trailer: noopPacket}, true, 0 // let the client finish its upgrade
	case c.state == stateProbed:
		if due := c.probedAt.Add(c.srv.probeNoopDelay); now.Before(due) {
			return pollAnswer{}, false, due.Sub(now)
		}
		return pollAnswer{trailer: noopPacket}, true, 0
	default:
		return pollAnswer{}, false, 0 // polling or probing: wait for packets or the probe
	}
}

// post reads a polling POST and handles its packets in order.
func (c *Conn) post(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if closed, fire := c.expireLocked(); closed || !c.state.onPolling() {
		c.mu.Unlock()
		c.finishClose(fire)
		writeError(w, errBadRequest)
		return
	}
	if c.postReading {
		fire := c.closeLocked(ReasonTransportError, closeAbort)
		c.mu.Unlock()
		writeError(w, errBadRequest)
		c.finishClose(fire)
		return
	}
	c.postReading = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.postReading = false
		c.mu.Unlock()
	}()

	limit := c.srv.opts.MaxPayload
	if r.ContentLength > int64(limit) {
		c.closeWith(ReasonTransportError, closeAbort)
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	if err != nil {
		c.closeWith(ReasonTransportError, closeAbort)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		writeError(w, errBadRequest)
		return
	}

	c.readMu.Lock()
	err = decodePayload(body, func(typ byte, data []byte, binary bool) error {
		c.handlePacket(typ, data, binary)
		if c.isClosed() {
			return errStopPayload
		}
		return nil
	})
	c.readMu.Unlock()
	if errors.Is(err, errBadPacket) {
		c.closeWith(ReasonParseError, closeAbort)
		writeError(w, errBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(2))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}
