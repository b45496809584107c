package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// lineWriter hands each write to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

func TestRunServesBothEndpoints(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(lineWriter, 4)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, out, io.Discard) }()

	var line string
	select {
	case line = <-out:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	url := regexp.MustCompile(`http://[\d.:]+`).FindString(line)
	if url == "" {
		t.Fatalf("got %q, want the listening address", line)
	}
	for _, path := range []string{"/engine.io/", "/socket.io/"} {
		res, err := http.Get(url + path + "?EIO=4&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `0{"sid":`) {
			t.Fatalf("%s: got %d %q, want an open packet", path, res.StatusCode, body)
		}
		if !strings.Contains(string(body), `"pingInterval":300,"pingTimeout":200`) {
			t.Errorf("%s: got %q, want pingInterval 300 and pingTimeout 200", path, body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	if err := run(context.Background(), []string{"-nope"}, io.Discard, io.Discard); err == nil {
		t.Fatal("got nil error for an unknown flag")
	}
}
