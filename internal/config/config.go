// Package config holds colachat's settings: their defaults, how flags and COLACHAT_*
// environment variables set them (a flag wins over the environment), and Validate, which
// names the one bad setting that stops start-up.
//
// Settings, with their defaults (environment variable: COLACHAT_ and the flag's name in
// upper case, dashes as underscores, e.g. --room-ttl is COLACHAT_ROOM_TTL):
//
//	--addr               :8080
//	--database-url       sqlite://colachat.db (in the working directory; sqlite:///abs/path.db)
//	--redis-url          empty: in-process broker and presence; for a cluster redis://host:port/db
//	                     (one Redis 7) or redis-cluster://host1:port1,host2:port2,... (Redis Cluster seeds)
//	--node-id            random; names this node's presence entries in Redis
//	--debug-addr         empty; host:port serving /debug/pprof/
//	--cors-origins       *  (comma list; the request's origin is echoed, with credentials)
//	--identity           strict (compat: the original client's token-less requests, weaker)
//	--locale             ko (or en)
//	--room-ttl           24h
//	--max-capacity       1000 (the largest room a creator may ask for, 2 to 1000)
//	--commit-interval    10ms (SQLite: the least time between two commits while writes keep coming)
//	--leave-grace        1s
//	--retention          24h  (after expiry, before an expired room's messages are purged)
//	--recovery-window    2m   (0 disables connection state recovery)
//	--rate-limit-exempt  none (comma list of CIDRs or addresses, e.g. a server-side renderer)
//	--message-rate       10/s:20  per connection: 10 a second sustained, bursts of 20
//	--join-rate          2/s:10   per connection
//	--ip-rate            20/s:60  per client IP, REST requests and socket handshakes
//	--ticket-key         random per process (hex, at least 16 bytes; equal on every node)
//	--log-format         auto (JSON unless stderr is a terminal; or json, text)
//	--log-level          info
//
// A rate is N/UNIT[:BURST] (UNIT s, m, h or a duration such as 10s; BURST defaults to N)
// or "off".
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of a colachat node.
type Config struct {
	Addr        string // listen address, host:port
	DatabaseURL string // sqlite://file.db, sqlite:///abs/file.db or postgres://user@host:port/db
	RedisURL    string // empty: in-process; redis://host:port/db or redis-cluster://host1:port1,... for a cluster
	NodeID      string // names this node in a cluster; random when empty
	DebugAddr   string // where to serve pprof (loopback advised); empty: off
	CORSOrigins []string
	Identity    string // "strict" | "compat"
	Locale      string // "ko" | "en"

	RoomTTL        time.Duration // a room's lifetime from creation
	MaxCapacity    int           // the largest room a creator may ask for
	CommitInterval time.Duration // SQLite: least time between the starts of two commits
	LeaveGrace     time.Duration // delay before a departed chatter's leave alert
	Retention      time.Duration // how long an expired room's messages are kept
	RecoveryWindow time.Duration // Socket.IO connection state recovery; 0 disables it

	RateLimitExempt []netip.Prefix // client networks the per-IP limit skips
	MessageRate     Rate           // sendMessage/sendAlert/typing per connection
	JoinRate        Rate           // joinRoom per connection
	IPRate          Rate           // REST requests and socket handshakes per client IP
	IPMessageRate   Rate           // sendMessage/sendAlert/typing per client IP, all its connections
	IPJoinRate      Rate           // joinRoom per client IP, all its connections

	TicketKey []byte // signs access-check tickets; random per process when empty

	LogFormat string // "auto" | "json" | "text"
	LogLevel  slog.Level
}

// Identity modes.
const (
	IdentityStrict = "strict"
	IdentityCompat = "compat"
)

// Log formats.
const (
	LogAuto = "auto"
	LogJSON = "json"
	LogText = "text"
)

// The room sizes a deployment may allow (chat.MinCapacity and chat.MaxCapacity).
const (
	minCapacity = 2
	maxCapacity = 1000
)

// Default is the configuration of `colachat` run with no flags and no environment.
func Default() Config {
	return Config{
		Addr:           ":8080",
		DatabaseURL:    "sqlite://colachat.db",
		CORSOrigins:    []string{"*"},
		Identity:       IdentityStrict,
		Locale:         "ko",
		RoomTTL:        24 * time.Hour,
		MaxCapacity:    1000,
		CommitInterval: 10 * time.Millisecond,
		LeaveGrace:     time.Second,
		Retention:      24 * time.Hour,
		RecoveryWindow: 2 * time.Minute,
		MessageRate:    Rate{Events: 10, Per: time.Second, Burst: 20},
		JoinRate:       Rate{Events: 2, Per: time.Second, Burst: 10},
		IPRate:         Rate{Events: 20, Per: time.Second, Burst: 60},
		IPMessageRate:  Rate{Events: 30, Per: time.Second, Burst: 60},
		IPJoinRate:     Rate{Events: 5, Per: time.Second, Burst: 30},
		LogFormat:      LogAuto,
		LogLevel:       slog.LevelInfo,
	}
}

// Database kinds returned by Config.Database.
const (
	DatabaseSQLite   = "sqlite"
	DatabasePostgres = "postgres"
)

