package redis

import (
	"net"
	"slices"
	"strings"
	"testing"

	"colachat/internal/config"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url            string
		addrs          []string // cluster seeds; nil for one Redis
		user, password string
		bad            bool
	}{
		{url: "redis://127.0.0.1:6379/0"},
		{url: "redis-cluster://127.0.0.1:7101,127.0.0.1:7102", addrs: []string{"127.0.0.1:7101", "127.0.0.1:7102"}},
		{url: "redis-cluster://redis-0.redis:6379/", addrs: []string{"redis-0.redis:6379"}},
		{url: "redis-cluster://app:pw%40x@[::1]:7000", addrs: []string{"[::1]:7000"}, user: "app", password: "pw@x"},
		{url: "redis-cluster://s3cret@h:7000", addrs: []string{"h:7000"}, password: "s3cret"},
		{url: "redis-cluster://h:7000,h2", bad: true},
		{url: "redis-cluster://h:7000/1", bad: true},
		{url: "redis-cluster://", bad: true},
		{url: "redis-cluster://h:0", bad: true},
		{url: "mysql://h:1", bad: true},
	}
	for _, tt := range tests {
		got, err := parseURL(tt.url)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: got %+v, want an error", tt.url, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		if tt.addrs == nil {
			if got.single == nil {
				t.Errorf("%s: want one Redis", tt.url)
			}
			continue
		}
		if got.cluster == nil || !slices.Equal(got.cluster.Addrs, tt.addrs) ||
			got.cluster.Username != tt.user || got.cluster.Password != tt.password {
			t.Errorf("%s: got %+v, want seeds %v, user %q, password %q", tt.url, got.cluster, tt.addrs, tt.user, tt.password)
		}
	}
}

// FuzzParseClusterURL: the Redis Cluster URL parser never panics, accepts exactly what
// configuration validation accepts (so a node that starts can connect), and returns seeds
// that are host:port.
func FuzzParseClusterURL(f *testing.F) {
	for _, seed := range []string{"h:1", "a:1,b:2", "u:p@h:1", "p@h:1/", "h", "h:1/0", ",", "[::1]:6379", "u@:1", "h:99999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		raw := clusterScheme + rest
		got, err := parseURL(raw)
		c := config.Default()
		c.RedisURL = raw
		if verr := c.Validate(); (err == nil) != (verr == nil) {
			t.Fatalf("%q: parse error %v, but validation says %v", raw, err, verr)
		}
		if err != nil {
			return
		}
		for _, a := range got.cluster.Addrs {
			if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" || strings.Contains(a, ",") {
				t.Fatalf("%q: seed %q is not host:port", raw, a)
			}
		}
	})
}
