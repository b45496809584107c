package socketio

import (
	"net/http"
	"sync"

	"colachat/internal/socketio/parser"
)

// transport is what the Socket.IO layer needs from one Engine.IO connection.
// engine.go binds it to *engineio.Conn; tests use a fake.
type transport interface {
	// send queues the frames of one packet, in order and together.
	send(f *frames) error
	close()
	request() *http.Request
	remoteAddr() string
}

// fanout gathers the sends of one broadcast so that the transport can write
// them together (engine.go: one system call for all of them); flush ends it.
type fanout interface {
	send(t transport, f *frames) error
	flush()
}

// directFanout sends each packet on its own, for transports without batching.
type directFanout struct{}

func (directFanout) send(t transport, f *frames) error { return t.send(f) }
func (directFanout) flush()                            {}

// frames is one encoded packet: a text frame and its binary attachments. A
// broadcast makes one frames value for all its recipients; the transport
// builds its own framed form once and caches it here.
type frames struct {
	text        []byte
	attachments [][]byte

	once   sync.Once
	framed any
}

func encodeFrames(p *parser.Packet) *frames {
	return &frames{text: parser.Encode(p), attachments: p.Attachments}
}

// framedAs returns the transport's form of f, built on first use.
func (f *frames) framedAs(build func(*frames) any) any {
	f.once.Do(func() { f.framed = build(f) })
	return f.framed
}
