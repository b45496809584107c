package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"colachat/internal/chat"
	"colachat/internal/store/storetest"
)

// testURL is the server the suite runs against; .ci/run starts it on a fresh machine.
func testURL() string {
	if u := os.Getenv("COLACHAT_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// openIsolated opens a Store in a schema of its own, dropped when the test ends, so tests
// never see each other's rows.
func openIsolated(t *testing.T) *Store {
	s, _ := openIsolatedURL(t)
	return s
}

// openIsolatedURL also returns the URL, for reopening the same schema.
func openIsolatedURL(t *testing.T) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testURL())
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("PostgreSQL not reachable at %s (run scripts/services.sh): %v", testURL(), err)
		}
		t.Fatalf("PostgreSQL not reachable at %s: %v", testURL(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "colachat_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(context.Background())
	})
	u, err := url.Parse(testURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	return s, u.String()
}

func TestStoreSuite(t *testing.T) {
	var mu sync.Mutex
	urls := map[storetest.Store]string{}
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, u := openIsolatedURL(t)
		mu.Lock()
		urls[s] = u
		mu.Unlock()
		return s
	}, storetest.WithReopen(func(t *testing.T, closed storetest.Store) storetest.Store {
		mu.Lock()
		u := urls[closed]
		mu.Unlock()
		s, err := Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}))
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := openIsolated(t)
	defer s.Close()
	for i := 0; i < 2; i++ {
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("migrate run %d: %v", i+1, err)
		}
	}
}

func TestClaimRoomExpiryOnce(t *testing.T) {
	s := openIsolated(t)
	defer s.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	if err := s.CreateRoom(ctx, chat.Room{ID: "r1", Title: "t", Namespace: "anonymous", Capacity: 4, CreatedAt: now, ExpiresAt: now}); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := s.ClaimRoomExpiry(ctx, "r1"); err != nil {
				t.Error(err)
			} else if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Fatalf("got %d claims of one expiry, want 1", got)
	}
}
