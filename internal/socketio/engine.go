package socketio

import (
	"net/http"

	"colachat/internal/socketio/engineio"
)

// newEngine starts the Engine.IO server that feeds s.
func newEngine(s *Server) engine {
	eng := engineio.NewServer(s.opts.Engine)
	eng.OnConnection(func(conn *engineio.Conn) {
		c := s.accept(engineTransport{conn})
		conn.OnMessage(c.onFrame)
		conn.OnClose(c.onClose)
	})
	return engineServer{eng}
}

// engineServer adapts *engineio.Server to the engine interface.
type engineServer struct{ *engineio.Server }

func (e engineServer) Stats() TransportStats {
	st := e.Server.Stats()
	return TransportStats{Conns: st.Conns, PacketsOut: st.PacketsOut, SlowCuts: st.SlowCuts, LongPolls: st.LongPolls}
}

// newFanout gathers a broadcast's sends into one engineio.Batch.
func (e engineServer) newFanout() fanout { return engineFanout{e.NewBatch()} }

// engineFanout sends through an engineio.Batch.
type engineFanout struct{ b *engineio.Batch }

func (o engineFanout) send(t transport, f *frames) error {
	et, ok := t.(engineTransport)
	if !ok {
		return t.send(f)
	}
	return o.b.Send(et.conn, f.framedAs(enginePackets).([]*engineio.Packet)...)
}

func (o engineFanout) flush() { o.b.Flush() }

// engineTransport binds a client to an *engineio.Conn.
type engineTransport struct{ conn *engineio.Conn }

// send queues the text frame and its attachments back to back, all or
// none: a ping or another goroutine's packet never lands between them.
func (t engineTransport) send(f *frames) error {
	packets := f.framedAs(enginePackets).([]*engineio.Packet)
	if len(packets) == 1 {
		return t.conn.Send(packets[0])
	}
	return t.conn.SendMany(packets...)
}

// enginePackets frames a packet for Engine.IO, once for all recipients.
func enginePackets(f *frames) any {
	packets := make([]*engineio.Packet, 0, 1+len(f.attachments))
	packets = append(packets, engineio.NewMessage(f.text, false))
	for _, a := range f.attachments {
		packets = append(packets, engineio.NewMessage(a, true))
	}
	return packets
}

func (t engineTransport) close()                 { t.conn.Close() }
func (t engineTransport) request() *http.Request { return t.conn.Request() }
func (t engineTransport) remoteAddr() string     { return t.conn.RemoteAddr() }
