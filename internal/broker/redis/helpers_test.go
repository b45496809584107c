package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// go-redis retries a failed dial in a goroutine of its pool that sleeps a second before it
// notices the pool closed: after the tests that kill Redis servers, one may still be asleep.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// The tests run on both topologies: one Redis, and a 3-master Redis Cluster
// (scripts/redis-cluster.sh start, which scripts/services.sh runs).
var topologies = []struct {
	name, env, fallback, hint string
}{
	{"single", "COLACHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0", "run scripts/services.sh"},
	{"cluster", "COLACHAT_TEST_REDIS_CLUSTER_URL", "redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103",
		"run scripts/redis-cluster.sh start"},
}

var reachable sync.Map // url → error (nil when it answered)

// eachTopology runs fn as a subtest per topology. Outside CI, a topology whose Redis does
// not answer is skipped, saying how to start it; in CI (CI set) that is a failure.
func eachTopology(t *testing.T, fn func(t *testing.T, url string)) {
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			url := os.Getenv(tp.env)
			if url == "" {
				url = tp.fallback
			}
			requireRedis(t, url, tp.hint)
			fn(t, url)
		})
	}
}

func requireRedis(t *testing.T, url, hint string) {
	t.Helper()
	v, ok := reachable.Load(url)
	if !ok {
		rdb := rawClient(t, url)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := pingAll(ctx, rdb)
		cancel()
		rdb.Close()
		reachable.Store(url, err)
		v = err
	}
	if err, _ := v.(error); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s does not answer (%s): %v", url, hint, err)
		}
		t.Skipf("Redis at %s does not answer (%s): %v", url, hint, err)
	}
}

func pingAll(ctx context.Context, rdb goredis.UniversalClient) error {
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error { return m.Ping(ctx).Err() })
	}
	return rdb.Ping(ctx).Err()
}

// rawClient is a plain go-redis client on url, for a test to look at or change Redis.
func rawClient(t *testing.T, url string) goredis.UniversalClient {
	t.Helper()
	tg, err := parseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	if tg.cluster != nil {
		return goredis.NewClusterClient(tg.cluster)
	}
	return goredis.NewClient(tg.single)
}

// newPrefix isolates a test's keys and channels from every other test's.
func newPrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "colachat-test-" + hex.EncodeToString(b) + ":"
}

func openNode(t *testing.T, url, prefix, node string) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var log *slog.Logger
	if os.Getenv("COLACHAT_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", node)
	}
	c, err := Open(ctx, Options{URL: url, NodeID: node, Prefix: prefix, NodeTTL: time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// crash stops a node as kill -9 would: no clean-up, its heartbeat just stops.
func crash(c *Cluster) {
	c.stop()
	c.wg.Wait()
	c.broker.subs.close()
}

// eventually polls cond every 50 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a loopback port that is free, and whose cluster bus port (+10000) is too.
// Both are below 32768, out of the usual range of ephemeral ports, so no outgoing
// connection takes one between this check and the server's start.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		var b [2]byte
		rand.Read(b[:])
		port := 10000 + (int(b[0])<<8|int(b[1]))%12768
		ok := true
		for _, p := range []int{port, port + 10000} {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free port pair found")
	return 0
}

// ownRedis is a redis-server of one test, so the test can kill and restart it.
type ownRedis struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startOwnRedis(t *testing.T) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (run scripts/services.sh)")
	}
	r := &ownRedis{t: t, port: freePort(t), dir: t.TempDir()}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *ownRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start starts the server (again, empty) on its port and waits until it answers.
func (r *ownRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.port)})
	defer rdb.Close()
	eventually(r.t, 10*time.Second, func() bool { return rdb.Ping(context.Background()).Err() == nil },
		"redis-server on %d does not answer", r.port)
}

// kill ends the server as a crash does.
func (r *ownRedis) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

// ownCluster is a 3-master Redis Cluster of one test (scripts/redis-cluster.sh on free
// ports), with a replica per master when replicas is 1.
type ownCluster struct {
	t        *testing.T
	ports    []string
	dir      string
	replicas int
}

func startOwnCluster(t *testing.T) *ownCluster { return startOwnClusterWith(t, 0) }

func startOwnClusterWith(t *testing.T, replicas int) *ownCluster {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (run scripts/services.sh)", bin)
		}
	}
	c := &ownCluster{t: t, dir: filepath.Join(t.TempDir(), "cluster"), replicas: replicas}
	for range 3 * (1 + replicas) {
		c.ports = append(c.ports, strconv.Itoa(freePort(t)))
	}
	t.Cleanup(func() { c.script("stop") })
	c.script("start")
	return c
}

func (c *ownCluster) url() string {
	seeds := make([]string, len(c.ports))
	for i, p := range c.ports {
		seeds[i] = "127.0.0.1:" + p
	}
	return clusterScheme + strings.Join(seeds, ",")
}

// script runs scripts/redis-cluster.sh on this cluster's ports.
func (c *ownCluster) script(args ...string) {
	c.t.Helper()
	cmd := exec.Command("../../../scripts/redis-cluster.sh", args...)
	cmd.Env = append(os.Environ(), "REDIS_CLUSTER_PORTS="+strings.Join(c.ports, " "), "REDIS_CLUSTER_DIR="+c.dir,
		"REDIS_CLUSTER_REPLICAS="+strconv.Itoa(c.replicas))
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("redis-cluster.sh %v: %v\n%s", args, err, out)
	}
}
