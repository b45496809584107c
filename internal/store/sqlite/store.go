// Package sqlite is the embedded chat.Store: one SQLite file in WAL mode, written through a
// single connection and read through a small pool. Every write is group-committed: a
// committer goroutine, the only user of the writing connection, executes whatever writes
// are pending (messages, joins, new chatters, ...) in one transaction and answers each
// caller only after COMMIT, so a burst of writers shares one fsync.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"colachat/internal/chat"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrClosed is returned by every write once Close has begun.
var ErrClosed = errors.New("store closed")

// Store implements chat.Store on a SQLite file.
type Store struct {
	path   string
	writer *sql.DB // one connection: SQLite has a single writer
	reader *sql.DB // a pool of query-only connections
	reads  *reads
	commit *committer

	closeOnce sync.Once
	closeErr  error
}

var _ chat.Store = (*Store)(nil)

// Option changes a setting of Open.
type Option func(*options)

type options struct {
	maxBatch     int
	maxBatchWait time.Duration
	readConns    int
	busyTimeout  time.Duration
	sync         Sync
}

func defaultOptions() options {
	return options{maxBatch: 256, maxBatchWait: 5 * time.Millisecond, readConns: 4, busyTimeout: 5 * time.Second, sync: SyncFull}
}

// Sync is how hard a commit waits for the disk (SQLite's synchronous setting).
type Sync string

const (
	// SyncFull, the default, syncs the write-ahead log at every commit: an acknowledged
	// write survives a killed process, an operating system crash and a power loss.
	SyncFull Sync = "FULL"
	// SyncNormal syncs only when the log is copied into the database (a checkpoint): an
	// acknowledged write survives a killed process, but an operating system crash or a power
	// loss may undo the last commits (never corrupting the file). Commits cost far less
	// CPU and latency.
	SyncNormal Sync = "NORMAL"
)

// WithSynchronous sets how hard commits wait for the disk; see Sync.
func WithSynchronous(mode Sync) Option {
	return func(o *options) { o.sync = mode }
}

// WithBatch sets how many writes one transaction holds at most (default 256) and the least
// time between the starts of two commits while writes come faster than commits (default
// 5ms): a commit, with its fsync, costs far more CPU than a write, so a steady stream of
// writes is gathered into batches at the price of at most maxWait of latency. A lone writer
// never waits. A maxWait of zero commits whatever is pending at once.
func WithBatch(maxSize int, maxWait time.Duration) Option {
	return func(o *options) {
		if maxSize > 0 {
			o.maxBatch = maxSize
		}
		if maxWait >= 0 {
			o.maxBatchWait = maxWait
		}
	}
}

// Open opens (creating if needed) the SQLite file at path, applies pending migrations and
// starts the committer. path must name a file: the writer and the readers are separate
// connections, so an in-memory database would not be shared between them.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open: need a file path, got %q", path)
	}
	if o.sync != SyncFull && o.sync != SyncNormal {
		return nil, fmt.Errorf("sqlite: open: synchronous %q: want %q or %q", o.sync, SyncFull, SyncNormal)
	}

	writer, err := sql.Open("sqlite", dsn(path, o, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	s := &Store{path: path, writer: writer}
	if err := s.open(ctx, o); err != nil {
		return nil, errors.Join(err, s.closeAll())
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, o options) error {
	// The writer connection creates the file and switches it to WAL before any reader opens.
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: open writer: %w", err)
	}
	if err := migrate(ctx, conn); err != nil {
		conn.Close()
		return err
	}
	w, err := prepareWriteConn(ctx, conn)
	if err != nil {
		conn.Close()
		return fmt.Errorf("sqlite: open writer: %w", err)
	}
	s.commit = startCommitter(w, o.maxBatch, o.maxBatchWait)

	reader, err := sql.Open("sqlite", dsn(s.path, o, true))
	if err != nil {
		return fmt.Errorf("sqlite: open reader: %w", err)
	}
	reader.SetMaxOpenConns(o.readConns)
	reader.SetMaxIdleConns(o.readConns)
	s.reader = reader
	if s.reads, err = prepareReads(ctx, reader); err != nil {
		return fmt.Errorf("sqlite: open reader: %w", err)
	}
	return nil
}

// closeAll stops the committer, if started, and closes everything opened so far.
func (s *Store) closeAll() error {
	var errs []error
	if s.commit != nil {
		errs = append(errs, s.commit.stop())
	}
	if s.reads != nil {
		errs = append(errs, s.reads.close())
	}
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	return errors.Join(errs...)
}

func dsn(path string, o options, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(o.busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", string(o.sync))
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		// Migrations take the write lock at BEGIN, so two processes opening the same new
		// file cannot both apply one.
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// Path is the database file the store was opened on.
func (s *Store) Path() string { return s.path }

// Ping checks that both the writer (through the committer) and a reader answer.
func (s *Store) Ping(ctx context.Context) error {
	err := s.commit.do(ctx, &op{solo: true, run: func(w *writeConn) error { return w.conn.PingContext(ctx) }})
	if err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping reader: %w", err)
	}
	return nil
}

// Close commits every write already accepted, stops the committer and closes the
// connections. Writes that arrive once Close has begun fail with ErrClosed. Calling Close
// again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.closeAll(); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// Stats counts the work of the committer since Open.
type Stats struct {
	Batches  int64 // transactions committed by the committer
	Writes   int64 // writes of every kind those transactions stored
	Messages int64 // messages among them
}

// Stats returns the committer's counters.
func (s *Store) Stats() Stats { return s.commit.stats() }

// millis and fromMillis are the one place times cross into and out of the database.
func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(*t), Valid: true}
}

func fromNullMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMillis(v.Int64)
	return &t
}

// truncMillis gives t the precision and zone it has once stored.
func truncMillis(t time.Time) time.Time { return fromMillis(millis(t)) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
