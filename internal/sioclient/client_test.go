package sioclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testCtx bounds a test against a hung server; it is not a timed assertion.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialStub(t *testing.T, s *stubServer, opts Options) *Client {
	t.Helper()
	opts.URL = s.srv.URL
	c, err := Dial(testCtx(t), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestEmitWithAckAndEvents(t *testing.T) {
	s := newStubServer(t)
	c := dialStub(t, s, Options{
		Namespace: "anonymous",
		Query:     url.Values{"room": {"r1"}},
		Auth:      map[string]string{"token": "ok"},
	})
	if got, want := c.SID(), "sock1"; got != want {
		t.Errorf("SID: got %q, want %q", got, want)
	}
	if got, want := c.PID(), "p1"; got != want {
		t.Errorf("PID: got %q, want %q", got, want)
	}
	echoed := make(chan Args, 1)
	c.On("echoed", func(a Args) { echoed <- a })

	payload := map[string]any{"roomId": "abc", "content": "héllo \"q\" \\ 한국어"}
	ack, err := c.EmitWithAck(testCtx(t), "echo", payload, 42, json.RawMessage(`{"raw":true}`), nil)
	if err != nil {
		t.Fatalf("EmitWithAck: %v", err)
	}
	wantArgs := []string{`{"content":"héllo \"q\" \\ 한국어","roomId":"abc"}`, `42`, `{"raw":true}`, `null`}
	if got := rawStrings(ack); !reflect.DeepEqual(got, wantArgs) {
		t.Errorf("ack args: got %q, want %q", got, wantArgs)
	}
	var back map[string]any
	if err := ack.Decode(0, &back); err != nil || !reflect.DeepEqual(back, payload) {
		t.Errorf("Decode(0): got %v, %v; want %v", back, err, payload)
	}
	select {
	case got := <-echoed:
		if !reflect.DeepEqual(rawStrings(got), wantArgs) {
			t.Errorf("echoed args: got %q, want %q", rawStrings(got), wantArgs)
		}
	case <-testCtx(t).Done():
		t.Fatal("no echoed event")
	}

	queries, auths, pongs, _ := s.snapshot()
	q, _ := url.ParseQuery(queries[0])
	for k, want := range map[string]string{"EIO": "4", "transport": "websocket", "room": "r1"} {
		if got := q.Get(k); got != want {
			t.Errorf("handshake query %s: got %q, want %q", k, got, want)
		}
	}
	if want := []string{`{"token":"ok"}`}; !reflect.DeepEqual(auths, want) {
		t.Errorf("CONNECT auth: got %q, want %q", auths, want)
	}
	if pongs != 1 {
		t.Errorf("pongs: got %d, want 1", pongs)
	}
}

func TestConnectRefused(t *testing.T) {
	s := newStubServer(t)
	_, err := Dial(testCtx(t), Options{URL: s.srv.URL, Namespace: "/x", Auth: map[string]string{"token": "bad"}})
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("Dial: got %v, want a *ConnectError", err)
	}
	if ce.Message != "not authorized" || string(ce.Data) != `{"code":7}` {
		t.Errorf("ConnectError: got %q %s, want %q %s", ce.Message, ce.Data, "not authorized", `{"code":7}`)
	}
}

func TestAnswersServerAckRequests(t *testing.T) {
	s := newStubServer(t)
	questions := make(chan string, 1)
	c := dialStub(t, s, Options{OnEvent: func(event string, args Args) { questions <- event + string(args[0]) }})
	if err := c.Emit("ask"); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	if got, want := <-questions, "question1"; got != want {
		t.Errorf("event: got %q, want %q", got, want)
	}
	// The client acks after its handler returns, on its reader goroutine: wait for the stub
	// to have seen it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, _, acked := s.snapshot()
		if reflect.DeepEqual(acked, []string{"7[]"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("client acks: got %q, want %q", acked, []string{"7[]"})
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServerDisconnectFailsPendingAcks(t *testing.T) {
	s := newStubServer(t)
	closed := make(chan error, 1)
	c := dialStub(t, s, Options{OnClose: func(err error) { closed <- err }})
	pending := make(chan error, 1)
	if err := c.EmitAck("unanswered", func(_ Args, err error) { pending <- err }); err != nil {
		t.Fatalf("EmitAck: %v", err)
	}
	if err := c.Emit("kick"); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	<-c.Done()
	if err := <-pending; !errors.Is(err, ErrClosed) || !errors.Is(err, errServerDisconnect) {
		t.Errorf("pending ack: got %v, want ErrClosed caused by the server's disconnect", err)
	}
	if err := c.Err(); !errors.Is(err, errServerDisconnect) {
		t.Errorf("Err: got %v, want errServerDisconnect", err)
	}
	if err := <-closed; !errors.Is(err, errServerDisconnect) {
		t.Errorf("OnClose: got %v, want errServerDisconnect", err)
	}
	if err := c.EmitAck("late", func(Args, error) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("EmitAck after disconnect: got %v, want ErrClosed", err)
	}
}

func TestCloseFailsPendingAcks(t *testing.T) {
	s := newStubServer(t)
	c := dialStub(t, s, Options{})
	pending := make(chan error, 1)
	if err := c.EmitAck("unanswered", func(_ Args, err error) { pending <- err }); err != nil {
		t.Fatalf("EmitAck: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-pending; !errors.Is(err, ErrClosed) {
		t.Errorf("pending ack: got %v, want ErrClosed", err)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err after Close: got %v, want nil", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if err := c.Emit("x"); err == nil {
		t.Error("Emit after Close: got nil, want an error")
	}
}

func TestEmitWithAckGivesUpWithContext(t *testing.T) {
	s := newStubServer(t)
	c := dialStub(t, s, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.EmitWithAck(ctx, "unanswered"); !errors.Is(err, context.Canceled) {
		t.Errorf("EmitWithAck: got %v, want context.Canceled", err)
	}
	c.mu.Lock()
	pending := len(c.acks)
	c.mu.Unlock()
	if pending != 0 {
		t.Errorf("pending acks after giving up: got %d, want 0", pending)
	}
}

func TestDialNoServer(t *testing.T) {
	s := newStubServer(t)
	_, err := Dial(testCtx(t), Options{URL: s.srv.URL, Path: "/nothing/"})
	if err == nil || !strings.Contains(err.Error(), "dial") {
		t.Errorf("Dial to a 404 path: got %v, want a dial error", err)
	}
}

func rawStrings(a Args) []string {
	out := make([]string, len(a))
	for i, r := range a {
		out[i] = string(r)
	}
	return out
}

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		in      string
		want    packet
		wantErr bool
	}{
		{in: `2["a",1]`, want: packet{typ: '2', ackID: noAck, data: []byte(`["a",1]`)}},
		{in: `2/chat,["a"]`, want: packet{typ: '2', nsp: []byte("/chat"), ackID: noAck, data: []byte(`["a"]`)}},
		{in: `3/chat,12[{"ok":1}]`, want: packet{typ: '3', nsp: []byte("/chat"), ackID: 12, data: []byte(`[{"ok":1}]`)}},
		{in: `0{"sid":"x"}`, want: packet{typ: '0', ackID: noAck, data: []byte(`{"sid":"x"}`)}},
		{in: `1/chat,`, want: packet{typ: '1', nsp: []byte("/chat"), ackID: noAck, data: []byte{}}},
		{in: `0/chat`, want: packet{typ: '0', nsp: []byte("/chat"), ackID: noAck, data: []byte{}}},
		{in: `51-["a",{"_placeholder":true,"num":0}]`, wantErr: true},
		{in: `9`, wantErr: true},
		{in: ``, wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodePacket([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("decodePacket(%q): got error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if got.typ != tt.want.typ || got.namespace() != tt.want.namespace() || got.ackID != tt.want.ackID || string(got.data) != string(tt.want.data) {
			t.Errorf("decodePacket(%q): got %c %q %d %q, want %c %q %d %q", tt.in,
				got.typ, got.namespace(), got.ackID, got.data, tt.want.typ, tt.want.namespace(), tt.want.ackID, tt.want.data)
		}
	}
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: `[]`, want: []string{}},
		{in: ` [ "a" , 1 ,true,null, -2.5e3 ] `, want: []string{`"a"`, `1`, `true`, `null`, `-2.5e3`}},
		{in: `["e",{"a":[1,{"b":"]}"}],"c":"\"\\"}]`, want: []string{`"e"`, `{"a":[1,{"b":"]}"}],"c":"\"\\"}`}},
		{in: `["x\"]"]`, want: []string{`"x\"]"`}},
		{in: `{"a":1}`, wantErr: true},
		{in: `["a"`, wantErr: true},
		{in: `["a" "b"]`, wantErr: true},
		{in: `[,]`, wantErr: true},
		{in: `["abc]`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := splitArray([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("splitArray(%q): got error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if gs := rawStrings(got); !reflect.DeepEqual(gs, tt.want) {
			t.Errorf("splitArray(%q): got %q, want %q", tt.in, gs, tt.want)
		}
	}
}

func TestEncodeEvent(t *testing.T) {
	tests := []struct {
		nsp   string
		ack   int64
		event string
		args  []any
		want  string
	}{
		{"/", noAck, "hi", nil, `42["hi"]`},
		{"/anonymous", 3, "joinRoom", []any{map[string]any{"roomId": "r", "chatterId": nil}}, `42/anonymous,3["joinRoom",{"chatterId":null,"roomId":"r"}]`},
		{"/", 0, "ünï", []any{"a\"b", json.RawMessage(`[1]`)}, `420["ünï","a\"b",[1]]`},
	}
	for _, tt := range tests {
		got, err := appendEventData(appendPacketHead(nil, packetEvent, tt.nsp, tt.ack), tt.event, tt.args)
		if err != nil || string(got) != tt.want {
			t.Errorf("encode %s %q: got %s, %v; want %s", tt.nsp, tt.event, got, err, tt.want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		opts    Options
		wantURL string
		wantNsp string
	}{
		{Options{URL: "http://127.0.0.1:8080"}, "ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket", "/"},
		{Options{URL: "https://h/anonymous"}, "wss://h/socket.io/?EIO=4&transport=websocket", "/anonymous"},
		{Options{URL: "ws://h", Namespace: "chat", Path: "/rt/", Query: url.Values{"room": {"r1"}}}, "ws://h/rt/?EIO=4&room=r1&transport=websocket", "/chat"},
	}
	for _, tt := range tests {
		gotURL, gotNsp, err := endpoint(tt.opts)
		if err != nil || gotURL != tt.wantURL || gotNsp != tt.wantNsp {
			t.Errorf("endpoint(%+v): got %q %q %v, want %q %q", tt.opts, gotURL, gotNsp, err, tt.wantURL, tt.wantNsp)
		}
	}
	if _, _, err := endpoint(Options{URL: "ftp://h"}); err == nil {
		t.Error("endpoint(ftp): got nil error, want one")
	}
}
