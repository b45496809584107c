package sioclient

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// stubServer is a minimal Engine.IO 4 / Socket.IO 5 websocket server for the tests:
//   - namespace CONNECT succeeds unless the auth payload is {"token":"bad"};
//   - event "echo" is acked with its arguments and emitted back as "echoed";
//   - event "ask" makes the server emit "question" with ack id 7 and report the client's ack;
//   - event "kick" makes the server disconnect the namespace;
//   - every connection starts with an Engine.IO ping, whose pong is reported.
type stubServer struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	queries []string
	auths   []string
	pongs   int
	acked   []string // ack packets the client sent for server-side emits
	conns   sync.WaitGroup
}

func newStubServer(t *testing.T) *stubServer {
	t.Helper()
	s := &stubServer{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.conns.Wait()
	})
	return s
}

func (s *stubServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/socket.io/" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.queries = append(s.queries, r.URL.RawQuery)
	s.mu.Unlock()
	conn, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return
	}
	s.conns.Add(1)
	defer s.conns.Done()
	defer conn.Close()
	send := func(msg string) error { return wsutil.WriteServerText(conn, []byte(msg)) }
	if err := send(`0{"sid":"eng1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`); err != nil {
		return
	}
	if err := send("2"); err != nil {
		return
	}
	for {
		data, err := wsutil.ReadClientText(conn)
		if err != nil {
			return
		}
		if err := s.handle(conn, string(data), send); err != nil {
			return
		}
	}
}

func (s *stubServer) handle(conn net.Conn, msg string, send func(string) error) error {
	if msg == "3" {
		s.mu.Lock()
		s.pongs++
		s.mu.Unlock()
		return nil
	}
	if !strings.HasPrefix(msg, "4") {
		return nil
	}
	p, err := decodePacket([]byte(msg[1:]))
	if err != nil {
		return err
	}
	prefix := ""
	if !p.in("/") {
		prefix = p.namespace() + ","
	}
	switch p.typ {
	case packetConnect:
		s.mu.Lock()
		s.auths = append(s.auths, string(p.data))
		s.mu.Unlock()
		if string(p.data) == `{"token":"bad"}` {
			return send(`44` + prefix + `{"message":"not authorized","data":{"code":7}}`)
		}
		return send(`40` + prefix + `{"sid":"sock1","pid":"p1"}`)
	case packetAck:
		s.mu.Lock()
		s.acked = append(s.acked, fmt.Sprintf("%d%s", p.ackID, p.data))
		s.mu.Unlock()
		return nil
	case packetDisconnect:
		return fmt.Errorf("client left")
	case packetEvent:
		all, err := splitArray(p.data)
		if err != nil {
			return err
		}
		name, _ := decodeString(all[0])
		rest := "[" + joinRaw(all[1:]) + "]"
		switch name {
		case "echo":
			if p.ackID != noAck {
				if err := send(fmt.Sprintf("43%s%d%s", prefix, p.ackID, rest)); err != nil {
					return err
				}
			}
			return send(`42` + prefix + `["echoed",` + joinRaw(all[1:]) + `]`)
		case "ask":
			return send(`42` + prefix + `7["question",1]`)
		case "kick":
			return send(`41` + prefix)
		}
	}
	return nil
}

func joinRaw(args []json.RawMessage) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	return strings.Join(parts, ",")
}

func (s *stubServer) snapshot() (queries, auths []string, pongs int, acked []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...), append([]string(nil), s.auths...), s.pongs, append([]string(nil), s.acked...)
}
