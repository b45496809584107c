package sioclient

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// startNodeServer runs testdata/server.mjs on Node's own socket.io and returns its base URL.
// The test is skipped where Node or the test packages are not installed.
func startNodeServer(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	if _, err := os.Stat("../../test/node_modules/socket.io"); err != nil {
		t.Skip("socket.io not installed in test/node_modules (run make setup)")
	}
	cmd := exec.Command(node, "testdata/server.mjs")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	port, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("node server: got %q, %v; want \"listening <port>\"", line, err)
	}
	return "http://127.0.0.1:" + port
}

// TestNodeSocketIO runs against one Node server: starting Node is the slow part.
func TestNodeSocketIO(t *testing.T) {
	base := startNodeServer(t)
	t.Run("events acks pings disconnect", func(t *testing.T) { testNodeInterop(t, base) })
	t.Run("namespace auth", func(t *testing.T) { testNodeNamespaceAuth(t, base) })
}

func testNodeInterop(t *testing.T, base string) {
	ctx := testCtx(t)

	events := make(chan string, 8)
	c, err := Dial(ctx, Options{URL: base, OnEvent: func(event string, args Args) {
		events <- event + " " + strings.Join(rawStrings(args), " ")
	}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()

	big := strings.Repeat("가", 30000) // 90 KB: a frame with a 64-bit length
	ack, err := c.EmitWithAck(ctx, "echo", map[string]string{"a": "b"}, big)
	if err != nil {
		t.Fatalf("EmitWithAck: %v", err)
	}
	var gotBig string
	if len(ack) != 2 || string(ack[0]) != `{"a":"b"}` || ack.Decode(1, &gotBig) != nil || gotBig != big {
		t.Errorf("ack: got %d args starting %.40q, want {\"a\":\"b\"} and the 90 KB string", len(ack), rawStrings(ack))
	}
	if got := <-events; !strings.HasPrefix(got, `echoed {"a":"b"} "가가`) {
		t.Errorf("event: got %.40q, want echoed with the same arguments", got)
	}

	if err := c.Emit("ask"); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	if got, want := <-events, "question 1"; got != want {
		t.Errorf("event: got %q, want %q", got, want)
	}
	if got, want := <-events, "answered 0"; got != want {
		t.Errorf("after our ack: got %q, want %q", got, want)
	}

	// The server pings every 50 ms and drops a client that does not answer: keep asking until
	// it has counted our pongs.
	for {
		a, err := c.EmitWithAck(ctx, "pongs")
		if err != nil {
			t.Fatalf("pongs: %v (the server dropped us?)", err)
		}
		if string(a[0]) != "0" && string(a[0]) != "1" {
			break
		}
	}

	if err := c.Emit("kick"); err != nil {
		t.Fatalf("Emit kick: %v", err)
	}
	<-c.Done()
	if err := c.Err(); !errors.Is(err, errServerDisconnect) {
		t.Errorf("after kick: got %v, want errServerDisconnect", err)
	}
}

func testNodeNamespaceAuth(t *testing.T, base string) {
	_, err := Dial(testCtx(t), Options{URL: base + "/auth", Auth: map[string]string{"token": "bad"}})
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Message != "not authorized" || string(ce.Data) != `{"code":7}` {
		t.Fatalf("Dial with a bad token: got %v, want ConnectError \"not authorized\" {\"code\":7}", err)
	}
	c, err := Dial(testCtx(t), Options{URL: base, Namespace: "/auth", Auth: map[string]string{"token": "ok"}})
	if err != nil {
		t.Fatalf("Dial with a good token: %v", err)
	}
	defer c.Close()
	if c.SID() == "" {
		t.Error("SID: got empty, want the server's socket id")
	}
	if a, err := c.EmitWithAck(testCtx(t), "echo", 1); err != nil || string(a[0]) != "1" {
		t.Errorf("echo on /auth: got %q, %v; want [1]", rawStrings(a), err)
	}
}
