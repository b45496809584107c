package main

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"colachat/internal/socketio"
)

// setupConformance gives "/" and "/custom" what the Socket.IO suite expects:
// an "auth" event with the CONNECT payload, "message" echoed back as
// "message-back", and "message-with-ack" answered through its ack.
func setupConformance(s *socketio.Server) {
	for _, name := range []string{"/", "/custom"} {
		echoEvents(s.Of(name))
	}
}

func echoEvents(n *socketio.Namespace) {
	n.OnConnection(func(s *socketio.Socket) {
		auth := s.Handshake().Auth
		if len(auth) == 0 {
			auth = json.RawMessage(`{}`)
		}
		_ = s.Emit("auth", auth)
	})
	n.On("message", func(s *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
		_ = s.Emit("message-back", args.Values()...)
	})
	n.On("message-with-ack", func(_ *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		if ack != nil {
			ack(args.Values()...)
		}
	})
}

// dynamicNamespace is the pattern of the end-to-end tests' dynamic namespaces.
var dynamicNamespace = regexp.MustCompile(`^/dyn-[a-z0-9]+$`)

// setupE2E adds the namespaces and events the Node end-to-end tests drive.
func setupE2E(s *socketio.Server) {
	for _, name := range []string{"/", "/custom"} {
		testEvents(s.Of(name))
	}
	s.OfMatch(dynamicNamespace.MatchString, func(n *socketio.Namespace) {
		echoEvents(n)
		testEvents(n)
		n.OnConnection(func(s *socketio.Socket) { _ = s.Emit("welcome", n.Name()) })
	})
	guarded := s.Of("/guarded")
	guarded.Use(func(_ *socketio.Socket, auth json.RawMessage) error {
		var a struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(auth, &a)
		if a.Token != "open-sesame" {
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"code": "BAD_TOKEN", "got": a.Token}}
		}
		return nil
	})
	echoEvents(guarded)
}

type broadcastRequest struct {
	Rooms  []string        `json:"rooms"`
	Except []string        `json:"except"`
	Others bool            `json:"others"`
	Offset string          `json:"offset"`
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
}

type askRequest struct {
	Event     string            `json:"event"`
	TimeoutMS int               `json:"timeoutMs"`
	Args      []json.RawMessage `json:"args"`
}

func testEvents(n *socketio.Namespace) {
	n.On("join", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		var rooms []string
		if err := args.Decode(0, &rooms); err != nil {
			reply(ack, map[string]any{"error": err.Error()})
			return
		}
		s.Join(rooms...)
		reply(ack, s.Rooms())
	})
	n.On("leave", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		var room string
		_ = args.Decode(0, &room)
		s.Leave(room)
		reply(ack, s.Rooms())
	})
	n.On("broadcast", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		var req broadcastRequest
		if err := args.Decode(0, &req); err != nil {
			reply(ack, map[string]any{"error": err.Error()})
			return
		}
		b := n.To(req.Rooms...)
		if req.Others {
			b = s.To(req.Rooms...)
		}
		if len(req.Except) > 0 {
			b = b.Except(req.Except...)
		}
		if req.Offset != "" {
			b = b.Offset(req.Offset)
		}
		var emitArgs []any
		if req.Data != nil {
			emitArgs = append(emitArgs, req.Data)
		}
		if bin := args.Bytes(1); bin != nil {
			emitArgs = append(emitArgs, bin)
		}
		if err := b.Emit(req.Event, emitArgs...); err != nil {
			reply(ack, map[string]any{"error": err.Error()})
			return
		}
		reply(ack, map[string]any{"ok": true})
	})
	n.On("ask", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		var req askRequest
		if err := args.Decode(0, &req); err != nil {
			reply(ack, map[string]any{"error": err.Error()})
			return
		}
		// EmitWithAck waits for this very client: not on its reader goroutine.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(req.TimeoutMS)*time.Millisecond)
			defer cancel()
			emitArgs := make([]any, len(req.Args))
			for i, a := range req.Args {
				emitArgs[i] = a
			}
			answer, err := s.EmitWithAck(ctx, req.Event, emitArgs...)
			if err != nil {
				reply(ack, map[string]any{"ok": false, "error": err.Error()})
				return
			}
			reply(ack, map[string]any{"ok": true, "answer": answer.Values()})
		}()
	})
	n.On("set", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		var key string
		_ = args.Decode(0, &key)
		s.Set(key, args.Raw(1))
		reply(ack, true)
	})
	n.On("whoami", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		var key string
		_ = args.Decode(0, &key)
		var value any
		if key != "" {
			_ = s.Decode(key, &value)
		}
		reply(ack, map[string]any{
			"id": s.ID(), "nsp": n.Name(), "recovered": s.Recovered(), "rooms": s.Rooms(), "value": value,
		})
	})
	n.On("kick", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
		reply(ack, true)
		// Queued packets, the ack included, go out before the connection is cut.
		s.CloseTransport()
	})
	n.On("panic", func(*socketio.Socket, socketio.Args, socketio.AckFunc) {
		panic("requested by the test")
	})
}

func reply(ack socketio.AckFunc, v any) {
	if ack != nil {
		ack(v)
	}
}
