// Package engineio is an Engine.IO protocol v4 server: HTTP long-polling and
// WebSocket transports, the upgrade between them, the server-driven
// heartbeat and a bounded outgoing queue per connection. It knows nothing of
// Socket.IO; it hands message packets ("4") up and takes pre-encoded packets
// down.
//
// Guarantees to the layer above:
//   - OnMessage runs one call at a time per connection, in arrival order;
//     its data is only valid during the call.
//   - OnClose runs exactly once, after any running OnMessage returned; no
//     OnMessage starts after it. Closing from inside OnMessage is fine.
//   - Send and SendMany never wait for the peer: they queue (or write
//     straight to a socket with room) and fail once QueueLimit packets are
//     waiting, cutting the connection as a slow consumer.
//   - A Packet is immutable: NewMessage encodes the websocket frame once and
//     every connection writes those same bytes.
//
// It is built for many idle connections: a websocket connection costs one
// parked reading goroutine (2 KB of stack) and about 3 KB of heap; writes go
// straight to the socket when it has room, a writer goroutine runs only
// while a backlog exists, and heartbeats run on runtime timers. A Batch
// writes one fan-out to many sockets in one io_uring submission on Linux.
package engineio

import (
	"errors"
	"log/slog"
	"time"
)

// Transport names as they appear in the "transport" query parameter.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Close reasons passed to OnClose; the same strings the reference server uses.
const (
	ReasonTransportClose = "transport close"      // the client closed ("1", close frame, or the TCP connection)
	ReasonTransportError = "transport error"      // broken transport, protocol violation or slow consumer
	ReasonPingTimeout    = "ping timeout"         // no pong within PingTimeout
	ReasonParseError     = "parse error"          // an invalid Engine.IO packet
	ReasonForcedClose    = "forced close"         // Conn.Close
	ReasonServerShutdown = "server shutting down" // Server.Close
)

const (
	defaultPingInterval    = 25 * time.Second
	defaultPingTimeout     = 20 * time.Second
	defaultMaxPayload      = 1_000_000
	defaultQueueLimit      = 1024
	gracefulCloseDeadline  = 2 * time.Second // for the last frames to a peer that does not read
	protocolVersion        = "4"
	smallReadBufferSize    = 4096 // pooled buffers for websocket messages up to this size
	maxPooledPayloadLength = smallReadBufferSize
)

// Errors returned by Conn.Send.
var (
	// ErrClosed means the connection is closed; the packet was dropped.
	ErrClosed = errors.New("engineio: connection closed")
	// ErrSlowConsumer means the connection's queue was full; the packet was
	// dropped and the connection has been closed with "transport error".
	ErrSlowConsumer = errors.New("engineio: outgoing queue full, connection closed")
)

// CORSOptions controls the CORS headers on polling responses and preflights.
type CORSOptions struct {
	// AllowedOrigins lists the origins that may call; "*" allows any.
	// Empty means no CORS headers at all.
	AllowedOrigins []string
	// Credentials adds Access-Control-Allow-Credentials: true and echoes the
	// request's origin instead of "*".
	Credentials bool
}

// Options configures a Server. Zero values take the defaults noted per field.
type Options struct {
	PingInterval time.Duration // default 25s
	PingTimeout  time.Duration // default 20s
	MaxPayload   int           // bytes per POST body or websocket message; default 1,000,000
	Transports   []string      // default {"polling", "websocket"}
	// DisableUpgrades turns off upgrades from polling to websocket, which
	// are allowed by default.
	DisableUpgrades bool
	CORS            CORSOptions
	QueueLimit      int // queued outgoing packets per connection; default 1024
	// DisableIOURing makes a Batch write each socket with its own system
	// call even where io_uring works (Linux 5.18 and later, not refused).
	DisableIOURing bool
	Logger         *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.PingInterval <= 0 {
		o.PingInterval = defaultPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = defaultPingTimeout
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = defaultMaxPayload
	}
	if len(o.Transports) == 0 {
		o.Transports = []string{TransportPolling, TransportWebSocket}
	}
	if o.QueueLimit <= 0 {
		o.QueueLimit = defaultQueueLimit
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) allows(transport string) bool {
	for _, t := range o.Transports {
		if t == transport {
			return true
		}
	}
	return false
}

func (o Options) upgradesAllowed() bool {
	return !o.DisableUpgrades && o.allows(TransportWebSocket)
}
