package socketio_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"colachat/internal/socketio"
)

func Example() {
	srv := socketio.NewServer(socketio.Options{
		Recovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute},
	})
	// Every namespace such as "/anonymous" is accepted.
	srv.OfMatch(regexp.MustCompile(`^/.+`).MatchString, func(n *socketio.Namespace) {
		n.Use(func(s *socketio.Socket, auth json.RawMessage) error {
			if len(auth) == 0 {
				return &socketio.ConnectError{Message: "auth required", Data: map[string]string{"code": "NO_AUTH"}}
			}
			return nil
		})
		n.On("joinRoom", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var req struct {
				RoomID string `json:"roomId"`
			}
			if err := args.Decode(0, &req); err != nil {
				return
			}
			s.Join(req.RoomID)
			// A message id as the offset lets a store serve missed events.
			_ = n.To(req.RoomID).Offset("42").Emit("sendAlert", map[string]string{"content": "joined"})
			if ack != nil {
				ack(map[string]any{"success": true})
			}
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	_ = srv.Close(context.Background())
	// Output:
}
