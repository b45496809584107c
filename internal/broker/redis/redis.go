// Package redis carries colachat's events and presence between the nodes of a cluster, on
// one Redis 7 or on a Redis Cluster: a chat.Broker on sharded pub/sub with a channel per
// room, and a chat.Presence whose keys are all in their room's hash slot.
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"colachat/internal/chat"
)

// Options configures a Cluster.
type Options struct {
	// URL is redis://[user:password@]host:port/db (rediss:// for TLS) for one Redis, or
	// redis-cluster://[user:password@]host1:port1,host2:port2,... (seed nodes) for a
	// Redis Cluster.
	URL     string
	NodeID  string        // unique per node; names this node's presence entries
	Prefix  string        // key and channel prefix, default "colachat:"
	NodeTTL time.Duration // how long a node's entries outlive its last heartbeat, default 5s
	Logger  *slog.Logger
}

// Cluster is one node's link to Redis: it owns the client, the subscriptions and the
// heartbeat, and hands out the Broker and the Presence built on them.
type Cluster struct {
	rdb      goredis.UniversalClient
	cluster  *goredis.ClusterClient // nil on a single Redis
	opts     Options
	log      *slog.Logger
	presence *Presence
	broker   *Broker

	healthy atomic.Bool // last heartbeat reached Redis
	gone    atomic.Pointer[func(roomID, chatterID string)]
	// Owned by the heartbeat:
	servers   map[string]string // Redis server address → its run_id at the last heartbeat
	restoring bool              // this node's entries must be written again
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

// Open connects, registers this node, and starts the heartbeat.
func Open(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Prefix == "" {
		opts.Prefix = "colachat:"
	}
	if opts.NodeTTL <= 0 {
		opts.NodeTTL = 5 * time.Second
	}
	if opts.NodeID == "" {
		return nil, errors.New("redis: a node id is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	t, err := parseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, log: opts.Logger}
	subs := &subscriptions{log: c.log, name: clientName(opts.NodeID)}
	if t.cluster != nil {
		c.cluster = goredis.NewClusterClient(t.cluster)
		c.rdb = c.cluster
		subs.route = func(ctx context.Context, channel string) (string, error) {
			node, err := c.cluster.MasterForKey(ctx, channel)
			if err != nil {
				return "", err
			}
			return node.Options().Addr, nil
		}
		subs.reload = c.reloadSlots
		subs.dial = dialer(t.cluster.DialTimeout, t.cluster.TLSConfig)
		subs.auth = authCommand(t.cluster.Username, t.cluster.Password)
	} else {
		c.rdb = goredis.NewClient(t.single)
		addr := t.single.Addr
		subs.route = func(context.Context, string) (string, error) { return addr, nil }
		subs.dial = dialer(t.single.DialTimeout, t.single.TLSConfig)
		subs.auth = authCommand(t.single.Username, t.single.Password)
	}
	c.presence = newPresence(c.rdb, opts.Prefix, opts.NodeID, opts.NodeTTL)
	c.broker = &Broker{rdb: c.rdb, prefix: opts.Prefix, log: c.log, fns: map[int]func(chat.Event){}}
	subs.deliver = c.broker.receive
	if c.cluster != nil {
		c.broker.reload = c.reloadSlots
	}
	c.broker.subs = newSubscriptions(subs)

	if err := c.beat(ctx); err != nil {
		c.broker.subs.close()
		c.rdb.Close()
		return nil, err
	}
	c.healthy.Store(true)
	loopCtx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.wg.Go(func() { c.heartbeat(loopCtx) })
	return c, nil
}

// target is a parsed Redis URL: one of single and cluster is set.
type target struct {
	single  *goredis.Options
	cluster *goredis.ClusterOptions
}

const clusterScheme = "redis-cluster://"

func parseURL(raw string) (target, error) {
	if !strings.HasPrefix(raw, clusterScheme) {
		o, err := goredis.ParseURL(raw)
		if err != nil {
			return target{}, fmt.Errorf("redis: parse url: %w", err)
		}
		return target{single: o}, nil
	}
	rest := strings.TrimSuffix(strings.TrimPrefix(raw, clusterScheme), "/")
	o := &goredis.ClusterOptions{}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		u, err := url.Parse("redis://" + rest[:at] + "@seed")
		if err != nil {
			return target{}, fmt.Errorf("redis: parse url: %w", err)
		}
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
		if _, set := u.User.Password(); !set { // redis-cluster://password@... as redis:// reads it
			o.Username, o.Password = "", u.User.Username()
		}
		rest = rest[at+1:]
	}
	if strings.ContainsAny(rest, "/?#") {
		return target{}, fmt.Errorf("redis: %s takes seed nodes only, no database, path or options", clusterScheme)
	}
	for _, seed := range strings.Split(rest, ",") {
		host, port, err := net.SplitHostPort(seed)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n <= 0 || n > 65535 {
			return target{}, fmt.Errorf("redis: seed %q of %s is not host:port", seed, clusterScheme)
		}
		o.Addrs = append(o.Addrs, seed)
	}
	return target{cluster: o}, nil
}

// dialer connects to a Redis node as go-redis would (TLS when configured); the sharded
// subscriptions speak the protocol themselves.
func dialer(timeout time.Duration, tlsConfig *tls.Config) func(ctx context.Context, addr string) (net.Conn, error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	dial := goredis.NewDialer(&goredis.Options{DialTimeout: timeout, TLSConfig: tlsConfig})
	return func(ctx context.Context, addr string) (net.Conn, error) { return dial(ctx, "tcp", addr) }
}

// clientName names this node's subscription connections in CLIENT LIST.
func clientName(node string) string {
	return "colachat-events-" + strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f {
			return r
		}
		return '_'
	}, node)
}