// Database splits DatabaseURL into its kind and what that kind's driver opens: a file
// path for SQLite, the URL itself for PostgreSQL.
func (c Config) Database() (kind, target string, err error) {
	u := c.DatabaseURL
	switch {
	case strings.HasPrefix(u, "sqlite://"):
		path := strings.TrimPrefix(u, "sqlite://")
		if path == "" {
			return "", "", errors.New("sqlite URL has no file path (want sqlite://file.db or sqlite:///abs/file.db)")
		}
		if strings.ContainsAny(path, "?#") {
			return "", "", errors.New("sqlite URL takes no query or fragment")
		}
		return DatabaseSQLite, filepath.Clean(path), nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := url.Parse(u); err != nil {
			return "", "", fmt.Errorf("not a valid URL: %w", err)
		}
		return DatabasePostgres, u, nil
	default:
		return "", "", fmt.Errorf("unknown scheme in %q (want sqlite:// or postgres://)", u)
	}
}

// Validate checks every setting and returns an error naming the first bad one.
func (c Config) Validate() error {
	bad := func(flag, format string, args ...any) error {
		return &Error{Setting: flag, Reason: fmt.Sprintf(format, args...)}
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return bad("addr", "%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", c.Addr)
	}
	if _, _, err := c.Database(); err != nil {
		return bad("database-url", "%v", err)
	}
	if c.RedisURL != "" {
		if err := checkRedisURL(c.RedisURL); err != nil {
			return bad("redis-url", "%v", err)
		}
	}
	if c.DebugAddr != "" {
		if _, port, err := net.SplitHostPort(c.DebugAddr); err != nil || port == "" {
			return bad("debug-addr", "%q is not host:port (e.g. 127.0.0.1:6060)", c.DebugAddr)
		}
	}
	for _, o := range c.CORSOrigins {
		if err := checkOrigin(o); err != nil {
			return bad("cors-origins", "%v", err)
		}
	}
	if c.Identity != IdentityStrict && c.Identity != IdentityCompat {
		return bad("identity", "%q is not strict or compat", c.Identity)
	}
	if c.Locale != "ko" && c.Locale != "en" {
		return bad("locale", "%q is not ko or en", c.Locale)
	}
	if c.RoomTTL <= 0 {
		return bad("room-ttl", "%v must be positive", c.RoomTTL)
	}
	if c.MaxCapacity < minCapacity || c.MaxCapacity > maxCapacity {
		return bad("max-capacity", "%d is not between %d and %d", c.MaxCapacity, minCapacity, maxCapacity)
	}
	if c.CommitInterval < 0 || c.CommitInterval > time.Second {
		return bad("commit-interval", "%v must be between 0 and 1s", c.CommitInterval)
	}
	if c.LeaveGrace <= 0 || c.LeaveGrace > time.Minute {
		return bad("leave-grace", "%v must be more than 0 and at most 1m", c.LeaveGrace)
	}
	if c.Retention <= 0 {
		return bad("retention", "%v must be positive", c.Retention)
	}
	if c.RecoveryWindow < 0 {
		return bad("recovery-window", "%v must not be negative", c.RecoveryWindow)
	}
	rates := []struct {
		flag string
		rate Rate
	}{{"message-rate", c.MessageRate}, {"join-rate", c.JoinRate}, {"ip-rate", c.IPRate},
		{"ip-message-rate", c.IPMessageRate}, {"ip-join-rate", c.IPJoinRate}}
	for _, r := range rates {
		if err := r.rate.check(); err != nil {
			return bad(r.flag, "%v", err)
		}
	}
	if c.TicketKey != nil && len(c.TicketKey) < minTicketKey {
		return bad("ticket-key", "%d bytes is too short (want at least %d bytes, %d hex digits)",
			len(c.TicketKey), minTicketKey, 2*minTicketKey)
	}
	switch c.LogFormat {
	case LogAuto, LogJSON, LogText:
	default:
		return bad("log-format", "%q is not auto, json or text", c.LogFormat)
	}
	return nil
}

// minTicketKey is the shortest ticket key accepted, in bytes.
const minTicketKey = 16

// Error names the setting that is wrong and why.
type Error struct {
	Setting string // the flag's name, without dashes
	Reason  string
}

func (e *Error) Error() string {
	return "invalid --" + e.Setting + " (" + EnvName(e.Setting) + "): " + e.Reason
}

// EnvName is the environment variable that sets a flag: COLACHAT_ and the flag's name in
// upper case with dashes as underscores.
func EnvName(flag string) string {
	return "COLACHAT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// checkRedisURL accepts redis://host:port/db (rediss:// with TLS) for one Redis and
// redis-cluster://host1:port1,host2:port2,... (seed nodes) for a Redis Cluster, each
// with an optional user:password@.
func checkRedisURL(raw string) error {
	const cluster = "redis-cluster://"
	if !strings.HasPrefix(raw, cluster) {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return fmt.Errorf("%q is not redis://host:port/db (rediss:// for TLS) nor %shost1:port1,host2:port2 (seeds)", raw, cluster)
		}
		return nil
	}
	seeds := strings.TrimSuffix(strings.TrimPrefix(raw, cluster), "/")
	if at := strings.LastIndex(seeds, "@"); at >= 0 {
		seeds = seeds[at+1:]
	}
	if strings.ContainsAny(seeds, "/?#") {
		return fmt.Errorf("%q: a cluster URL holds seed nodes only (%shost1:port1,host2:port2), no database, path or options", raw, cluster)
	}
	for _, seed := range strings.Split(seeds, ",") {
		host, port, err := net.SplitHostPort(seed)
		if err != nil || host == "" || !validPort(port) {
			return fmt.Errorf("seed %q of %q is not host:port (want %shost1:port1,host2:port2)", seed, raw, cluster)
		}
	}
	return nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not * or an origin like https://chat.example.com", o)
	}
	return nil
}
