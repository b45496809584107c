package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"colachat/internal/chat"
)

// Presence is the cluster-wide chat.Presence. Every key of a room is in the room's hash
// slot ("<prefix>{<roomId>}:..."), so each operation is one script on one slot, which a
// Redis Cluster runs like a single Redis:
//
//	{room}:presence         hash connID → "run|chatter|joinedMillis"
//	{room}:left:<chatter>   a leave mark, expiring after the grace
//
// Liveness lives apart, in the node registry ("<prefix>nodes", a sorted set of runs by last
// heartbeat, Redis's clock). A run is one start of a node: the node id and a random
// suffix, so a node restarted under the same id does not own its previous run's entries.
// Each heartbeat reads the registry, and the scripts are given the runs known dead: their
// entries are skipped (and deleted by the reaper). A run missing from the registry is
// alive: a node that has just started registers before it writes, but may not be in
// another node's view yet.
//
//	nodes                   sorted set run → last heartbeat (ms); a reaped run is kept,
//	                        as −(reap time), for deadRetention
//	node-rooms:<run>        set of the rooms where the run has entries, for the reaper
type Presence struct {
	rdb    goredis.UniversalClient
	prefix string
	node   string
	ttl    time.Duration

	mu    sync.Mutex
	run   string                // this run's name in the registry
	dead  []string              // runs known dead at the last heartbeat
	local map[string]localEntry // this node's entries, by localKey: written again when Redis lost them
	rooms map[string]int        // this node's entries per room

	// stripes serialize this node's writes to a room (an entry, and the room's membership
	// in node-rooms) with each other and with restore.
	stripes [64]sync.Mutex
}

type localEntry struct {
	roomID, chatterID, connID string
	joined                    int64
}

// deadRetention is how long a reaped run stays known dead. Its entries are deleted when it
// is reaped; the record only covers an entry written by a run that was declared dead while
// it still lived, until that run notices and writes its entries again under a new name.
const deadRetention = 24 * time.Hour

var _ chat.Presence = (*Presence)(nil)

func newPresence(rdb goredis.UniversalClient, prefix, node string, ttl time.Duration) *Presence {
	p := &Presence{rdb: rdb, prefix: prefix, node: node, ttl: ttl,
		local: map[string]localEntry{}, rooms: map[string]int{}}
	p.run = newRun(node)
	return p
}

// newRun names a start of node: its id and a random suffix.
func newRun(node string) string {
	suffix := make([]byte, 4)
	rand.Read(suffix)
	return node + "." + hex.EncodeToString(suffix)
}

func (p *Presence) roomKey(roomID string) string { return p.prefix + "{" + roomID + "}:presence" }
func (p *Presence) leftKey(roomID, chatterID string) string {
	return p.prefix + "{" + roomID + "}:left:" + chatterID
}
func (p *Presence) nodesKey() string           { return p.prefix + "nodes" }
func (p *Presence) roomsKey(run string) string { return p.prefix + "node-rooms:" + run }

func localKey(roomID, connID string) string { return roomID + "\x00" + connID }

func (p *Presence) stripe(roomID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(roomID))
	return &p.stripes[h.Sum32()%uint32(len(p.stripes))]
}

// view returns this run's name and the runs known dead.
func (p *Presence) view() (run string, dead []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run, p.dead
}

// withDead appends the dead runs to a script's arguments.
func withDead(dead []string, args ...any) []any {
	for _, d := range dead {
		args = append(args, d)
	}
	return args
}

var errNoRoomID = errors.New("redis presence: empty room id")

// The scripts' arguments end with the runs known dead, from argument deadFrom on.
const deadSet = `
local dead = {}
for i = deadFrom, #ARGV do dead[ARGV[i]] = true end
`

// liveEntries leaves in `live` the room's entries ({chatter, joinedMillis}) whose run is
// not known dead. Entries of dead runs are skipped, not deleted: the reaper deletes them
// and reports the chatters that left with them.
const liveEntries = deadSet + `
local live = {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local run, chatter, joined = string.match(entries[i+1], '^([^|]*)|([^|]*)|(%d+)$')
  if run ~= nil and not dead[run] then
    live[#live+1] = {chatter, joined}
  end
end
`

