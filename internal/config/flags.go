package config

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

// ErrHelp is returned by Parse when -h or --help was asked for; the usage has been written.
var ErrHelp = flag.ErrHelp

// Parse reads the configuration of the named command from its flags and from COLACHAT_*
// environment variables (looked up with lookupEnv); a flag given on the command line wins.
// It does not validate: call Validate. Usage text for -h goes to help.
func Parse(command string, args []string, lookupEnv func(string) (string, bool), help io.Writer) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	register(fs, &c)
	fs.Usage = func() {} // errors are returned as one line; the usage is only for -h
	printUsage := func() {
		fmt.Fprintf(help, "Usage: colachat %s [flags]\n\nEvery flag can also be set by its environment variable, e.g. --room-ttl by %s.\n\nFlags:\n", command, EnvName("room-ttl"))
		fs.SetOutput(help)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage()
			return Config{}, ErrHelp
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if envErr != nil || onCommandLine[f.Name] {
			return
		}
		name := EnvName(f.Name)
		v, ok := lookupEnv(name)
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			envErr = fmt.Errorf("invalid value %q for %s: %w", v, name, err)
		}
	})
	if envErr != nil {
		return Config{}, envErr
	}
	return c, nil
}

func register(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address, host:port")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL,
		"message store: sqlite://relative.db, sqlite:///abs/path.db, or postgres://user@host:5432/db for a cluster")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "Redis for a cluster: redis://host:port/db (one Redis 7) or redis-cluster://host1:port1,host2:port2,... (Redis Cluster seed nodes); empty: in-process")
	fs.StringVar(&c.NodeID, "node-id", c.NodeID, "name of this node in a cluster; random when empty")
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, "host:port serving /debug/pprof/ (keep it on loopback); empty: off")
	fs.Var(listValue{&c.CORSOrigins}, "cors-origins",
		"comma-separated origins allowed to call the API and socket with credentials; * allows any")
	fs.StringVar(&c.Identity, "identity", c.Identity,
		"strict: chatters prove themselves with a token; compat: accept the original client's token-less requests (weaker)")
	fs.StringVar(&c.Locale, "locale", c.Locale, "language of server texts: ko or en")
	fs.Var(durationValue{&c.RoomTTL}, "room-ttl", "lifetime of a room from its creation")
	fs.Var(durationValue{&c.CommitInterval}, "commit-interval",
		"SQLite: the least time between the starts of two commits while writes keep coming (a write after a quiet spell commits at once); 0 commits whatever is pending at once")
	fs.IntVar(&c.MaxCapacity, "max-capacity", c.MaxCapacity, "the largest room a creator may ask for (2 to 1000)")
	fs.Var(durationValue{&c.LeaveGrace}, "leave-grace", "wait after a chatter's last socket leaves before its leave alert")
	fs.Var(durationValue{&c.Retention}, "retention", "how long an expired room's messages are kept before they are purged")
	fs.Var(durationValue{&c.RecoveryWindow}, "recovery-window",
		"how long a disconnected socket may come back and receive what it missed; 0 disables")
	fs.Var(prefixesValue{&c.RateLimitExempt}, "rate-limit-exempt",
		"comma-separated client networks (CIDR or single IP) the per-IP limit skips, e.g. a server-side renderer")
	fs.Var(rateValue{&c.MessageRate}, "message-rate", "messages, alerts and typing per connection: N/UNIT[:BURST] or off")
	fs.Var(rateValue{&c.JoinRate}, "join-rate", "joinRoom per connection: N/UNIT[:BURST] or off")
	fs.Var(rateValue{&c.IPRate}, "ip-rate", "REST requests and socket handshakes per client IP: N/UNIT[:BURST] or off")
	fs.Var(rateValue{&c.IPMessageRate}, "ip-message-rate", "messages, alerts and typing per client IP over all its connections: N/UNIT[:BURST] or off")
	fs.Var(rateValue{&c.IPJoinRate}, "ip-join-rate", "joinRoom per client IP over all its connections: N/UNIT[:BURST] or off")
	fs.Var(hexValue{&c.TicketKey}, "ticket-key",
		"hex key that signs access-check tickets (at least 32 hex digits); the same on every node of a cluster; random when empty")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "auto (JSON unless stderr is a terminal), json or text")
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
}

// listValue is a comma-separated list of strings; blanks around items are dropped.
type listValue struct{ p *[]string }

func (v listValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}

func (v listValue) Set(s string) error {
	*v.p = splitList(s)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// prefixesValue is a comma-separated list of CIDRs; a bare IP is a one-address network.
type prefixesValue struct{ p *[]netip.Prefix }

func (v prefixesValue) String() string {
	if v.p == nil {
		return ""
	}
	parts := make([]string, len(*v.p))
	for i, p := range *v.p {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func (v prefixesValue) Set(s string) error {
	var out []netip.Prefix
	for _, item := range splitList(s) {
		p, err := ParsePrefix(item)
		if err != nil {
			return err
		}
		out = append(out, p)
	}
	*v.p = out
	return nil
}

// ParsePrefix reads a CIDR such as 10.0.0.0/8, or a single address as its own network.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// durationValue is a Go duration (90s, 15m, 24h) with an error that says so.
type durationValue struct{ p *time.Duration }

func (v durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 900ms, 90s, 15m or 24h")
	}
	*v.p = d
	return nil
}

type rateValue struct{ p *Rate }

func (v rateValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v rateValue) Set(s string) error {
	r, err := ParseRate(s)
	if err != nil {
		return err
	}
	*v.p = r
	return nil
}

type hexValue struct{ p *[]byte }

func (v hexValue) String() string {
	if v.p == nil || *v.p == nil {
		return ""
	}
	return "(set)" // a secret is never echoed in usage or logs
}

func (v hexValue) Set(s string) error {
	if s == "" {
		*v.p = nil
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return errors.New("not a hex string")
	}
	*v.p = b
	return nil
}

// Logger builds the process logger the settings ask for, writing to w. terminal tells
// whether w is an interactive terminal (auto then picks text).
func (c Config) Logger(w io.Writer, terminal bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == LogText || (c.LogFormat == LogAuto && terminal) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
