package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		code     int
		stdout   string // substring
		errNames string // substring of the error
	}{
		{"version", []string{"version"}, nil, 0, "colachat ", ""},
		{"help", []string{"help"}, nil, 0, "Commands:", ""},
		{"serve help", []string{"serve", "-h"}, nil, 0, "-database-url", ""},
		{"flags without command help", []string{"--help"}, nil, 0, "-addr", ""},
		{"unknown command", []string{"frobnicate"}, nil, 2, "", "frobnicate"},
		{"bad flag value", []string{"--leave-grace", "soon"}, nil, 2, "", "leave-grace"},
		{"bad env value", nil, map[string]string{"COLACHAT_LOCALE": "fr"}, 2, "", "COLACHAT_LOCALE"},
		{"invalid setting", []string{"serve", "--identity", "loose"}, nil, 2, "", "--identity"},
		{"unknown database scheme", []string{"--database-url", "mysql://localhost/chat"}, nil, 2, "", "--database-url"},
		{"unreachable postgres", []string{"migrate", "--database-url", "postgres://postgres@127.0.0.1:1/chat?connect_timeout=2"}, nil, 1, "", "database"},
		{"migrate", []string{"migrate", "--database-url", "sqlite://" + filepath.Join(dir, "m.db")}, nil, 0, "", ""},
		{"migrate unwritable", []string{"migrate", "--database-url", "sqlite:///proc/colachat/m.db"}, nil, 1, "", "database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, envOf(tt.env), &stdout, &stderr)
			if got := code(err); got != tt.code {
				t.Fatalf("got exit code %d (%v), want %d", got, err, tt.code)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Fatalf("got stdout %q, want it to contain %q", stdout.String(), tt.stdout)
			}
			if tt.errNames != "" && (err == nil || !strings.Contains(err.Error(), tt.errNames) || strings.Contains(err.Error(), "\n")) {
				t.Fatalf("got error %v, want one line naming %q", err, tt.errNames)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "m.db")); err != nil {
		t.Fatalf("migrate made no database: %v", err)
	}
}

func TestServeUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		err := run(ctx, nil, envOf(map[string]string{
			"COLACHAT_ADDR":         "127.0.0.1:0",
			"COLACHAT_DATABASE_URL": "sqlite://" + filepath.Join(dir, "chat.db"),
			"COLACHAT_LOG_FORMAT":   "json",
		}), pw, &stderr)
		pw.Close()
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("start line: %v (run: %v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimPrefix(strings.TrimSpace(line), "colachat listening on ")
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != 200 {
		t.Fatalf("got healthz %d, want 200", resp.StatusCode)
	}
	cancel()
	if err := <-done; code(err) != 0 {
		t.Fatalf("got %v after cancel, want a clean stop", err)
	}
	if !strings.Contains(stderr.String(), `"msg":"colachat listening"`) {
		t.Fatalf("got logs %q, want a JSON start line", stderr.String())
	}
}
