// Package sqlite is the embedded chat.Store: one SQLite file in WAL mode, written through a
// single connection and read through a small pool. Message appends are group-committed: a
// committer goroutine writes whatever appends are pending in one transaction and answers each
// caller only after COMMIT.
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

// ErrClosed is returned by AppendMessage once Close has begun.
var ErrClosed = errors.New("store closed")

// Store implements chat.Store on a SQLite file.
type Store struct {
	path   string
	writer *sql.DB // one connection: SQLite has a single writer
	reader *sql.DB // a pool of query-only connections
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
}

func defaultOptions() options {
	return options{maxBatch: 256, maxBatchWait: time.Millisecond, readConns: 4, busyTimeout: 5 * time.Second}
}

// WithBatch sets how many appends one transaction holds at most and how long the committer
// waits for more once it has one. A wait of zero commits whatever is pending at once.
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

// WithReadConns sets the size of the read connection pool.
func WithReadConns(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.readConns = n
		}
	}
}

// WithBusyTimeout sets how long a connection waits for a lock held by another process.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.busyTimeout = d
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

	// synchronous=FULL: WAL with NORMAL survives a killed process but may lose the last
	// commits on power loss, and an acked message must never be lost.
	writer, err := sql.Open("sqlite", dsn(path, o, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	s := &Store{path: path, writer: writer}
	// The writer connection creates the file and switches it to WAL before any reader opens.
	if err := s.Migrate(ctx); err != nil {
		writer.Close()
		return nil, err
	}

	reader, err := sql.Open("sqlite", dsn(path, o, true))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	reader.SetMaxOpenConns(o.readConns)
	reader.SetMaxIdleConns(o.readConns)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close()
		writer.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	s.reader = reader
	s.commit = startCommitter(writer, o.maxBatch, o.maxBatchWait)
	return s, nil
}

func dsn(path string, o options, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(o.busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		// Take the write lock at BEGIN, so a read-then-write transaction cannot fail halfway
		// on a lock upgrade when another process shares the file.
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// Path is the database file the store was opened on.
func (s *Store) Path() string { return s.path }

// Ping checks that both the writer and a reader answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping reader: %w", err)
	}
	return nil
}

// Close commits every append already accepted, stops the committer and closes the
// connections. Appends that arrive once Close has begun fail with ErrClosed. Calling Close
// again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.commit.stop()
		errR := s.reader.Close()
		errW := s.writer.Close()
		if err := errors.Join(errR, errW); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// Stats counts the work of the committer since Open.
type Stats struct {
	Batches  int64 // transactions committed by the committer
	Messages int64 // messages those transactions stored
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
