package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestHotQueriesUseIndexes checks SQLite's plan for the queries that run per message, per
// join or per history page: none may scan a whole table.
func TestHotQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name  string
		query string
		args  []any
	}{
		{"page", pageQuery, []any{"r", 0, 20, 0}},
		{"before", beforeQuery, []any{"r", 0, 100, 20}},
		{"after", afterQuery, []any{"r", 0, 0, 20}},
		{"by seq", seqQuery, []any{"r", 0, 0, 20}},
		{"last seq", lastSeqQuery, []any{"r"}},
		{"append", insertMessageQuery, []any{"MESSAGE", "x", 0, "r", "c", nil, nil, nil}},
		{"first message", firstMessageQuery, []any{"r", "c"}},
		{"expired rooms", expiredRoomsQuery, []any{0}},
		{"purge", purgeQuery, []any{0}},
		{"active rooms", activeRoomsQuery, []any{"c"}},
		{"leave", leaveQuery, []any{0, "r", "c"}},
		{"room", roomQuery, []any{"r"}},
		{"chatter", chatterQuery, []any{"c"}},
		{"chatters", chattersQuery, []any{`["a","b"]`}},
		{"room chatters", roomChattersQuery, []any{"r"}},
		{"member exists", memberExistsQuery, []any{"r", "c"}},
		{"join", joinQuery, []any{"r", "c", 0, nil}},
		{"rename", renameQuery, []any{"n", "c"}},
		{"set active", setActiveQuery, []any{1, "c"}},
		{"mark expired", markExpiredQuery, []any{"r"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := s.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			t.Logf("plan: %q", plan)
			if len(plan) == 0 && !strings.HasPrefix(tc.query, "INSERT") {
				t.Fatalf("no plan for %q", tc.query)
			}
			for _, step := range plan {
				// A constant row is a SELECT without FROM; a json_each scan walks the
				// parameter, not a table.
				if step == "SCAN CONSTANT ROW" || strings.HasPrefix(step, "SCAN json_each") {
					continue
				}
				if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "INDEX") {
					t.Errorf("plan step %q scans a table; whole plan: %q", step, plan)
				}
			}
		})
	}
}
