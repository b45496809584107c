// Package postgres is the PostgreSQL implementation of chat.Store, for deployments where
// several colachat nodes share one database.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"colachat/internal/chat"
	"colachat/internal/store/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is a chat.Store on a pgx connection pool. Message appends are group-committed.
type Store struct {
	pool      *pgxpool.Pool
	committer *committer
}

var _ chat.Store = (*Store)(nil)

// Open connects to the database at url (postgres://...), applies pending migrations and
// starts the group committer.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fail("parse url", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fail("connect", err)
	}
	s := &Store{pool: pool}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, oneLine{err}
	}
	s.committer = newCommitter(pool)
	return s, nil
}

// oneLine keeps a driver error on one line (pgx lists each address it tried on its own
// line), so start-up failures read as one clear line.
type oneLine struct{ err error }

func (e oneLine) Error() string {
	return strings.Join(strings.Fields(strings.ReplaceAll(e.err.Error(), "\n", "; ")), " ")
}

func (e oneLine) Unwrap() error { return e.err }

// Migrate applies, in order and each in its own transaction, the embedded migrations the
// database has not seen yet. An advisory lock keeps nodes starting together from racing.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations.Load(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fail("migrate", err)
	}
	defer conn.Release()
	const lockKey = 0x636f6c61 // "cola"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fail("migrate lock", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey) //nolint:errcheck // released with the session anyway
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fail("create schema_migrations", err)
	}
	for _, m := range ms {
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var applied bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.Version).Scan(&applied); err != nil || applied {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", m.Version)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// Close flushes pending appends, then closes the pool.
func (s *Store) Close() error {
	s.committer.close()
	s.pool.Close()
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fail("ping", err)
	}
	return nil
}

// ms truncates to the millisecond precision the contract's timestamps carry.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func msPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ms(*t)
	return &v
}

func notFound(err error, what string) error { return fail(what, err) }

const roomColumns = "id, title, namespace, password_hash, capacity, created_at, expires_at, is_password, is_expired"

func scanRoom(row pgx.Row) (chat.Room, error) {
	var r chat.Room
	err := row.Scan(&r.ID, &r.Title, &r.Namespace, &r.PasswordHash, &r.Capacity, &r.CreatedAt, &r.ExpiresAt, &r.IsPassword, &r.IsExpired)
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return r, err
}

func (s *Store) CreateRoom(ctx context.Context, r chat.Room) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO rooms ("+roomColumns+") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
		r.ID, r.Title, r.Namespace, r.PasswordHash, r.Capacity, ms(r.CreatedAt), ms(r.ExpiresAt), r.IsPassword, r.IsExpired)
	if err != nil {
		return fail("create room", err)
	}
	return nil
}

func (s *Store) Room(ctx context.Context, id string) (chat.Room, error) {
	r, err := scanRoom(s.pool.QueryRow(ctx, "SELECT "+roomColumns+" FROM rooms WHERE id = $1", id))
	if err != nil {
		return chat.Room{}, notFound(err, "room "+id)
	}
	return r, nil
}

func (s *Store) Rooms(ctx context.Context) ([]chat.Room, error) {
	return s.queryRooms(ctx, "SELECT "+roomColumns+" FROM rooms ORDER BY created_at DESC, id")
}

func (s *Store) ExpiredRooms(ctx context.Context, now time.Time) ([]chat.Room, error) {
	return s.queryRooms(ctx, "SELECT "+roomColumns+" FROM rooms WHERE expires_at <= $1 AND NOT is_expired ORDER BY expires_at", ms(now))
}

func (s *Store) queryRooms(ctx context.Context, sql string, args ...any) ([]chat.Room, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fail("list rooms", err)
	}
	rooms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Room, error) { return scanRoom(row) })
	if err != nil {
		return nil, fail("list rooms", err)
	}
	return rooms, nil
}

// ClaimRoomExpiry marks the room expired only if no node has yet, so exactly one node of a
// cluster announces each expiry.
func (s *Store) ClaimRoomExpiry(ctx context.Context, id string) (bool, error) {
	var claimed bool
	err := s.pool.QueryRow(ctx, `WITH claim AS (UPDATE rooms SET is_expired = TRUE WHERE id = $1 AND NOT is_expired RETURNING id)
		SELECT EXISTS (SELECT 1 FROM claim) FROM rooms WHERE id = $1`, id).Scan(&claimed)
	if err != nil {
		return false, fail("claim expiry of room "+id, err)
	}
	return claimed, nil
}

