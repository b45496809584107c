package app

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"colachat/internal/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// started runs Run on a free loopback port and returns its base URL and a stop function
// that returns Run's result.
func started(t *testing.T, change func(*config.Config)) (base string, stop func() error) {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "chat.db")
	if change != nil {
		change(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Run(ctx, cfg, nil, pw)
		pw.Close()
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("reading the start line: %v (Run: %v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "colachat listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		cancel()
		t.Fatalf("got start line %q, want colachat listening on http://127.0.0.1:<port>", line)
	}
	var once bool
	var result error
	stop = func() error {
		if !once {
			once = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() { stop() })
	return url, stop
}

func get(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRoutes(t *testing.T) {
	base, stop := started(t, nil)
	defer http.DefaultClient.CloseIdleConnections()

	roomID := createRoom(t, base)

	tests := []struct {
		name, method, path string
		status             int
		contentType        string
		contains           string
	}{
		{"healthz", "GET", "/healthz", 200, "application/json", `"success":true`},
		{"readyz", "GET", "/readyz", 200, "application/json", `"success":true`},
		{"list rooms", "GET", "/chat/rooms", 200, "application/json", roomID},
		{"room detail", "GET", "/chat/rooms/" + roomID, 200, "application/json", `"roomChatters":[]`},
		{"unknown api route", "GET", "/chat/rooms/a/b/c/d", 404, "application/json", `"success":false`},
		{"api wrong method", "DELETE", "/chat/rooms", 405, "application/json", `"success":false`},
		{"room page is the UI", "GET", "/chat/" + roomID, 200, "text/html", "<"},
		{"home is the UI", "GET", "/", 200, "text/html", "<"},
		{"socket.io handshake", "GET", "/socket.io/?EIO=4&transport=polling", 200, "", `"sid"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, tt.method, base+tt.path, "")
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Fatalf("got Content-Type %q, want %s", ct, tt.contentType)
			}
			if !strings.Contains(body, tt.contains) {
				t.Fatalf("got body %.200q, want it to contain %q", body, tt.contains)
			}
		})
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// TestShutdownEndsOpenLongPoll stops a node while a long-poll is held open. The poll must
// be answered with the Engine.IO close packet alone ("1": the reference server sends a
// waiting poll exactly that when it closes the session, and the client then reconnects),
// and the stop must not wait for the poll: http.Server.Shutdown would otherwise run into
// ShutdownTimeout and Serve would return its error.
func TestShutdownEndsOpenLongPoll(t *testing.T) {
	cfg := config.Default()
	cfg.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "chat.db")
	a, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	defer http.DefaultClient.CloseIdleConnections()

	_, body := get(t, "GET", base+"/socket.io/?EIO=4&transport=polling", "")
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(body, "0")), &open); err != nil || open.SID == "" {
		t.Fatalf("handshake: got %q (%v)", body, err)
	}
	type answer struct {
		status int
		body   string
		err    error
	}
	polled := make(chan answer, 1)
	go func() {
		resp, err := http.Get(base + "/socket.io/?EIO=4&transport=polling&sid=" + open.SID)
		if err != nil {
			polled <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		polled <- answer{status: resp.StatusCode, body: string(b), err: err}
	}()
	// The server has nothing to send, so the poll stays open: wait until it is held.
	deadline := time.Now().Add(10 * time.Second) // bounds a broken test only
	for a.sio.Stats().LongPolls != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the poll was never held open")
		}
		time.Sleep(time.Millisecond)
	}

	stop()
	if err := <-served; err != nil {
		t.Fatalf("Serve: got %v, want a clean stop", err)
	}
	got := <-polled
	if got.err != nil || got.status != http.StatusOK || got.body != "1" {
		t.Fatalf("poll: got %d %q (%v), want 200 with the close packet \"1\"", got.status, got.body, got.err)
	}
	if n := a.sio.Stats().LongPolls; n != 0 {
		t.Fatalf("got %d polls still held after the stop, want 0", n)
	}
}

func TestReadyzFailsWhenStoreIsClosed(t *testing.T) {
	cfg := config.Default()
	cfg.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "chat.db")
	a, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close() // the store is closed twice: only the socket server and gateway matter
	if err := a.store.Close(); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{header: http.Header{}}
	req, _ := http.NewRequest("GET", "/readyz", nil)
	a.Handler().ServeHTTP(rec, req)
	if rec.status != http.StatusServiceUnavailable || !strings.Contains(rec.body.String(), `"success":false`) {
		t.Fatalf("got %d %s, want 503 with a failure envelope", rec.status, rec.body.String())
	}
}

func TestHandshakeLimit(t *testing.T) {
	base, _ := started(t, func(c *config.Config) { c.IPRate = config.Rate{Events: 1, Per: time.Hour, Burst: 2} })
	defer http.DefaultClient.CloseIdleConnections()
	var got []int
	for range 3 {
		resp, _ := get(t, "GET", base+"/socket.io/?EIO=4&transport=polling", "")
		got = append(got, resp.StatusCode)
	}
	if want := []int{200, 200, 429}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("got %v, want %v", got, want)
	}
	// REST shares the bucket.
	resp, body := get(t, "GET", base+"/chat/rooms", "")
	if resp.StatusCode != 429 || !strings.Contains(body, "RATE_LIMITED") {
		t.Fatalf("got %d %s, want 429 RATE_LIMITED", resp.StatusCode, body)
	}
}

func TestHandshakeLimitExempt(t *testing.T) {
	base, _ := started(t, func(c *config.Config) {
		c.IPRate = config.Rate{Events: 1, Per: time.Hour, Burst: 1}
		p, _ := config.ParsePrefix("127.0.0.0/8")
		c.RateLimitExempt = append(c.RateLimitExempt, p)
	})
	defer http.DefaultClient.CloseIdleConnections()
	for i := range 3 {
		if resp, body := get(t, "GET", base+"/chat/rooms", ""); resp.StatusCode != 200 {
			t.Fatalf("request %d: got %d %s, want 200 for an exempt address", i, resp.StatusCode, body)
		}
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := config.Default()
	cfg.Locale = "fr"
	if _, err := New(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "locale") {
		t.Fatalf("got %v, want an error naming locale", err)
	}
}

func TestMigrate(t *testing.T) {
	cfg := config.Default()
	path := filepath.Join(t.TempDir(), "m.db")
	cfg.DatabaseURL = "sqlite://" + path
	if err := Migrate(context.Background(), cfg, discardLogger()); err != nil {
		t.Fatal(err)
	}
	// Migrating again is a no-op.
	if err := Migrate(context.Background(), cfg, discardLogger()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

// createRoom makes a room of 4 over REST and returns its id.
func createRoom(t *testing.T, base string) string {
	t.Helper()
	_, body := get(t, "POST", base+"/chat/rooms", `{"namespace":"anonymous","title":"콜라","capacity":4,"isPassword":false,"password":""}`)
	var created struct {
		Success bool `json:"success"`
		Data    struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || !created.Success || created.Data.ID == "" {
		t.Fatalf("create room: got %s (%v)", body, err)
	}
	return created.Data.ID
}
