// Command socketio-conformance serves the endpoints the official Engine.IO and
// Socket.IO protocol test suites expect: a bare Engine.IO echo at /engine.io/
// and Socket.IO at /socket.io/ with the namespaces "/" and "/custom".
//
// With -e2e it also serves the namespaces the Node end-to-end tests in
// test/socketio use.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"colachat/internal/socketio"
	"colachat/internal/socketio/engineio"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "socketio-conformance:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("socketio-conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address")
	e2e := fs.Bool("e2e", false, "also serve the namespaces of the end-to-end tests, with connection state recovery")
	verbose := fs.Bool("v", false, "log protocol errors")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	engineOpts := engineio.Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   1_000_000,
		CORS:         engineio.CORSOptions{AllowedOrigins: []string{"*"}},
		Logger:       logger,
	}
	echo := newEchoServer(engineOpts)
	opts := socketio.Options{
		Engine:         engineOpts,
		ConnectTimeout: 1500 * time.Millisecond,
		Logger:         logger,
	}
	if *e2e {
		// Real clients: a heartbeat that survives a loaded machine.
		opts.Engine.PingInterval, opts.Engine.PingTimeout = 2*time.Second, 5*time.Second
		opts.Recovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute}
	}
	sio := socketio.NewServer(opts)
	setupConformance(sio)
	if *e2e {
		setupE2E(sio)
	}

	mux := http.NewServeMux()
	mux.Handle("/engine.io/", echo)
	mux.Handle("/socket.io/", sio)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errs := []error{sio.Close(shutdownCtx), echo.Close(shutdownCtx), srv.Shutdown(shutdownCtx)}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// newEchoServer returns a bare Engine.IO server that sends every message back.
func newEchoServer(opts engineio.Options) *engineio.Server {
	eng := engineio.NewServer(opts)
	eng.OnConnection(func(c *engineio.Conn) {
		c.OnMessage(func(data []byte, binary bool) {
			// data is only valid during the call; NewMessage copies it.
			_ = c.Send(engineio.NewMessage(data, binary))
		})
	})
	return eng
}
