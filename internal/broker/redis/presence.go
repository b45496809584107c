package redis

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"colachat/internal/chat"
)

// Presence is the cluster-wide chat.Presence. Each room is a hash of connID →
// "node|chatter|joinedMillis". A node proves it is alive by refreshing a key with a short
// expiry; entries of a node whose key has expired are ghosts, dropped by the scripts the
// next time they read the room, so a dead node's sockets leave every online list and stop
// counting against capacity within NodeTTL.
//
// The scripts read node keys they are not given in KEYS: fine on a single Redis (or a
// primary with replicas), not on Redis Cluster, where rooms would need hash tags.
type Presence struct {
	rdb    goredis.UniversalClient
	prefix string
	node   string // this process's tag: the node id plus a per-start suffix

	// local mirrors this node's own entries, so they can be written again when Redis
	// comes back empty (a restart without persistence).
	mu    sync.Mutex
	local map[string]localEntry // by connID
}

type localEntry struct{ roomID, roomKey, value string }

var _ chat.Presence = (*Presence)(nil)

func (p *Presence) roomKey(roomID string) string { return p.prefix + "presence:" + roomID }
func (p *Presence) nodePrefix() string           { return p.prefix + "node:" }
func (p *Presence) nodesKey() string             { return p.prefix + "nodes" }

// roomsKey names the set of rooms where node has (or had) entries, so a dead node's rooms
// can be reaped without scanning every room.
func (p *Presence) roomsKey(node string) string { return p.prefix + "node-rooms:" + node }
func (p *Presence) leftKey(roomID, chatterID string) string {
	return p.prefix + "left:" + roomID + ":" + chatterID
}

// liveEntries is shared by the scripts: it walks a room and leaves in `live` a list of
// {chatter, joinedMillis} of the entries whose node is alive. Entries of dead nodes are
// skipped, not deleted: the reaper deletes them, and announces the chatters that left with
// them (reapScript).
const liveEntries = `
local live = {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local node, chatter, joined = string.match(entries[i+1], '^([^|]*)|([^|]*)|(%d+)$')
  if node ~= nil and redis.call('EXISTS', ARGV[1] .. node) == 1 then
    live[#live+1] = {chatter, joined, entries[i]}
  end
end
`

// reapScript: ARGV = nodePrefix, the node being reaped. Deletes a room's entries of that node
// and of any other dead node, and returns the chatters that had one and have no live entry
// left: they are gone.
var reapScript = goredis.NewScript(`
local dead, live = {}, {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local node, chatter = string.match(entries[i+1], '^([^|]*)|([^|]*)|')
  if node == nil or node == ARGV[2] or redis.call('EXISTS', ARGV[1] .. node) == 0 then
    redis.call('HDEL', KEYS[1], entries[i])
    if chatter ~= nil then dead[chatter] = true end
  else
    live[chatter] = true
  end
end
local gone = {}
for chatter in pairs(dead) do
  if not live[chatter] then gone[#gone+1] = chatter end
end
return gone
`)

// tryAddScript: KEYS = room hash, this node's room set; ARGV = nodePrefix, connID, value,
// chatterID, capacity, roomID.
var tryAddScript = goredis.NewScript(liveEntries + `
local seen, count, present = {}, 0, false
for _, e in ipairs(live) do
  if not seen[e[1]] then seen[e[1]] = true; count = count + 1 end
  if e[1] == ARGV[4] then present = true end
end
local cap = tonumber(ARGV[5])
if not present and cap > 0 and count >= cap then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[6])
return 1
`)

// removeScript: ARGV = nodePrefix, connID, chatterID. Returns 1 when the chatter still has
// a live connection in the room.
var removeScript = goredis.NewScript(`redis.call('HDEL', KEYS[1], ARGV[2])
` + liveEntries + `
for _, e in ipairs(live) do
  if e[1] == ARGV[3] then return 1 end
end
return 0
`)

// onlineScript: ARGV = nodePrefix. Returns a flat list chatter, joinedMillis, ...
var onlineScript = goredis.NewScript(liveEntries + `
local out = {}
for _, e in ipairs(live) do
  out[#out+1] = e[1]
  out[#out+1] = e[2]
end
return out
`)

func (p *Presence) TryAdd(ctx context.Context, roomID, chatterID, connID string, capacity int) (bool, error) {
	value := p.node + "|" + chatterID + "|" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	n, err := tryAddScript.Run(ctx, p.rdb, []string{p.roomKey(roomID), p.roomsKey(p.node)},
		p.nodePrefix(), connID, value, chatterID, capacity, roomID).Int()
	if err != nil {
		return false, fmt.Errorf("redis presence: add: %w", err)
	}
	if n == 1 {
		p.mu.Lock()
		p.local[connID] = localEntry{roomID, p.roomKey(roomID), value}
		p.mu.Unlock()
	}
	return n == 1, nil
}

