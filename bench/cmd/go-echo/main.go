// Command go-echo is the Go counterpart of bench/node-echo/server.mjs, built on colachat's
// internal/socketio: a client joins room "r<k>" given as the handshake query parameter "room";
// event "bcast" with one argument is broadcast to the whole room (sender included) and acked.
//
// Usage: go-echo [-addr 127.0.0.1:8091] [-cpuprofile file] [-memprofile file] [-pprof 127.0.0.1:0] [-no-io-uring]
// (port 0 picks a free one). Prints "listening <port>" on stdout once ready; stops on
// SIGINT/SIGTERM. -cpuprofile covers the whole run; -memprofile is the heap at shutdown; -pprof
// serves net/http/pprof on its own listener (printed as "pprof <port>" on stderr) for heap
// snapshots while clients are connected.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"colachat/internal/socketio"
	"colachat/internal/socketio/engineio"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-echo:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8091", "listen address")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write a heap profile at shutdown to this file")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address")
	memRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate (1 records every allocation); 0 keeps the default")
	noIOURing := flag.Bool("no-io-uring", false, "write each delivery with its own system call even where io_uring works")
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			f, err := os.Create(*memProfile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "go-echo:", err)
				return
			}
			defer f.Close()
			runtime.GC()
			_ = pprof.WriteHeapProfile(f)
		}()
	}
	if *pprofAddr != "" {
		pl, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return err
		}
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", httppprof.Index)
		dbg.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		fmt.Fprintf(os.Stderr, "pprof %d\n", pl.Addr().(*net.TCPAddr).Port)
		ps := &http.Server{Handler: dbg, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = ps.Serve(pl) }()
		defer ps.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	io := socketio.NewServer(socketio.Options{Engine: engineio.Options{DisableIOURing: *noIOURing}})
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
