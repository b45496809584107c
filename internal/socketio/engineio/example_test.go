package engineio_test

import (
	"context"
	"net/http"
	"time"

	"colachat/internal/socketio/engineio"
)

// An echo server: every message goes back to its sender, and one encoded
// packet is shared by every recipient of a broadcast.
func ExampleServer() {
	srv := engineio.NewServer(engineio.Options{PingInterval: 25 * time.Second})
	srv.OnConnection(func(c *engineio.Conn) {
		c.OnMessage(func(data []byte, binary bool) {
			// data is reused after this call returns; NewMessage copies it
			_ = c.Send(engineio.NewMessage(data, binary))
		})
		c.OnClose(func(reason string) {})
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := &http.Server{Addr: "127.0.0.1:0", Handler: mux}
	_ = hs // hs.ListenAndServe() in a real program

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Close(ctx)
}