func authCommand(user, password string) []string {
	switch {
	case password == "":
		return nil
	case user == "":
		return []string{"AUTH", password}
	}
	return []string{"AUTH", user, password}
}

// reloadSlots has a Redis Cluster's slot map read again, in the background. go-redis
// does so by itself on MOVED and once a minute, not when a master stops answering; after
// a failover, the errors that follow (a publish, a heartbeat) call this.
func (c *Cluster) reloadSlots() { c.cluster.ReloadState(context.Background()) }

// Broker is the cluster-wide chat.Broker.
func (c *Cluster) Broker() *Broker { return c.broker }

// OnGone sets what to call for a chatter whose every socket was on a node that died; the
// live node that notices calls it once (set it before serving).
func (c *Cluster) OnGone(fn func(roomID, chatterID string)) { c.gone.Store(&fn) }

// Presence is the cluster-wide chat.Presence.
func (c *Cluster) Presence() *Presence { return c.presence }

// OnResubscribed sets what to call when hosted rooms were subscribed again after their
// subscription was lost (a lost connection, a Redis restart or failover, a moved slot):
// their events published meanwhile never came, so the rooms should be checked against the
// store (chat.Service.Resync). Calls are coalesced; fn runs in a goroutine of the broker.
func (c *Cluster) OnResubscribed(fn func()) { c.broker.subs.resubscribed.Store(&fn) }

// Ping reports whether Redis answers: on a Redis Cluster, every master (for /readyz).
func (c *Cluster) Ping(ctx context.Context) error {
	var err error
	if c.cluster != nil {
		err = c.cluster.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
			if err := m.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("%s: %w", m.Options().Addr, err)
			}
			return nil
		})
	} else {
		err = c.rdb.Ping(ctx).Err()
	}
	if err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close stops the heartbeat and the subscriptions, marks this node's run dead (a live node
// reaps whatever entries it left at once) and closes the client.
func (c *Cluster) Close() error {
	c.stop()
	c.wg.Wait()
	c.broker.subs.close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// Best effort: without it the run is seen dead once its heartbeat is NodeTTL old.
	c.presence.retire(ctx)
	return c.rdb.Close()
}

// beat records the heartbeat and reads the registry. When Redis lost this node's data
// (its record is gone, or a Redis server answers with a new run_id: it restarted), this
// node's presence entries are written again; its subscriptions come back by themselves
// with the new connections.
func (c *Cluster) beat(ctx context.Context) error {
	stale, lost, err := c.presence.beat(ctx)
	if err != nil {
		return err
	}
	servers, restarted := c.serversRestarted(ctx)
	if lost || restarted {
		c.restoring = true
	}
	if c.restoring {
		// Until it succeeds, every heartbeat tries again.
		if err := c.presence.restore(ctx); err != nil {
			return err
		}
		c.restoring = false
	}
	if servers != nil {
		c.servers = servers
	}
	if len(stale) > 0 {
		gone := func(string, string) {}
		if fn := c.gone.Load(); fn != nil {
			gone = *fn
		}
		if err := c.presence.reap(ctx, stale, gone); err != nil {
			c.log.Warn("reap dead nodes", "err", err)
		}
	}
	return nil
}

// serversRestarted reads every Redis server's run_id and reports whether one differs from
// the last heartbeat's (a server restarted, or a new one took over slots). servers is nil
// when a server could not be asked.
func (c *Cluster) serversRestarted(ctx context.Context) (servers map[string]string, restarted bool) {
	now := map[string]string{}
	var mu sync.Mutex
	read := func(ctx context.Context, r *goredis.Client) error {
		info, err := r.Info(ctx, "server").Result()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(info, "\n") {
			if id, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
				mu.Lock()
				now[r.Options().Addr] = id
				mu.Unlock()
			}
		}
		return nil
	}
	var err error
	if c.cluster != nil {
		err = c.cluster.ForEachMaster(ctx, read)
	} else {
		err = read(ctx, c.rdb.(*goredis.Client))
	}
	if err != nil {
		return nil, false
	}
	if c.servers != nil {
		for addr, id := range now {
			if c.servers[addr] != id {
				restarted = true
			}
		}
	}
	return now, restarted
}

// heartbeat beats several times per TTL, logging once when Redis goes away and once when
// it is back.
func (c *Cluster) heartbeat(ctx context.Context) {
	t := time.NewTicker(c.opts.NodeTTL / 5)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, c.opts.NodeTTL)
		err := c.beat(bctx)
		cancel()
		if err != nil && c.cluster != nil {
			c.reloadSlots()
		}
		switch {
		case err != nil && c.healthy.Swap(false):
			c.log.Error("redis unreachable; serving local members only until it returns", "err", err)
		case err == nil && !c.healthy.Swap(true):
			c.log.Info("redis reachable again")
		}
	}
}

func (c *Cluster) sessionKey(pid string) string { return c.opts.Prefix + "session:" + pid }

// PutSession keeps a disconnected socket's recovery session for ttl, for any node to take.
func (c *Cluster) PutSession(ctx context.Context, pid string, data []byte, ttl time.Duration) error {
	if err := c.rdb.Set(ctx, c.sessionKey(pid), data, ttl).Err(); err != nil {
		return fmt.Errorf("redis: put session: %w", err)
	}
	return nil
}

// TakeSession returns and deletes a session in one step, so only one node recovers it.
func (c *Cluster) TakeSession(ctx context.Context, pid string) ([]byte, bool, error) {
	data, err := c.rdb.GetDel(ctx, c.sessionKey(pid)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: take session: %w", err)
	}
	return data, true, nil
}
