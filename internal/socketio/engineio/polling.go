package engineio

import (
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

// poll answers a long-polling GET: it waits until packets are queued (or the
// session closes, or an upgrade takes over) and returns them as one payload.
func (c *Conn) poll(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if closed, fire := c.expireLocked(); (closed && !c.lingering) || c.ws != nil || c.pollWake == nil {
		c.mu.Unlock()
		c.finishClose(fire)
		writeError(w, errBadRequest)
		return
	}
	if c.polling {
		// a second concurrent GET: the reference treats it as a transport error
		fire := c.closeLocked(ReasonTransportError, closeAbort)
		c.mu.Unlock()
		writeError(w, errBadRequest)
		c.finishClose(fire)
		return
	}
	c.polling = true
	if c.pollStarted != nil {
		close(c.pollStarted) // a client close is waiting to answer this GET
		c.pollStarted = nil
	}
	// A GET that arrives while a websocket is probing the session is held
	// until 100 ms after the probe, as the reference does (it answers such
	// polls from a 100 ms check timer): a client that sends "5" meanwhile
	// gets its answer from the completed upgrade instead of a noop. A GET
	// that was already waiting is answered at the probe, at once.
	lateForProbe := c.upgrading
	var noopTimer <-chan time.Time
	if lateForProbe {
		t := time.NewTimer(c.srv.probeNoopDelay)
		defer t.Stop()
		noopTimer = t.C
		for !c.closed && c.ws == nil && len(c.queue) == 0 && noopTimer != nil {
			c.mu.Unlock()
			select {
			case <-c.pollWake:
			case <-noopTimer:
			case <-r.Context().Done():
			}
			c.mu.Lock()
			if r.Context().Err() != nil {
				break // handled by the loop below
			}
			now := time.Now()
			switch due := c.probedAt.Add(c.srv.probeNoopDelay); {
			case !c.upgrading && c.ws == nil:
				noopTimer = nil // the upgrade failed: an ordinary poll again
				lateForProbe = false
			case c.probed && !now.Before(due):
				noopTimer = nil // answer with a noop below
			case c.probed:
				t.Reset(due.Sub(now))
			default:
				t.Reset(c.srv.probeNoopDelay)
			}
		}
	}
	for !c.closed && c.ws == nil && len(c.queue) == 0 && !c.probed {
		c.mu.Unlock()
		select {
		case <-c.pollWake:
		case <-r.Context().Done():
			// the client gave up on the request: the session is broken
			c.mu.Lock()
			c.polling = false
			fire := c.closeLocked(ReasonTransportError, closeAbort)
			c.mu.Unlock()
			c.finishClose(fire)
			return
		}
		c.mu.Lock()
	}
	if c.ws != nil && lateForProbe {
		c.polling = false
		c.mu.Unlock()
		writeError(w, errBadRequest) // the session moved to the websocket
		return
	}
	var batch []*Packet
	var trailer *Packet
	switch {
	case c.ws != nil:
		trailer = noopPacket // the websocket drains the queue now
	case c.closed:
		batch = c.queue
		c.queue = nil
		trailer = closePacket
		if c.byClient {
			trailer = noopPacket
		}
	default:
		batch = c.queue
		c.queue = nil
		if len(batch) == 0 {
			trailer = noopPacket // probed: let the client finish its upgrade
		}
	}
	c.polling = false
	if c.lingering {
		c.stopLingerLocked() // this GET took the last packets
	}
	c.mu.Unlock()

	size := 0
	for _, p := range batch {
		size += len(p.payload())*4/3 + 5
	}
	body := encodePayload(make([]byte, 0, size+8), batch)
	if trailer != nil {
		if len(body) > 0 {
			body = append(body, recordSeparator)
		}
		body = trailer.appendPolling(body)
	}
	writePayload(w, body)
}

// post reads a polling POST and handles its packets in order.
func (c *Conn) post(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if closed, fire := c.expireLocked(); closed || c.ws != nil || c.pollWake == nil {
		c.mu.Unlock()
		c.finishClose(fire)
		writeError(w, errBadRequest)
		return
	}
	if c.posting {
		fire := c.closeLocked(ReasonTransportError, closeAbort)
		c.mu.Unlock()
		writeError(w, errBadRequest)
		c.finishClose(fire)
		return
	}
	c.posting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.posting = false
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