// tryAddScript: KEYS = room; ARGV = connID, value, chatterID, capacity, dead runs...
var tryAddScript = goredis.NewScript(`local deadFrom = 5` + liveEntries + `
local seen, count = {}, 0
for _, e in ipairs(live) do
  if e[1] == ARGV[3] then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    return 1
  end
  if not seen[e[1]] then seen[e[1]] = true; count = count + 1 end
end
local cap = tonumber(ARGV[4])
if cap > 0 and count >= cap then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// removeScript: KEYS = room; ARGV = connID, chatterID, dead runs... Returns 1 when the
// chatter still has a live connection in the room.
var removeScript = goredis.NewScript(`local deadFrom = 3
redis.call('HDEL', KEYS[1], ARGV[1])
` + liveEntries + `
for _, e in ipairs(live) do
  if e[1] == ARGV[2] then return 1 end
end
return 0
`)

// onlineScript: KEYS = room; ARGV = dead runs... Returns chatter, joinedMillis, ...
var onlineScript = goredis.NewScript(`local deadFrom = 1` + liveEntries + `
local out = {}
for _, e in ipairs(live) do
  out[#out+1] = e[1]
  out[#out+1] = e[2]
end
return out
`)

// reapScript: KEYS = room; ARGV = dead runs... Deletes the entries of dead runs (and any
// malformed one) and returns the chatters that had one and have no live entry left.
var reapScript = goredis.NewScript(`local deadFrom = 1` + deadSet + `
local gone, live = {}, {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local run, chatter = string.match(entries[i+1], '^([^|]*)|([^|]*)|')
  if run == nil or dead[run] then
    redis.call('HDEL', KEYS[1], entries[i])
    if chatter ~= nil then gone[chatter] = true end
  else
    live[chatter] = true
  end
end
local out = {}
for chatter in pairs(gone) do
  if not live[chatter] then out[#out+1] = chatter end
end
return out
`)

func (p *Presence) TryAdd(ctx context.Context, roomID, chatterID, connID string, capacity int) (bool, error) {
	if roomID == "" {
		return false, errNoRoomID
	}
	st := p.stripe(roomID)
	st.Lock()
	defer st.Unlock()
	key := localKey(roomID, connID)
	p.mu.Lock()
	run, dead := p.run, p.dead
	first := p.rooms[roomID] == 0
	prev, again := p.local[key]
	p.mu.Unlock()

	// The room joins node-rooms before the entry exists, so a reaper always finds it.
	if first {
		if err := p.rdb.SAdd(ctx, p.roomsKey(run), roomID).Err(); err != nil {
			return false, fmt.Errorf("redis presence: add: %w", err)
		}
	}
	joined := time.Now().UnixMilli()
	if again {
		joined = prev.joined
	}
	value := run + "|" + chatterID + "|" + strconv.FormatInt(joined, 10)
	n, err := tryAddScript.Run(ctx, p.rdb, []string{p.roomKey(roomID)},
		withDead(dead, connID, value, chatterID, capacity)...).Int()
	if err != nil || n == 0 {
		if first {
			p.rdb.SRem(ctx, p.roomsKey(run), roomID) // best effort: a stale member only costs the reaper a look
		}
		if err != nil {
			return false, fmt.Errorf("redis presence: add: %w", err)
		}
		return false, nil
	}
	p.mu.Lock()
	if !again {
		p.rooms[roomID]++
	}
	p.local[key] = localEntry{roomID: roomID, chatterID: chatterID, connID: connID, joined: joined}
	p.mu.Unlock()
	return true, nil
}

func (p *Presence) Remove(ctx context.Context, roomID, chatterID, connID string) (bool, error) {
	if roomID == "" {
		return false, errNoRoomID
	}
	st := p.stripe(roomID)
	st.Lock()
	defer st.Unlock()
	key := localKey(roomID, connID)
	p.mu.Lock()
	run, dead := p.run, p.dead
	_, had := p.local[key]
	last := false
	if had {
		delete(p.local, key)
		if p.rooms[roomID]--; p.rooms[roomID] <= 0 {
			delete(p.rooms, roomID)
			last = true
		}
	}
	p.mu.Unlock()
	n, err := removeScript.Run(ctx, p.rdb, []string{p.roomKey(roomID)}, withDead(dead, connID, chatterID)...).Int()
	if err != nil {
		return false, fmt.Errorf("redis presence: remove: %w", err)
	}
	if last {
		p.rdb.SRem(ctx, p.roomsKey(run), roomID) // best effort, as in TryAdd
	}
	return n == 1, nil
}

func (p *Presence) Online(ctx context.Context, roomID string) ([]string, error) {
	if roomID == "" {
		return nil, errNoRoomID
	}
	_, dead := p.view()
	flat, err := onlineScript.Run(ctx, p.rdb, []string{p.roomKey(roomID)}, withDead(dead)...).StringSlice()
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
	run, _ := p.view()
	if err := p.rdb.Set(ctx, p.leftKey(roomID, chatterID), run, grace).Err(); err != nil {
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

// beatScript: KEYS = nodes; ARGV = run, ttl ms, dead retention ms. Records the run's
// heartbeat at Redis's time (unless the run was reaped), forgets runs reaped more than the
// retention ago, and returns: status (1 alive, 0 not registered: a first beat or lost data,
// -1 reaped while it lived), Redis's time in ms, then run, score, ... for every run.
var beatScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], string.format('(%d', -(now - tonumber(ARGV[3]))), '(0')
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local status = 1
if not score then status = 0 elseif tonumber(score) < 0 then status = -1 end
if status >= 0 then redis.call('ZADD', KEYS[1], now, ARGV[1]) end
local out = {status, now}
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all do out[#out+1] = all[i] end
return out
`)

// claimScript: KEYS = nodes; ARGV = run, ttl ms. Marks a run whose heartbeat is older than
// ttl as reaped and returns 1, for exactly one caller.
var claimScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
score = tonumber(score)
if score >= 0 and score < now - tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], -now, ARGV[1])
  return 1
end
return 0
`)

// beat records this run's heartbeat and reads the registry: the runs known dead, and those
// of them still to reap. lost reports that Redis had no record of this run (its data was
// lost, or it declared this run dead while it lived: then the node takes a new run name),
// so this node's entries must be written again.
func (p *Presence) beat(ctx context.Context) (stale []string, lost bool, err error) {
	for range 2 {
		run, _ := p.view()
		res, err := beatScript.Run(ctx, p.rdb, []string{p.nodesKey()},
			run, p.ttl.Milliseconds(), deadRetention.Milliseconds()).Slice()
		if err != nil {
			return nil, false, fmt.Errorf("redis presence: heartbeat: %w", err)
		}
		if len(res) < 2 {
			return nil, false, fmt.Errorf("redis presence: heartbeat: short reply %v", res)
		}
		status, _ := res[0].(int64)
		now, _ := res[1].(int64)
		if status == -1 {
			p.mu.Lock()
			p.run = newRun(p.node)
			p.mu.Unlock()
			lost = true
			continue
		}
		cutoff := float64(now - p.ttl.Milliseconds())
		var dead []string
		for i := 2; i+1 < len(res); i += 2 {
			member, _ := res[i].(string)
			text, _ := res[i+1].(string)
			score, err := strconv.ParseFloat(text, 64)
			if err != nil || score >= cutoff {
				continue
			}
			dead = append(dead, member)
			if score >= 0 {
				stale = append(stale, member)
			}
		}
		p.mu.Lock()
		p.dead = dead
		p.mu.Unlock()
		return stale, lost || status == 0, nil
	}
	return nil, false, errors.New("redis presence: heartbeat: this node keeps being declared dead")
}

// retire marks this run dead (as an old heartbeat), so a live node reaps whatever entries
// it left at once.
func (p *Presence) retire(ctx context.Context) error {
	run, _ := p.view()
	return p.rdb.ZAdd(ctx, p.nodesKey(), goredis.Z{Score: 0, Member: run}).Err()
}

// restore writes this node's entries again, after Redis lost them (or this node got a
// new run name). Each stripe is locked while its entries are written, so an entry removed
// meanwhile is not brought back.
func (p *Presence) restore(ctx context.Context) error {
	byStripe := map[*sync.Mutex]bool{}
	p.mu.Lock()
	for _, e := range p.local {
		byStripe[p.stripe(e.roomID)] = true
	}
	p.mu.Unlock()
	for st := range byStripe {
		st.Lock()
		pipe := p.rdb.Pipeline()
		p.mu.Lock()
		run := p.run
		for _, e := range p.local {
			if p.stripe(e.roomID) != st {
				continue
			}
			pipe.SAdd(ctx, p.roomsKey(run), e.roomID)
			pipe.HSet(ctx, p.roomKey(e.roomID), e.connID, run+"|"+e.chatterID+"|"+strconv.FormatInt(e.joined, 10))
		}
		p.mu.Unlock()
		_, err := pipe.Exec(ctx)
		st.Unlock()
		if err != nil {
			return fmt.Errorf("redis presence: restore entries: %w", err)
		}
	}
	return nil
}

// reap deletes the entries of the runs whose heartbeat stopped and calls gone for every
// chatter that left with them. Each run is reaped by exactly one live node: the one whose
// claim marks it reaped.
func (p *Presence) reap(ctx context.Context, stale []string, gone func(roomID, chatterID string)) error {
	for _, run := range stale {
		won, err := claimScript.Run(ctx, p.rdb, []string{p.nodesKey()}, run, p.ttl.Milliseconds()).Int()
		if err != nil {
			return fmt.Errorf("redis presence: claim %s: %w", run, err)
		}
		if won != 1 {
			continue // another node is reaping it
		}
		if err := p.reapRun(ctx, run, gone); err != nil {
			// Let it be claimed again: its remaining rooms still need reaping.
			p.rdb.ZAdd(ctx, p.nodesKey(), goredis.Z{Score: 0, Member: run})
			return err
		}
	}
	return nil
}

func (p *Presence) reapRun(ctx context.Context, run string, gone func(roomID, chatterID string)) error {
	rooms, err := p.rdb.SMembers(ctx, p.roomsKey(run)).Result()
	if err != nil {
		return fmt.Errorf("redis presence: rooms of %s: %w", run, err)
	}
	_, dead := p.view()
	dead = append(dead[:len(dead):len(dead)], run)
	for _, roomID := range rooms {
		chatters, err := reapScript.Run(ctx, p.rdb, []string{p.roomKey(roomID)}, withDead(dead)...).StringSlice()
		if err != nil {
			return fmt.Errorf("redis presence: reap %s: %w", roomID, err)
		}
		for _, c := range chatters {
			gone(roomID, c)
		}
	}
	return p.rdb.Del(ctx, p.roomsKey(run)).Err()
}
