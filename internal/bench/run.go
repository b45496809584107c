// Package bench is the load generator behind `colachat bench`. It speaks only the public
// protocol (REST + Socket.IO over websocket), so it can be pointed at colachat or at the original
// Node backend, or (with -protocol raw) at the minimal broadcast apps under bench/.
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is the parsed command line.
type config struct {
	protocolName string
	proto        protocol
	urls         []string
	path         string
	namespace    string
	rooms        int
	capacity     int
	rate         float64
	senders      int
	colocate     bool
	duration     time.Duration
	hold         time.Duration
	drain        time.Duration
	settle       time.Duration
	ramp         float64
	dialParallel int
	size         int
	serverPIDs   processes
	sourceAddrs  []net.IP
	allowRemote  bool
	jsonOut      bool
	quiet        bool
}

// Run parses args (without the subcommand name), runs one benchmark and writes its report to
// stdout (a table, or JSON with -json) and its progress to stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	limit, err := raiseFileLimit()
	if err != nil {
		return err
	}
	if need := uint64(cfg.rooms*cfg.capacity) + 64; limit < need {
		return fmt.Errorf("bench: %d clients need about %d open files, the limit is %d", cfg.rooms*cfg.capacity, need, limit)
	}
	r := newRunner(cfg, stderr)
	sum, err := r.run(ctx)
	if err != nil {
		err = fmt.Errorf("bench: %w", err)
	}
	if sum != nil {
		if werr := writeSummary(stdout, sum, cfg.jsonOut); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: colachat bench [flags]\n\n"+
			"Creates -rooms rooms of -capacity members, connects and joins every member, then each member\n"+
			"sends -rate messages a second for -duration; reports latencies, loss and, with -server-pid,\n"+
			"the server's CPU per message and memory per connection. -rate 0 -hold 10s measures idle memory.\n\n")
		fs.PrintDefaults()
	}
	cfg := &config{}
	var urls, pids, sources string
	fs.StringVar(&cfg.protocolName, "protocol", "chat", "chat: the Cola Chat contract (REST rooms, joinRoom, sendMessage); raw: the bench/ broadcast app (query room=r<k>, event bcast)")
	fs.StringVar(&urls, "url", "http://127.0.0.1:8080", "server base URL; a comma-separated list spreads each room's members over several nodes")
	fs.StringVar(&urls, "urls", "http://127.0.0.1:8080", "same as -url")
	fs.StringVar(&cfg.path, "path", "/socket.io/", "Engine.IO path")
	fs.StringVar(&cfg.namespace, "namespace", "", `Socket.IO namespace (default "/anonymous" for chat, "/" for raw)`)
	fs.IntVar(&cfg.rooms, "rooms", 100, "rooms")
	fs.IntVar(&cfg.capacity, "capacity", 16, "room capacity = clients per room")
	fs.Float64Var(&cfg.rate, "rate", 1, "messages a second per client; 0 skips the message phase (idle memory mode)")
	fs.IntVar(&cfg.senders, "senders", 0, "members of each room that send (the first to join); 0: all of them")
	fs.BoolVar(&cfg.colocate, "colocate", false, "with several URLs: all of a room's members on one of them (rooms alternate) instead of each room's members alternating")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of the measured message phase")
	fs.DurationVar(&cfg.hold, "hold", 0, "idle time after every client joined, before measuring memory and sending")
	fs.DurationVar(&cfg.drain, "drain", 5*time.Second, "how long to wait for outstanding acks and deliveries after sending stops")
	fs.DurationVar(&cfg.settle, "settle", time.Second, "pause after the joins so join broadcasts finish before measuring")
	fs.Float64Var(&cfg.ramp, "ramp", 1000, "connections opened per second")
	fs.IntVar(&cfg.dialParallel, "dial-parallel", 256, "connect+join attempts in flight at once")
	fs.IntVar(&cfg.size, "size", 0, "pad message content to this many bytes (at most 1000 in chat)")
	fs.StringVar(&pids, "server-pid", "", "server process id(s), comma-separated, for CPU and RSS measurement")
	fs.StringVar(&sources, "source-addrs", "", "comma-separated local IPs to dial from (e.g. 127.0.0.1,127.0.0.2), to exceed one address's ephemeral ports")
	fs.BoolVar(&cfg.allowRemote, "allow-remote", false, "allow non-loopback targets")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the summary as JSON")
	fs.BoolVar(&cfg.quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.complete(urls, pids, sources); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return cfg, nil
}

// complete checks the flags and fills in what follows from them.
func (cfg *config) complete(urls, pids, sources string) error {
	switch cfg.protocolName {
	case "chat":
		cfg.proto = chatProtocol{http: &http.Client{Timeout: 15 * time.Second}}
		if cfg.namespace == "" {
			cfg.namespace = "/anonymous"
		}
		if cfg.size > 1000 {
			return fmt.Errorf("-size %d: chat messages hold at most 1000 characters", cfg.size)
		}
	case "raw":
		cfg.proto = rawProtocol{}
		if cfg.namespace == "" {
			cfg.namespace = "/"
		}
	default:
		return fmt.Errorf("-protocol %q: want chat or raw", cfg.protocolName)
	}
	for _, u := range splitList(urls) {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("-url %q: want http(s)://host:port", u)
		}
		if !cfg.allowRemote && !isLoopback(pu.Hostname()) {
			return fmt.Errorf("-url %q is not a loopback address; pass -allow-remote to load a remote server", u)
		}
		cfg.urls = append(cfg.urls, strings.TrimRight(u, "/"))
	}
	if len(cfg.urls) == 0 {
		return errors.New("-url: none given")
	}
	for _, p := range splitList(pids) {
		pid, err := strconv.Atoi(p)
		if err != nil || pid <= 0 {
			return fmt.Errorf("-server-pid %q: want process ids", p)
		}
		cfg.serverPIDs = append(cfg.serverPIDs, pid)
	}
	for _, s := range splitList(sources) {
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("-source-addrs %q: not an IP address", s)
		}
		cfg.sourceAddrs = append(cfg.sourceAddrs, ip)
	}
	switch {
	case cfg.rooms < 1 || cfg.capacity < 1:
		return errors.New("-rooms and -capacity must be at least 1")
	case cfg.rate < 0 || cfg.ramp <= 0 || cfg.dialParallel < 1:
		return errors.New("-rate must be at least 0, -ramp and -dial-parallel above 0")
	case cfg.rate > 0 && cfg.duration <= 0:
		return errors.New("-duration must be positive when -rate is")
	case cfg.size < 0:
		return errors.New("-size must not be negative")
	case cfg.senders < 0 || cfg.senders > cfg.capacity:
		return fmt.Errorf("-senders %d: want 0 (all) to -capacity (%d)", cfg.senders, cfg.capacity)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