func (p *Presence) Remove(ctx context.Context, roomID, chatterID, connID string) (bool, error) {
	p.mu.Lock()
	delete(p.local, connID)
	p.mu.Unlock()
	n, err := removeScript.Run(ctx, p.rdb, []string{p.roomKey(roomID)}, p.nodePrefix(), connID, chatterID).Int()
	if err != nil {
		return false, fmt.Errorf("redis presence: remove: %w", err)
	}
	return n == 1, nil
}

func (p *Presence) Online(ctx context.Context, roomID string) ([]string, error) {
	flat, err := onlineScript.Run(ctx, p.rdb, []string{p.roomKey(roomID)}, p.nodePrefix()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis presence: online: %w", err)
	}
	first := make(map[string]int64)
	for i := 0; i+1 < len(flat); i += 2 {
		joined, _ := strconv.ParseInt(flat[i+1], 10, 64)
		if t, ok := first[flat[i]]; !ok || joined < t {
			first[flat[i]] = joined
		}
	}
	ids := make([]string, 0, len(first))
	for id := range first {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if first[ids[i]] != first[ids[j]] {
			return first[ids[i]] < first[ids[j]]
		}
		return strings.Compare(ids[i], ids[j]) < 0
	})
	return ids, nil
}

func (p *Presence) IsOnline(ctx context.Context, roomID, chatterID string) (bool, error) {
	ids, err := p.Online(ctx, roomID)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if id == chatterID {
			return true, nil
		}
	}
	return false, nil
}

// MarkLeft records that the chatter's last socket left the room; the mark lives for grace,
// so a reload that lands on any node within it can tell (see TakeLeft).
func (p *Presence) MarkLeft(ctx context.Context, roomID, chatterID string, grace time.Duration) error {
	if err := p.rdb.Set(ctx, p.leftKey(roomID, chatterID), p.node, grace).Err(); err != nil {
		return fmt.Errorf("redis presence: mark left: %w", err)
	}
	return nil
}

// TakeLeft removes the chatter's leave mark and reports whether there was one.
func (p *Presence) TakeLeft(ctx context.Context, roomID, chatterID string) (bool, error) {
	n, err := p.rdb.Del(ctx, p.leftKey(roomID, chatterID)).Result()
	if err != nil {
		return false, fmt.Errorf("redis presence: take left: %w", err)
	}
	return n == 1, nil
}

// HasLeft reports whether the chatter is within its leave grace.
func (p *Presence) HasLeft(ctx context.Context, roomID, chatterID string) (bool, error) {
	n, err := p.rdb.Exists(ctx, p.leftKey(roomID, chatterID)).Result()
	if err != nil {
		return false, fmt.Errorf("redis presence: has left: %w", err)
	}
	return n == 1, nil
}

// restore writes this node's entries again, after Redis lost them.
func (p *Presence) restore(ctx context.Context) error {
	p.mu.Lock()
	entries := make(map[string]localEntry, len(p.local))
	for conn, e := range p.local {
		entries[conn] = e
	}
	p.mu.Unlock()
	if len(entries) == 0 {
		return nil
	}
	pipe := p.rdb.Pipeline()
	for conn, e := range entries {
		pipe.HSet(ctx, e.roomKey, conn, e.value)
		pipe.SAdd(ctx, p.roomsKey(p.node), e.roomID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis presence: restore %d entries: %w", len(entries), err)
	}
	return nil
}

// reap deletes the entries of nodes whose heartbeat stopped more than ttl ago and calls gone
// for every chatter that left with them. Each dead node is reaped by exactly one live node:
// the one whose ZREM removes it from the node list.
func (p *Presence) reap(ctx context.Context, ttl time.Duration, gone func(roomID, chatterID string)) error {
	cutoff := strconv.FormatInt(time.Now().Add(-ttl).UnixMilli(), 10)
	stale, err := p.rdb.ZRangeByScore(ctx, p.nodesKey(), &goredis.ZRangeBy{Min: "-inf", Max: cutoff}).Result()
	if err != nil {
		return fmt.Errorf("redis presence: list stale nodes: %w", err)
	}
	for _, node := range stale {
		if won, err := p.rdb.ZRem(ctx, p.nodesKey(), node).Result(); err != nil || won != 1 {
			continue // another node is reaping it
		}
		rooms, err := p.rdb.SMembers(ctx, p.roomsKey(node)).Result()
		if err != nil {
			return fmt.Errorf("redis presence: rooms of %s: %w", node, err)
		}
		for _, roomID := range rooms {
			chatters, err := reapScript.Run(ctx, p.rdb, []string{p.roomKey(roomID)}, p.nodePrefix(), node).StringSlice()
			if err != nil {
				return fmt.Errorf("redis presence: reap %s: %w", roomID, err)
			}
			for _, c := range chatters {
				gone(roomID, c)
			}
		}
		p.rdb.Del(ctx, p.roomsKey(node), p.nodePrefix()+node)
	}
	return nil
}