func (s *Store) PurgeRooms(ctx context.Context, cutoff time.Time) (int, error) {
	// Memberships and messages go with their room (ON DELETE CASCADE).
	tag, err := s.pool.Exec(ctx, "DELETE FROM rooms WHERE expires_at <= $1", ms(cutoff))
	if err != nil {
		return 0, fail("purge rooms", err)
	}
	return int(tag.RowsAffected()), nil
}

const chatterColumns = "id, nickname, token_hash, created_at, deleted_at, is_active"

func scanChatter(row pgx.Row) (chat.Chatter, error) {
	var c chat.Chatter
	err := row.Scan(&c.ID, &c.Nickname, &c.TokenHash, &c.CreatedAt, &c.DeletedAt, &c.IsActive)
	c.CreatedAt = c.CreatedAt.UTC()
	if c.DeletedAt != nil {
		d := c.DeletedAt.UTC()
		c.DeletedAt = &d
	}
	return c, err
}

func (s *Store) CreateChatter(ctx context.Context, c chat.Chatter) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO chatters ("+chatterColumns+") VALUES ($1,$2,$3,$4,$5,$6)",
		c.ID, c.Nickname, c.TokenHash, ms(c.CreatedAt), msPtr(c.DeletedAt), c.IsActive)
	if err != nil {
		return fail("create chatter", err)
	}
	return nil
}

func (s *Store) Chatter(ctx context.Context, id string) (chat.Chatter, error) {
	c, err := scanChatter(s.pool.QueryRow(ctx, "SELECT "+chatterColumns+" FROM chatters WHERE id = $1", id))
	if err != nil {
		return chat.Chatter{}, notFound(err, "chatter "+id)
	}
	return c, nil
}

func (s *Store) Chatters(ctx context.Context, ids []string) ([]chat.Chatter, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+chatterColumns+" FROM chatters WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, fail("chatters", err)
	}
	found, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Chatter, error) { return scanChatter(row) })
	if err != nil {
		return nil, fail("chatters", err)
	}
	// Keep the caller's order, as online lists are ordered by the caller.
	byID := make(map[string]chat.Chatter, len(found))
	for _, c := range found {
		byID[c.ID] = c
	}
	out := make([]chat.Chatter, 0, len(found))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *Store) RenameChatter(ctx context.Context, id, nickname string) (chat.Chatter, error) {
	c, err := scanChatter(s.pool.QueryRow(ctx, "UPDATE chatters SET nickname = $2 WHERE id = $1 RETURNING "+chatterColumns, id, nickname))
	if err != nil {
		return chat.Chatter{}, notFound(err, "rename chatter "+id)
	}
	return c, nil
}

