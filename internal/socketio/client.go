package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"colachat/internal/socketio/parser"
)

// client is one Engine.IO connection and the sockets multiplexed on it.
type client struct {
	srv *Server
	t   transport
	dec parser.Decoder // used by one message handler at a time

	mu        sync.Mutex
	sockets   []*Socket // one per connected namespace; usually one
	connected bool      // some namespace connected once
	closed    bool
	timer     *time.Timer
}

func newClient(s *Server, t transport) *client {
	c := &client{srv: s, t: t}
	c.dec.MaxAttachments = s.opts.MaxAttachments
	c.dec.MaxAttachmentBytes = s.opts.MaxAttachmentBytes
	return c
}

func (c *client) startConnectTimer(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.connected {
		return
	}
	c.timer = time.AfterFunc(d, func() {
		c.mu.Lock()
		idle := !c.connected && !c.closed
		c.mu.Unlock()
		if idle {
			c.t.close()
		}
	})
}

// onFrame handles one Engine.IO message, in arrival order.
func (c *client) onFrame(data []byte, binary bool) {
	if !binary {
		// Args may outlive this call; the transport may reuse its buffer.
		data = bytes.Clone(data)
	}
	p, done, err := c.dec.Add(data, binary)
	if err != nil {
		c.protocolError(err)
		return
	}
	if done {
		c.handle(p)
	}
}

func (c *client) protocolError(err error) {
	c.srv.log.Debug("socket.io protocol error, closing the connection", "err", err)
	c.shutdown(ReasonProtocolError)
}

func (c *client) handle(p *parser.Packet) {
	switch p.Type {
	case parser.Connect:
		c.connect(p)
	case parser.Disconnect:
		if s := c.socket(p.Namespace); s != nil {
			s.onClose(ReasonClientNamespaceDisconnect)
		}
	case parser.Event, parser.BinaryEvent:
		if s := c.socket(p.Namespace); s != nil {
			s.onEvent(p)
		}
	case parser.Ack, parser.BinaryAck:
		if s := c.socket(p.Namespace); s != nil {
			s.onAck(p)
		}
	default:
		c.protocolError(errors.New("unexpected " + p.Type.String() + " from a client"))
	}
}

func (c *client) connect(p *parser.Packet) {
	n := c.srv.lookup(p.Namespace)
	if n == nil {
		_ = c.sendPacket(&parser.Packet{
			Type:      parser.ConnectError,
			Namespace: p.Namespace,
			Data:      json.RawMessage(`{"message":"Invalid namespace"}`),
		})
		return
	}
	if c.socket(p.Namespace) != nil {
		return // already connected to it: nothing to do
	}
	n.connect(c, p.Data)
}

func (c *client) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

// add registers a connected socket; false when the connection is gone.
func (c *client) add(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.sockets = append(c.sockets, s)
	if !c.connected {
		c.connected = true
		if c.timer != nil {
			c.timer.Stop()
			c.timer = nil
		}
	}
	return true
}

func (c *client) remove(s *Socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.sockets {
		if x == s {
			c.sockets = append(c.sockets[:i], c.sockets[i+1:]...)
			return
		}
	}
}

func (c *client) sendPacket(p *parser.Packet) error {
	return c.send(encodeFrames(p))
}

// send sends f; the transport keeps its frames together on the wire.
func (c *client) send(f *frames) error { return c.t.send(f) }

// sendVia sends f as part of a broadcast's fanout.
func (c *client) sendVia(out fanout, f *frames) error { return out.send(c.t, f) }

// onClose is called once the Engine.IO connection is gone.
func (c *client) onClose(reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	sockets := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, s := range sockets {
		s.onClose(reason)
	}
	c.srv.forget(c)
}

// shutdown closes every socket with reason, then the connection.
func (c *client) shutdown(reason string) {
	c.onClose(reason)
	c.t.close()
}
