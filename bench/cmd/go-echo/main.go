// Command go-echo is the Go counterpart of bench/node-echo/server.mjs, built on colachat's
// internal/socketio: a client joins room "r<k>" given as the handshake query parameter "room";
// event "bcast" with one argument is broadcast to the whole room (sender included) and acked.
//
// Usage: go-echo [-addr 127.0.0.1:8091]   (port 0 picks a free one)
// Prints "listening <port>" on stdout once ready; stops on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"colachat/internal/socketio"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-echo:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8091", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	io := socketio.NewServer(socketio.Options{})
	nsp := io.Of("/")
	nsp.OnConnection(func(s *socketio.Socket) {
		room := s.Handshake().Query.Get("room")
		if room != "" {
			s.Join(room)
		}
		s.On("bcast", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			if room != "" && args.Len() > 0 {
				_ = nsp.To(room).Emit("bcast", args.Raw(0))
			}
			if ack != nil {
				ack(map[string]bool{"ok": true})
			}
		})
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = io.Close(shutdown)
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