func (s *Store) SetChatterActive(ctx context.Context, id string, active bool) error {
	tag, err := s.pool.Exec(ctx, "UPDATE chatters SET is_active = $2 WHERE id = $1", id, active)
	if err != nil {
		return fail("set chatter active", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: set chatter %s active: %w", id, chat.ErrNotFound)
	}
	return nil
}

const roomChatterColumns = "id, room_id, chatter_id, joined_at, left_at, is_active"

func scanRoomChatter(row pgx.Row) (chat.RoomChatter, error) {
	var rc chat.RoomChatter
	err := row.Scan(&rc.ID, &rc.RoomID, &rc.ChatterID, &rc.JoinedAt, &rc.LeftAt, &rc.IsActive)
	rc.JoinedAt = rc.JoinedAt.UTC()
	if rc.LeftAt != nil {
		l := rc.LeftAt.UTC()
		rc.LeftAt = &l
	}
	return rc, err
}

// joinSQL records or reactivates a membership; xmax = 0 tells a fresh insert from an
// update of an existing row.
const joinSQL = `INSERT INTO room_chatters (room_id, chatter_id, joined_at, is_active)
	VALUES ($1, $2, $3, TRUE)
	ON CONFLICT (room_id, chatter_id) DO UPDATE SET is_active = TRUE, left_at = NULL, joined_at = EXCLUDED.joined_at
	RETURNING ` + roomChatterColumns + `, (xmax = 0)`

// insertMessageSQL stores a message at its room's next position. The room's counter is
// taken first, in the same transaction: its row lock makes the room's writers wait for one
// another until commit, so a room's positions have no gap and follow its ids. A transaction
// that appends to several rooms takes their counters in room order (see committer.write),
// so two such transactions cannot deadlock.
const insertMessageSQL = `WITH next AS (UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $4 RETURNING last_seq)
	INSERT INTO messages (type, content, sent_at, room_id, chatter_id, alert, seq)
	SELECT $1, $2, $3, $4, $5, $6, next.last_seq FROM next
	RETURNING id, seq`

// RecordJoin writes a whole join in one transaction: the new chatter (or its reactivation),
// the membership and the join alert.
func (s *Store) RecordJoin(ctx context.Context, j chat.JoinRecord) (chat.RoomChatter, bool, *chat.Message, error) {
	var (
		rc       chat.RoomChatter
		inserted bool
		alert    *chat.Message
	)
	if j.Alert != nil {
		m := *j.Alert
		m.SentAt = ms(m.SentAt)
		alert = &m
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if c := j.NewChatter; c != nil {
			if _, err := tx.Exec(ctx, "INSERT INTO chatters ("+chatterColumns+") VALUES ($1,$2,$3,$4,$5,$6)",
				c.ID, c.Nickname, c.TokenHash, ms(c.CreatedAt), msPtr(c.DeletedAt), c.IsActive); err != nil {
				return fmt.Errorf("create chatter: %w", err)
			}
		} else if j.Reactivate {
			tag, err := tx.Exec(ctx, "UPDATE chatters SET is_active = TRUE WHERE id = $1", j.ChatterID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("chatter %s: %w", j.ChatterID, chat.ErrNotFound)
			}
		}
		err := tx.QueryRow(ctx, joinSQL, j.RoomID, j.ChatterID, ms(j.At)).
			Scan(&rc.ID, &rc.RoomID, &rc.ChatterID, &rc.JoinedAt, &rc.LeftAt, &rc.IsActive, &inserted)
		if err != nil || alert == nil {
			return err
		}
		var alertJSON []byte
		if alert.Alert != nil {
			if alertJSON, err = json.Marshal(alert.Alert); err != nil {
				return err
			}
		}
		err = tx.QueryRow(ctx, insertMessageSQL, string(alert.Type), alert.Content, alert.SentAt,
			alert.RoomID, alert.ChatterID, alertJSON).Scan(&alert.ID, &alert.Seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("room %s: %w", alert.RoomID, chat.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return chat.RoomChatter{}, false, nil, fail("record join", err)
	}
	rc.JoinedAt = rc.JoinedAt.UTC()
	return rc, inserted, alert, nil
}

func (s *Store) LeaveRoom(ctx context.Context, roomID, chatterID string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, "UPDATE room_chatters SET is_active = FALSE, left_at = $3 WHERE room_id = $1 AND chatter_id = $2",
		roomID, chatterID, ms(at))
	if err != nil {
		return fail("leave room", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: leave room %s: %w", roomID, chat.ErrNotFound)
	}
	return nil
}

func (s *Store) RoomChatters(ctx context.Context, roomID string) ([]chat.RoomChatter, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+roomChatterColumns+" FROM room_chatters WHERE room_id = $1 ORDER BY id", roomID)
	if err != nil {
		return nil, fail("room chatters", err)
	}
	rcs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.RoomChatter, error) { return scanRoomChatter(row) })
	if err != nil {
		return nil, fail("room chatters", err)
	}
	return rcs, nil
}

func (s *Store) ActiveRooms(ctx context.Context, chatterID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, "SELECT room_id FROM room_chatters WHERE chatter_id = $1 AND is_active ORDER BY id", chatterID)
	if err != nil {
		return nil, fail("active rooms", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fail("active rooms", err)
	}
	return ids, nil
}

