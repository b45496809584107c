package ratelimit

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimiterBurstThenRefill(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rate{Burst: 3, Per: 3 * time.Second}, Options{Now: c.now})
	steps := []struct {
		advance time.Duration
		want    bool
	}{
		{0, true}, {0, true}, {0, true}, {0, false}, // burst of 3
		{time.Second, true}, {0, false}, // one token a second
		{10 * time.Second, true}, {0, true}, {0, true}, {0, false}, // refill caps at the burst
	}
	for i, s := range steps {
		c.advance(s.advance)
		if got := l.Allow("k"); got != s.want {
			t.Fatalf("step %d: got %v, want %v", i, got, s.want)
		}
	}
}

func TestLimiterKeysAreIndependent(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rate{Burst: 1, Per: time.Minute}, Options{Now: c.now})
	if !l.Allow("a") || l.Allow("a") {
		t.Fatal("got a second token for a, want only one")
	}
	if !l.Allow("b") {
		t.Fatal("got b refused, want its own bucket")
	}
}

func TestBlockedDoesNotTakeATokenButReportsEmpty(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rate{Burst: 2, Per: time.Minute}, Options{Now: c.now})
	for i := range 5 {
		if l.Blocked("k") {
			t.Fatalf("check %d: got blocked before any use", i)
		}
	}
	l.Allow("k")
	l.Allow("k")
	if !l.Blocked("k") {
		t.Fatal("got not blocked after the burst, want blocked")
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rate{Burst: 1, Per: time.Minute}, Options{MaxKeys: 10, Now: c.now})
	for i := range 100 {
		l.Allow(fmt.Sprint("k", i))
	}
	if got := l.Len(); got != 10 {
		t.Fatalf("got %d buckets, want the bound 10", got)
	}
}

func TestIdleBucketsAreEvicted(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rate{Burst: 1, Per: time.Second}, Options{Now: c.now})
	for i := range 5 {
		l.Allow(fmt.Sprint("k", i))
	}
	c.advance(time.Second) // every bucket is full again
	for range 3 {
		l.Allow("fresh")
	}
	if got := l.Len(); got != 1 {
		t.Fatalf("got %d buckets, want 1 (idle ones dropped)", got)
	}
}

func TestDisabledRateAllowsEverything(t *testing.T) {
	l := New(Rate{}, Options{})
	for range 100 {
		if !l.Allow("k") || l.Blocked("k") {
			t.Fatal("got a refusal from a disabled limiter")
		}
	}
}

func TestExempt(t *testing.T) {
	e, err := ParseExempt([]string{"10.0.0.0/8", "127.0.0.1", " ::1 ", ""})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true}, {"127.0.0.1", true}, {"127.0.0.2", false}, {"::1", true},
		{"::ffff:10.0.0.1", true}, {"192.168.0.1", false},
	}
	for _, tt := range tests {
		if got := e.Contains(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Contains(%s): got %v, want %v", tt.addr, got, tt.want)
		}
	}
	if _, err := ParseExempt([]string{"10.0.0.0/99"}); err == nil {
		t.Error("got no error for a bad CIDR")
	}
}

func TestHostAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:5000", "127.0.0.1"}, {"[::1]:80", "::1"}, {"10.0.0.1", "10.0.0.1"},
		{"[::ffff:1.2.3.4]:1", "1.2.3.4"},
	}
	for _, tt := range tests {
		got, err := HostAddr(tt.in)
		if err != nil || got.String() != tt.want {
			t.Errorf("HostAddr(%q): got %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := HostAddr("nonsense"); err == nil {
		t.Error("got no error for nonsense")
	}
}

func TestBucketBurstThenRefill(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var b Bucket
	r := Rate{Burst: 3, Per: 3 * time.Second}
	steps := []struct {
		advance time.Duration
		want    bool
	}{
		{0, true}, {0, true}, {0, true}, {0, false}, // burst of 3
		{time.Second, true}, {0, false}, // one token a second
		{10 * time.Second, true}, {0, true}, {0, true}, {0, false}, // refill caps at the burst
		{-time.Hour, false}, // a clock going back refills nothing
	}
	for i, s := range steps {
		c.advance(s.advance)
		if got := b.Allow(r, c.now()); got != s.want {
			t.Fatalf("step %d: got %v, want %v", i, got, s.want)
		}
	}
}

func TestBucketWithDisabledRateAllowsEverything(t *testing.T) {
	var b Bucket
	for i := range 100 {
		if !b.Allow(Rate{}, time.Unix(1000, 0)) {
			t.Fatalf("call %d: got refused, want allowed", i)
		}
	}
}
