package config

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("got %v, want the defaults to be valid", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(Config) (got, want any)
	}{
		{"default addr", nil, nil, func(c Config) (any, any) { return c.Addr, ":8080" }},
		{"flag addr", []string{"--addr", "127.0.0.1:9000"}, nil, func(c Config) (any, any) { return c.Addr, "127.0.0.1:9000" }},
		{"env addr", nil, map[string]string{"COLACHAT_ADDR": ":7000"}, func(c Config) (any, any) { return c.Addr, ":7000" }},
		{"flag wins over env", []string{"-addr=:1"}, map[string]string{"COLACHAT_ADDR": ":2"}, func(c Config) (any, any) { return c.Addr, ":1" }},
		{"env with dashes", nil, map[string]string{"COLACHAT_ROOM_TTL": "90m"}, func(c Config) (any, any) { return c.RoomTTL, 90 * time.Minute }},
		{"cors list", []string{"--cors-origins", " http://a.test , https://b.test:8443,"}, nil,
			func(c Config) (any, any) { return c.CORSOrigins, []string{"http://a.test", "https://b.test:8443"} }},
		{"cors empty", []string{"--cors-origins="}, nil, func(c Config) (any, any) { return len(c.CORSOrigins), 0 }},
		{"exempt cidrs", []string{"--rate-limit-exempt", "10.0.0.0/8,127.0.0.1,::1"}, nil, func(c Config) (any, any) {
			return c.RateLimitExempt, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
		}},
		{"exempt cidr is masked", []string{"--rate-limit-exempt", "10.1.2.3/8"}, nil, func(c Config) (any, any) {
			return c.RateLimitExempt, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}},
		{"message rate", []string{"--message-rate", "5/s:15"}, nil, func(c Config) (any, any) { return c.MessageRate, Rate{5, time.Second, 15} }},
		{"rate burst defaults to count", []string{"--join-rate", "30/m"}, nil, func(c Config) (any, any) { return c.JoinRate, Rate{30, time.Minute, 30} }},
		{"rate off", nil, map[string]string{"COLACHAT_IP_RATE": "off"}, func(c Config) (any, any) { return c.IPRate.Unlimited(), true }},
		{"ticket key", []string{"--ticket-key", "00112233445566778899aabbccddeeff"}, nil, func(c Config) (any, any) { return len(c.TicketKey), 16 }},
		{"log level", []string{"--log-level", "debug"}, nil, func(c Config) (any, any) { return c.LogLevel, slog.LevelDebug }},
		{"compat", nil, map[string]string{"COLACHAT_IDENTITY": "compat"}, func(c Config) (any, any) { return c.Identity, "compat" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("serve", tt.args, env(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

func TestParseErrorsNameTheSetting(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad duration flag", []string{"--room-ttl", "soon"}, nil, "room-ttl"},
		{"bad duration env", nil, map[string]string{"COLACHAT_LEAVE_GRACE": "x"}, "COLACHAT_LEAVE_GRACE"},
		{"bad rate", []string{"--message-rate", "10"}, nil, "message-rate"},
		{"bad rate burst", []string{"--ip-rate", "10/s:x"}, nil, "ip-rate"},
		{"bad rate unit", []string{"--ip-rate", "10/fortnight"}, nil, "ip-rate"},
		{"bad cidr", []string{"--rate-limit-exempt", "10.0.0.0/99"}, nil, "rate-limit-exempt"},
		{"bad ip", nil, map[string]string{"COLACHAT_RATE_LIMIT_EXEMPT": "nope"}, "COLACHAT_RATE_LIMIT_EXEMPT"},
		{"bad hex", []string{"--ticket-key", "zz"}, nil, "ticket-key"},
		{"bad level", []string{"--log-level", "loud"}, nil, "log-level"},
		{"unknown flag", []string{"--colour", "red"}, nil, "colour"},
		{"stray argument", []string{"extra"}, nil, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("serve", tt.args, env(tt.env), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line naming %q", err, tt.want)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	var help bytes.Buffer
	_, err := Parse("serve", []string{"-h"}, env(nil), &help)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("got %v, want ErrHelp", err)
	}
	for _, want := range []string{"-addr", "-database-url", "COLACHAT_ROOM_TTL", "-ticket-key"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, help.String())
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		setting string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"addr with host", func(c *Config) { c.Addr = "127.0.0.1:0" }, ""},
		{"addr without port", func(c *Config) { c.Addr = "localhost" }, "addr"},
		{"sqlite absolute", func(c *Config) { c.DatabaseURL = "sqlite:///var/lib/colachat/chat.db" }, ""},
		{"sqlite empty path", func(c *Config) { c.DatabaseURL = "sqlite://" }, "database-url"},
		{"postgres", func(c *Config) { c.DatabaseURL = "postgres://u:p@localhost/chat" }, ""},
		{"redis", func(c *Config) { c.RedisURL = "redis://localhost:6379/0" }, ""},
		{"mysql", func(c *Config) { c.DatabaseURL = "mysql://localhost/chat" }, "database-url"},
		{"redis url without redis scheme", func(c *Config) { c.RedisURL = "http://localhost:6379" }, "redis-url"},
		{"rediss", func(c *Config) { c.RedisURL = "rediss://user:pw@redis.internal:6380/1" }, ""},
		{"redis without host", func(c *Config) { c.RedisURL = "redis://" }, "redis-url"},
		{"redis cluster", func(c *Config) { c.RedisURL = "redis-cluster://10.0.0.1:7000,10.0.0.2:7000,[::1]:7001" }, ""},
		{"redis cluster one seed", func(c *Config) { c.RedisURL = "redis-cluster://redis-0.redis:6379/" }, ""},
		{"redis cluster with password", func(c *Config) { c.RedisURL = "redis-cluster://app:s3cret@10.0.0.1:7000,10.0.0.2:7000" }, ""},
		{"redis cluster seed without port", func(c *Config) { c.RedisURL = "redis-cluster://10.0.0.1:7000,10.0.0.2" }, "redis-url"},
		{"redis cluster empty seed", func(c *Config) { c.RedisURL = "redis-cluster://10.0.0.1:7000,,10.0.0.2:7000" }, "redis-url"},
		{"redis cluster no seeds", func(c *Config) { c.RedisURL = "redis-cluster://" }, "redis-url"},
		{"redis cluster bad port", func(c *Config) { c.RedisURL = "redis-cluster://10.0.0.1:70000" }, "redis-url"},
		{"redis cluster with database", func(c *Config) { c.RedisURL = "redis-cluster://10.0.0.1:7000/2" }, "redis-url"},
		{"debug addr without port", func(c *Config) { c.DebugAddr = "localhost" }, "debug-addr"},
		{"origin ok", func(c *Config) { c.CORSOrigins = []string{"http://localhost:3000", "https://chat.example"} }, ""},
		{"origin with path", func(c *Config) { c.CORSOrigins = []string{"http://localhost:3000/app"} }, "cors-origins"},
		{"origin without scheme", func(c *Config) { c.CORSOrigins = []string{"localhost:3000"} }, "cors-origins"},
		{"identity", func(c *Config) { c.Identity = "loose" }, "identity"},
		{"locale", func(c *Config) { c.Locale = "fr" }, "locale"},
		{"room ttl zero", func(c *Config) { c.RoomTTL = 0 }, "room-ttl"},
		{"commit interval negative", func(c *Config) { c.CommitInterval = -time.Millisecond }, "commit-interval"},
		{"max capacity 1001", func(c *Config) { c.MaxCapacity = 1001 }, "max-capacity"},
		{"leave grace negative", func(c *Config) { c.LeaveGrace = -time.Second }, "leave-grace"},
		{"leave grace zero", func(c *Config) { c.LeaveGrace = 0 }, "leave-grace"},
		{"leave grace short", func(c *Config) { c.LeaveGrace = 100 * time.Millisecond }, ""},
		{"leave grace huge", func(c *Config) { c.LeaveGrace = time.Hour }, "leave-grace"},
		{"retention negative", func(c *Config) { c.Retention = -1 }, "retention"},
		{"retention zero", func(c *Config) { c.Retention = 0 }, "retention"},
		{"recovery off", func(c *Config) { c.RecoveryWindow = 0 }, ""},
		{"recovery negative", func(c *Config) { c.RecoveryWindow = -1 }, "recovery-window"},
		{"rate without burst", func(c *Config) { c.JoinRate = Rate{Events: 1, Per: time.Second} }, "join-rate"},
		{"rate off", func(c *Config) { c.IPRate = Rate{} }, ""},
		{"short ticket key", func(c *Config) { c.TicketKey = []byte("short") }, "ticket-key"},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, "log-format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			if tt.setting == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Setting != tt.setting {
				t.Fatalf("got %v, want an error naming %q", err, tt.setting)
			}
			if msg := err.Error(); !strings.Contains(msg, "--"+tt.setting) || !strings.Contains(msg, EnvName(tt.setting)) || strings.Contains(msg, "\n") {
				t.Fatalf("got %q, want one line naming --%s and %s", msg, tt.setting, EnvName(tt.setting))
			}
		})
	}
}

func TestDatabase(t *testing.T) {
	tests := []struct {
		url, kind, target string
	}{
		{"sqlite://colachat.db", DatabaseSQLite, "colachat.db"},
		{"sqlite://data/chat.db", DatabaseSQLite, "data/chat.db"},
		{"sqlite:///abs/path.db", DatabaseSQLite, "/abs/path.db"},
		{"postgres://u@h/db", DatabasePostgres, "postgres://u@h/db"},
		{"postgresql://u@h/db", DatabasePostgres, "postgresql://u@h/db"},
	}
	for _, tt := range tests {
		c := Config{DatabaseURL: tt.url}
		kind, target, err := c.Database()
		if err != nil || kind != tt.kind || target != tt.target {
			t.Errorf("%s: got (%q, %q, %v), want (%q, %q, nil)", tt.url, kind, target, err, tt.kind, tt.target)
		}
	}
}

func TestRateString(t *testing.T) {
	for _, s := range []string{"10/s:20", "30/m:30", "1/h:5", "3/10s:3", "off"} {
		r, err := ParseRate(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got := r.String(); got != s {
			t.Errorf("got %q, want %q", got, s)
		}
	}
	if got, want := (Rate{Events: 10, Per: time.Second, Burst: 20}).Window(), 2*time.Second; got != want {
		t.Errorf("got window %v, want %v", got, want)
	}
	if got, want := (Rate{Events: 30, Per: time.Minute, Burst: 1}).PerSecond(), 0.5; got != want {
		t.Errorf("got %v tokens/s, want %v", got, want)
	}
}

func TestLoggerFormat(t *testing.T) {
	tests := []struct {
		format   string
		terminal bool
		wantJSON bool
	}{
		{LogAuto, false, true}, {LogAuto, true, false}, {LogJSON, true, true}, {LogText, false, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		c := Default()
		c.LogFormat = tt.format
		c.Logger(&buf, tt.terminal).Info("hello")
		if gotJSON := strings.HasPrefix(buf.String(), "{"); gotJSON != tt.wantJSON {
			t.Errorf("%s terminal=%v: got %q, want JSON=%v", tt.format, tt.terminal, buf.String(), tt.wantJSON)
		}
	}
}
