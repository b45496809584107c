// Package socketio is a Socket.IO v5 server (the protocol of Socket.IO 3 and
// 4 clients) on top of the engineio package: fixed and dynamic namespaces,
// middleware, rooms through a pluggable Adapter, acknowledgements both ways,
// binary attachments and connection state recovery. It knows nothing of any
// application.
//
// # Concurrency
//
// Middleware, connection and event handlers of one Engine.IO connection run
// one at a time and in arrival order, while its reader waits (Engine.IO runs
// them on a few pooled goroutines, so that the reader of each idle
// connection keeps a minimal stack). A handler may
// block (the next packet of that connection waits), but one that waits for an
// answer from the same client (EmitWithAck) must do so in a goroutine of its
// own. A panicking handler is logged and its socket disconnected. Emit,
// Broadcast and the room methods are safe from any goroutine.
//
// # Encoding
//
// Arguments are encoded with encoding/json; a json.RawMessage passes through
// as is and a []byte argument (at the top level) becomes a binary
// attachment. A broadcast is encoded once, whatever the number of recipients.
//
// # Bad input
//
// A malformed packet, an unexpected binary frame, too many or too large
// attachments close that connection only. An ack whose id nobody waits for
// (late after a timeout, or made up) is ignored, as in the reference server.
//
// # Recovery
//
// With Options.Recovery set, the CONNECT reply carries a private session id
// and every broadcast carries an offset as its last argument (the
// application's own, with Broadcast.Offset, or one made up). When a socket
// goes away for a reason the client recovers from (transport close or error,
// ping timeout, server shutdown), its id, rooms and Set values are saved in
// the SessionStore; a client that comes back in time with {pid, offset} gets
// them back, Recovered reports true, and the events SessionStore.Missed
// returns are sent before the connection handlers run; broadcasts made while
// the store answers are held back and sent after them, once. Middleware is
// skipped for a resumed session unless RunMiddlewaresOnRecovery is set. Per-socket state must
// be JSON-serializable to survive: values come back as json.RawMessage, which
// Socket.Decode reads.
package socketio