// AppendMessage returns once the message is committed, in a transaction it may share with
// other concurrent appends.
func (s *Store) AppendMessage(ctx context.Context, m chat.Message) (chat.Message, error) {
	m.SentAt = ms(m.SentAt)
	pos, err := s.committer.append(ctx, m)
	if err != nil {
		return chat.Message{}, err
	}
	m.ID, m.Seq = pos.id, pos.seq
	return m, nil
}

// LastSeq is the Seq of the room's latest message, 0 when it has none.
func (s *Store) LastSeq(ctx context.Context, roomID string) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, "SELECT last_seq FROM rooms WHERE id = $1", roomID).Scan(&seq); err != nil {
		return 0, notFound(err, "last seq of "+roomID)
	}
	return seq, nil
}

func (s *Store) FirstMessageID(ctx context.Context, roomID, chatterID string) (int64, error) {
	var id *int64
	err := s.pool.QueryRow(ctx, "SELECT min(id) FROM messages WHERE room_id = $1 AND chatter_id = $2", roomID, chatterID).Scan(&id)
	if err != nil {
		return 0, fail("first message", err)
	}
	if id == nil {
		return 0, fmt.Errorf("postgres: first message of %s in %s: %w", chatterID, roomID, chat.ErrNotFound)
	}
	return *id, nil
}

const messageSelect = `SELECT m.id, m.seq, m.type, m.content, m.sent_at, m.room_id, m.chatter_id, m.alert,
	c.id, c.nickname, c.token_hash, c.created_at, c.deleted_at, c.is_active
	FROM messages m LEFT JOIN chatters c ON c.id = m.chatter_id`

func (s *Store) Messages(ctx context.Context, q chat.MessageQuery) ([]chat.Message, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	var sql string
	args := []any{q.RoomID, q.MinID, limit}
	newestFirst := true
	switch {
	case q.Page >= 1:
		sql = messageSelect + " WHERE m.room_id = $1 AND m.id >= $2 ORDER BY m.id DESC LIMIT $3 OFFSET $4"
		args = append(args, (q.Page-1)*limit)
	case q.Before > 0:
		sql = messageSelect + " WHERE m.room_id = $1 AND m.id >= $2 AND m.id < $4 ORDER BY m.id DESC LIMIT $3"
		args = append(args, q.Before)
	case q.BySeq:
		sql = messageSelect + " WHERE m.room_id = $1 AND m.id >= $2 AND m.seq > $4 ORDER BY m.seq ASC LIMIT $3"
		args = append(args, q.AfterSeq)
		newestFirst = false
	default:
		sql = messageSelect + " WHERE m.room_id = $1 AND m.id >= $2 AND m.id > $4 ORDER BY m.id ASC LIMIT $3"
		args = append(args, q.After)
		newestFirst = false
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fail("messages", err)
	}
	msgs, err := pgx.CollectRows(rows, scanMessage)
	if err != nil {
		return nil, fail("messages", err)
	}
	if newestFirst {
		for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
			msgs[i], msgs[j] = msgs[j], msgs[i]
		}
	}
	return msgs, nil
}

func scanMessage(row pgx.CollectableRow) (chat.Message, error) {
	var m chat.Message
	var alert []byte
	var cID, cNick *string
	var cToken []byte
	var cCreated *time.Time
	var cActive *bool
	var cDeleted *time.Time
	if err := row.Scan(&m.ID, &m.Seq, &m.Type, &m.Content, &m.SentAt, &m.RoomID, &m.ChatterID, &alert,
		&cID, &cNick, &cToken, &cCreated, &cDeleted, &cActive); err != nil {
		return m, err
	}
	m.SentAt = m.SentAt.UTC()
	m.Chatter.ID = m.ChatterID
	if cID != nil {
		m.Chatter = chat.Chatter{ID: *cID, Nickname: *cNick, TokenHash: cToken, CreatedAt: cCreated.UTC(), IsActive: *cActive}
		if cDeleted != nil {
			d := cDeleted.UTC()
			m.Chatter.DeletedAt = &d
		}
	}
	if alert != nil {
		m.Alert = new(chat.Alert)
		if err := json.Unmarshal(alert, m.Alert); err != nil {
			return m, fmt.Errorf("alert of message %d: %w", m.ID, err)
		}
	}
	return m, nil
}
