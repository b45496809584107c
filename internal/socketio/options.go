package socketio

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"colachat/internal/socketio/engineio"
)

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	// Engine configures the Engine.IO layer underneath.
	Engine engineio.Options
	// Path is where the caller mounts the server; informational, "/socket.io/".
	Path string
	// ConnectTimeout closes an Engine.IO connection that has not connected to
	// any namespace in time (45 s).
	ConnectTimeout time.Duration
	// AckTimeout bounds EmitWithAck when its context has no deadline (10 s).
	AckTimeout time.Duration
	// MaxAttachments bounds the binary attachments of one incoming packet (10).
	MaxAttachments int
	// MaxAttachmentBytes bounds the total attachment bytes of one incoming
	// packet (1,000,000).
	MaxAttachmentBytes int
	// Recovery turns on connection state recovery when not nil.
	Recovery *RecoveryOptions
	// Adapter makes each namespace's adapter (NewMemoryAdapter).
	Adapter AdapterFactory
	// Logger receives protocol errors and recovered handler panics (discarded).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 45 * time.Second
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 10 * time.Second
	}
	if o.MaxAttachments <= 0 {
		o.MaxAttachments = 10
	}
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = 1_000_000
	}
	if o.Adapter == nil {
		o.Adapter = func(n *Namespace) Adapter { return NewMemoryAdapter(n) }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Recovery != nil {
		r := *o.Recovery
		if r.MaxDisconnectionDuration <= 0 {
			r.MaxDisconnectionDuration = 2 * time.Minute
		}
		if r.Sessions == nil {
			r.Sessions = NewMemorySessionStore(r.MaxDisconnectionDuration, 0)
		}
		o.Recovery = &r
	}
	return o
}

// ConnectError refuses a namespace connection from a middleware; the client
// receives Message and Data in its connect_error event.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// Errors returned by the server.
var (
	// ErrDisconnected: the socket is gone (EmitWithAck waiting, Emit after close).
	ErrDisconnected = errors.New("socket disconnected")
	// ErrReservedEvent: the event name is one Socket.IO uses itself.
	ErrReservedEvent = errors.New("reserved event name")
	// ErrServerClosed: the server is shutting down.
	ErrServerClosed = errors.New("server closed")
)

func checkEventName(event string) error {
	switch event {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return fmt.Errorf("emit %q: %w", event, ErrReservedEvent)
	}
	return nil
}

// Disconnect reasons the server gives, besides the transport's own.
const (
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	ReasonServerShuttingDown        = "server shutting down"
	ReasonProtocolError             = "parse error"
)
