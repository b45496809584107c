package engineio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestInteropServer serves an echo server for external protocol suites,
// with the official Engine.IO test suite's settings (ping 300/200 ms,
// mounted at /engine.io/). It runs only when ENGINEIO_INTEROP_ADDR is set
// and stops when stdin closes:
//
//	ENGINEIO_INTEROP_ADDR=127.0.0.1:3000 go test -run TestInteropServer ./internal/socketio/engineio/
func TestInteropServer(t *testing.T) {
	addr := os.Getenv("ENGINEIO_INTEROP_ADDR")
	if addr == "" {
		t.Skip("set ENGINEIO_INTEROP_ADDR to serve the external test suites")
	}
	srv := NewServer(Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		CORS:         CORSOptions{AllowedOrigins: []string{"*"}},
	})
	srv.OnConnection(echo)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := &http.Server{Addr: addr, Handler: mux}
	served := make(chan error, 1)
	go func() { served <- hs.ListenAndServe() }()
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close(context.Background())
	_ = hs.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Error(err)
	}
}
