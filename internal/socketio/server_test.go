package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestConnectMainNamespace(t *testing.T) {
	s := newTestServer(t, Options{})
	connected := make(chan *Socket, 1)
	s.Of("/").OnConnection(func(so *Socket) { connected <- so })
	fc := dial(t, s)
	sid, pid := fc.connect("/", `{"token":"abc"}`)
	so := <-connected
	expect(t, "socket id", so.ID(), sid)
	expect(t, "pid without recovery", pid, "")
	h := so.Handshake()
	expect(t, "auth", string(h.Auth), `{"token":"abc"}`)
	expect(t, "query room", h.Query.Get("room"), "x")
	expect(t, "remote addr", h.RemoteAddr, "192.0.2.1:1234")
	expect(t, "recovered", so.Recovered(), false)
	expect(t, "namespace sockets", s.Of("/").Len(), 1)
}

func TestUnknownNamespace(t *testing.T) {
	s := newTestServer(t, Options{})
	fc := dial(t, s)
	fc.write("40/random")
	expect(t, "reply", fc.nextText(), `44/random,{"message":"Invalid namespace"}`)
	expect(t, "closed", fc.isClosed(), false)
	// The connection is still usable.
	fc.connect("/", "")
}

func TestDynamicNamespaces(t *testing.T) {
	s := newTestServer(t, Options{})
	var setups atomic.Int32
	s.OfMatch(regexp.MustCompile(`^/\w+$`).MatchString, func(n *Namespace) {
		setups.Add(1)
		n.On("name", func(so *Socket, _ Args, ack AckFunc) { ack(so.Namespace().Name()) })
	})
	a, b := dial(t, s), dial(t, s)
	a.connect("/anonymous", "")
	b.connect("/anonymous", "")
	a.write(`42/anonymous,1["name"]`)
	expect(t, "ack", a.nextText(), `43/anonymous,1["/anonymous"]`)
	expect(t, "setups for one name", setups.Load(), int32(1))
	b.connect("/other", "")
	expect(t, "setups for two names", setups.Load(), int32(2))
	b.write("40/not-a-word!")
	expect(t, "non-matching name", b.nextText(), `44/not-a-word!,{"message":"Invalid namespace"}`)
}

func TestMiddleware(t *testing.T) {
	s := newTestServer(t, Options{})
	n := s.Of("/guarded")
	var order []string
	n.Use(func(_ *Socket, _ json.RawMessage) error { order = append(order, "first"); return nil })
	n.Use(func(so *Socket, auth json.RawMessage) error {
		order = append(order, "second")
		var a struct{ Token string }
		_ = json.Unmarshal(auth, &a)
		switch a.Token {
		case "ok":
			so.Set("user", "alice")
			return nil
		case "plain":
			return errors.New("plain refusal")
		case "panic":
			panic("boom")
		}
		return &ConnectError{Message: "not authorized", Data: map[string]int{"code": 7}}
	})
	n.OnConnection(func(so *Socket) { _ = so.Emit("user", so.Get("user")) })

	fc := dial(t, s)
	for _, tc := range []struct{ auth, want string }{
		{`{"token":"bad"}`, `44/guarded,{"message":"not authorized","data":{"code":7}}`},
		{`{"token":"plain"}`, `44/guarded,{"message":"plain refusal"}`},
		{`{"token":"panic"}`, `44/guarded,{"message":"internal error"}`},
		{``, `44/guarded,{"message":"not authorized","data":{"code":7}}`},
	} {
		fc.write("40/guarded," + tc.auth)
		expect(t, "refusal for "+tc.auth, fc.nextText(), tc.want)
	}
	expect(t, "sockets after refusals", n.Len(), 0)
	expect(t, "middleware order", strings.Join(order[:2], ","), "first,second")
	fc.connect("/guarded", `{"token":"ok"}`)
	expect(t, "state set by middleware", fc.nextText(), `42/guarded,["user","alice"]`)
}

func TestEventsAndClientAcks(t *testing.T) {
	s := newTestServer(t, Options{})
	n := s.Of("/")
	var calls []string
	n.On("hello", func(_ *Socket, args Args, ack AckFunc) {
		var name string
		if err := args.Decode(0, &name); err != nil {
			t.Errorf("decode: %v", err)
		}
		calls = append(calls, "namespace:"+name)
		if ack != nil {
			ack("hi "+name, 42)
			ack("ignored second call")
		}
	})
	n.OnConnection(func(so *Socket) {
		so.On("hello", func(_ *Socket, args Args, _ AckFunc) {
			calls = append(calls, fmt.Sprintf("socket:%d", args.Len()))
		})
	})
	fc := dial(t, s)
	fc.connect("/", "")
	fc.write(`42["hello","bob"]`)
	fc.write(`4213["hello","ann",{"x":1}]`)
	expect(t, "ack", fc.nextText(), `4313["hi ann",42]`)
	expect(t, "nothing more", len(fc.pending()), 0)
	expect(t, "calls", strings.Join(calls, " "), "namespace:bob socket:1 namespace:ann socket:2")
	fc.write(`42["nobody-listens"]`) // ignored
	expect(t, "connection open", fc.isClosed(), false)
}

func TestServerAcks(t *testing.T) {
	s := newTestServer(t, Options{AckTimeout: time.Hour})
	sockets := make(chan *Socket, 1)
	s.Of("/").OnConnection(func(so *Socket) { sockets <- so })
	fc := dial(t, s)
	fc.connect("/", "")
	so := <-sockets

	type result struct {
		args Args
		err  error
	}
	ask := func(ctx context.Context) chan result {
		ch := make(chan result, 1)
		go func() {
			args, err := so.EmitWithAck(ctx, "question", 1, []byte{9})
			ch <- result{args, err}
		}()
		return ch
	}

	t.Run("answered", func(t *testing.T) {
		res := ask(context.Background())
		expect(t, "event", fc.nextText(), `451-0["question",1,{"_placeholder":true,"num":0}]`)
		expect(t, "attachment", string(fc.next().bin), "\x09")
		fc.write(`43999["unknown id"]`) // no one waits: ignored
		fc.write(`461-0[{"_placeholder":true,"num":0},"yes"]`)
		fc.writeBinary([]byte("bin"))
		r := <-res
		if r.err != nil {
			t.Fatalf("EmitWithAck: %v", r.err)
		}
		expect(t, "ack args", r.args.Len(), 2)
		expect(t, "binary ack arg", string(r.args.Bytes(0)), "bin")
		var yes string
		_ = r.args.Decode(1, &yes)
		expect(t, "text ack arg", yes, "yes")
	})

	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		res := ask(ctx)
		got := fc.nextText()
		fc.next() // attachment
		cancel()
		r := <-res
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", r.err)
		}
		// The late ack finds nobody and is ignored.
		id := strings.TrimSuffix(strings.TrimPrefix(got, "451-"), `["question",1,{"_placeholder":true,"num":0}]`)
		fc.write("43" + id + "[]")
		expect(t, "connection open", fc.isClosed(), false)
	})

	t.Run("default timeout", func(t *testing.T) {
		s2 := newTestServer(t, Options{AckTimeout: time.Millisecond})
		sockets2 := make(chan *Socket, 1)
		s2.Of("/").OnConnection(func(so *Socket) { sockets2 <- so })
		fc2 := dial(t, s2)
		fc2.connect("/", "")
		_, err := (<-sockets2).EmitWithAck(context.Background(), "never-answered")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("disconnect while waiting", func(t *testing.T) {
		res := ask(context.Background())
		fc.nextText()
		fc.next()
		fc.drop("transport close")
		r := <-res
		if !errors.Is(r.err, ErrDisconnected) {
			t.Fatalf("got %v, want ErrDisconnected", r.err)
		}
		if _, err := so.EmitWithAck(context.Background(), "after"); !errors.Is(err, ErrDisconnected) {
			t.Fatalf("after disconnect: got %v, want ErrDisconnected", err)
		}
	})
}

func TestBinaryEvents(t *testing.T) {
	s := newTestServer(t, Options{})
	s.Of("/").On("upload", func(so *Socket, args Args, ack AckFunc) {
		ack(args.Values()...)
		_ = so.Emit("echo", args.Bytes(1), "text", args.Bytes(0))
	})
	fc := dial(t, s)
	fc.connect("/", "")
	fc.write(`452-7["upload",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`)
	fc.writeBinary([]byte{1})
	fc.writeBinary([]byte{2, 2})
	expect(t, "ack", fc.nextText(), `462-7[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	expect(t, "ack attachment 0", fmt.Sprint(fc.next().bin), "[2 2]")
	expect(t, "ack attachment 1", fmt.Sprint(fc.next().bin), "[1]")
	expect(t, "event", fc.nextText(), `452-["echo",{"_placeholder":true,"num":0},"text",{"_placeholder":true,"num":1}]`)
	expect(t, "event attachment 0", fmt.Sprint(fc.next().bin), "[1]")
	expect(t, "event attachment 1", fmt.Sprint(fc.next().bin), "[2 2]")
}

func TestEmitErrors(t *testing.T) {
	s := newTestServer(t, Options{})
	sockets := make(chan *Socket, 1)
	s.Of("/").OnConnection(func(so *Socket) { sockets <- so })
	fc := dial(t, s)
	fc.connect("/", "")
	so := <-sockets
	if err := so.Emit("disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Errorf("reserved name: got %v, want ErrReservedEvent", err)
	}
	if err := so.Emit("x", make(chan int)); err == nil {
		t.Errorf("unencodable argument: got nil error")
	}
	if err := so.Emit("x", json.RawMessage(`{bad`)); err == nil {
		t.Errorf("invalid raw JSON: got nil error")
	}
	expect(t, "nothing sent", len(fc.pending()), 0)
}

// roomServer connects n clients to "/" and returns their sockets and conns.
func roomServer(t *testing.T, opts Options, n int) (*Server, []*Socket, []*fakeConn) {
	t.Helper()
	s := newTestServer(t, opts)
	sockets := make(chan *Socket, n)
	s.Of("/").OnConnection(func(so *Socket) { sockets <- so })
	var socks []*Socket
	var conns []*fakeConn
	for range n {
		fc := dial(t, s)
		fc.connect("/", "")
		conns = append(conns, fc)
		socks = append(socks, <-sockets)
	}
	return s, socks, conns
}

// receivers lists which conns got exactly the frame want, failing on others.
func receivers(t *testing.T, conns []*fakeConn, want string) string {
	t.Helper()
	var got []string
	var src *frames
	for i, fc := range conns {
		for _, fr := range fc.pending() {
			if fr.text != want {
				t.Fatalf("conn %d got %q, want %q", i, fr.text, want)
			}
			if src != nil && fr.src != src {
				t.Fatalf("conn %d got a packet encoded separately", i)
			}
			src = fr.src
			got = append(got, fmt.Sprint(i))
		}
	}
	return strings.Join(got, ",")
}

func TestRooms(t *testing.T) {
	s, socks, conns := roomServer(t, Options{}, 4)
	n := s.Of("/")
	socks[0].Join("a")
	socks[1].Join("a", "b")
	socks[2].Join("b")
	socks[3].Join("c")
	slices.Sort(socks[1].Rooms())
	expect(t, "rooms of 1", strings.Join(socks[1].Rooms(), ","), socks[1].ID()+",a,b")

	for _, tc := range []struct {
		name string
		b    *Broadcast
		want string
	}{
		{"one room", n.To("a"), "0,1"},
		{"several rooms, each socket once", n.To("a", "b"), "0,1,2"},
		{"chained rooms", n.To("a").To("c"), "0,1,3"},
		{"except a room", n.To("a", "b").Except("b"), "0"},
		{"everyone", n.To(), "0,1,2,3"},
		{"everyone except", n.To().Except("a"), "2,3"},
		{"all but the sender", socks[1].Broadcast(), "0,2,3"},
		{"room but the sender", socks[1].To("a"), "0"},
		{"a socket's own room", n.To(socks[2].ID()), "2"},
		{"nobody", n.To("empty"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.b.Emit("news", 1); err != nil {
				t.Fatal(err)
			}
			expect(t, "receivers", receivers(t, conns, `42["news",1]`), tc.want)
		})
	}

	socks[1].Leave("a")
	_ = n.To("a").Emit("news", 1)
	expect(t, "after leave", receivers(t, conns, `42["news",1]`), "0")
	if got := n.Adapter().Sockets([]string{"b"}); len(got) != 2 {
		t.Errorf("sockets in b: got %v, want 2", got)
	}

	conns[0].drop("transport close")
	_ = n.To("a").Emit("news", 1)
	expect(t, "after disconnect", receivers(t, conns, `42["news",1]`), "")
	expect(t, "rooms after disconnect", len(n.Adapter().Rooms(socks[0].ID())), 1)
}

func TestBinaryBroadcastEncodedOnce(t *testing.T) {
	s, _, conns := roomServer(t, Options{}, 3)
	if err := s.Of("/").Emit("file", []byte("data")); err != nil {
		t.Fatal(err)
	}
	var src *frames
	for i, fc := range conns {
		text, bin := fc.next(), fc.next()
		expect(t, "text", text.text, `451-["file",{"_placeholder":true,"num":0}]`)
		expect(t, "attachment", string(bin.bin), "data")
		if src != nil && text.src != src {
			t.Fatalf("conn %d: packet encoded again", i)
		}
		src = text.src
	}
}

func TestMultiplexing(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, name := range []string{"/", "/custom"} {
		s.Of(name).On("where", func(so *Socket, _ Args, ack AckFunc) { ack(so.Namespace().Name()) })
	}
	fc := dial(t, s)
	mainSID, _ := fc.connect("/", "")
	customSID, _ := fc.connect("/custom", "")
	if mainSID == customSID {
		t.Fatalf("both namespaces got sid %s", mainSID)
	}
	fc.write(`421["where"]`)
	fc.write(`42/custom,2["where"]`)
	expect(t, "main ack", fc.nextText(), `431["/"]`)
	expect(t, "custom ack", fc.nextText(), `43/custom,2["/custom"]`)
	fc.write("41/custom,")
	expect(t, "custom sockets", s.Of("/custom").Len(), 0)
	fc.write(`42/custom,3["where"]`) // not connected there any more: ignored
	fc.write(`424["where"]`)
	expect(t, "main still works", fc.nextText(), `434["/"]`)
	fc.write("40/custom,") // connect again
	expect(t, "reconnect", strings.HasPrefix(fc.nextText(), "40/custom,{"), true)
	fc.write("41")
	expect(t, "engine connection kept", fc.isClosed(), false)
}

func TestDisconnect(t *testing.T) {
	s := newTestServer(t, Options{})
	n := s.Of("/")
	reasons := make(chan string, 4)
	n.OnDisconnect(func(so *Socket, reason string) {
		reasons <- "namespace:" + reason + ":" + fmt.Sprint(len(so.Rooms()))
	})
	n.OnConnection(func(so *Socket) {
		so.Join("r")
		so.OnDisconnect(func(_ *Socket, reason string) { reasons <- "socket:" + reason })
	})
	sockets := make(chan *Socket, 1)
	n.OnConnection(func(so *Socket) { sockets <- so })

	fc := dial(t, s)
	fc.connect("/", "")
	so := <-sockets
	so.Disconnect()
	expect(t, "packet", fc.nextText(), "41")
	expect(t, "namespace handler, still in rooms", <-reasons, "namespace:server namespace disconnect:2")
	expect(t, "socket handler", <-reasons, "socket:server namespace disconnect")
	expect(t, "connected", so.Connected(), false)
	if err := so.Emit("x"); !errors.Is(err, ErrDisconnected) {
		t.Errorf("emit after disconnect: got %v, want ErrDisconnected", err)
	}

	fc.connect("/", "")
	<-sockets
	fc.write("41")
	expect(t, "client disconnect", <-reasons, "namespace:client namespace disconnect:2")
	<-reasons
}

func TestConnectTimeout(t *testing.T) {
	s := newTestServer(t, Options{ConnectTimeout: 10 * time.Millisecond})
	idle := dial(t, s)
	idle.waitClosed()

	busy := newTestServer(t, Options{ConnectTimeout: time.Hour})
	fc := dial(t, busy)
	fc.connect("/", "")
	expect(t, "connected conn open", fc.isClosed(), false)
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames []string // "b:" prefix: a binary frame
	}{
		{"unknown type", []string{"4abc"}},
		{"type out of range", []string{"49"}},
		{"event payload not an array", []string{"42{}"}},
		{"event without a name", []string{"42[]"}},
		{"event name not a string", []string{"42[1]"}},
		{"bad JSON", []string{`42["a",`}},
		{"invalid ack id", []string{`42abc["x"]`}},
		{"ack id too large", []string{`4299999999999999999999["x"]`}},
		{"ack without id", []string{`43["x"]`}},
		{"connect payload not an object", []string{`40"x"`}},
		{"disconnect with payload", []string{`41{}`}},
		{"connect error from a client", []string{`44{"message":"x"}`}},
		{"empty frame", []string{"4"}},
		{"too many attachments", []string{`4511-["x"]`}},
		{"negative attachments", []string{`45-1-["x"]`}},
		{"binary frame without a packet", []string{"b:xyz"}},
		{"text while attachments are due", []string{`451-["x",{"_placeholder":true,"num":0}]`, `42["y"]`}},
		{"oversized attachments", []string{`452-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, "b:" + strings.Repeat("a", 600), "b:" + strings.Repeat("a", 600)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, Options{MaxAttachmentBytes: 1000})
			s.Of("/").On("x", func(*Socket, Args, AckFunc) {})
			bystander := dial(t, s)
			bystander.connect("/", "")
			fc := dial(t, s)
			fc.connect("/", "")
			for _, f := range tc.frames {
				if b, ok := strings.CutPrefix(f, "b:"); ok {
					fc.writeBinary([]byte(b))
				} else {
					fc.write(f)
				}
			}
			fc.waitClosed()
			expect(t, "bystander open", bystander.isClosed(), false)
			if err := s.Of("/").Emit("still", "here"); err != nil {
				t.Fatal(err)
			}
			expect(t, "bystander gets broadcasts", bystander.nextText(), `42["still","here"]`)
			expect(t, "sockets left", s.Of("/").Len(), 1)
		})
	}
}

func TestHandlerPanic(t *testing.T) {
	s := newTestServer(t, Options{})
	n := s.Of("/")
	n.On("boom", func(*Socket, Args, AckFunc) { panic("boom") })
	n.On("ping", func(_ *Socket, _ Args, ack AckFunc) { ack("pong") })
	bystander := dial(t, s)
	bystander.connect("/", "")
	fc := dial(t, s)
	fc.connect("/", "")
	fc.write(`42["boom"]`)
	expect(t, "disconnected", fc.nextText(), "41")
	expect(t, "sockets left", n.Len(), 1)
	bystander.write(`421["ping"]`)
	expect(t, "bystander", bystander.nextText(), `431["pong"]`)
}

func TestClose(t *testing.T) {
	s := newServer(Options{})
	a, b := dial(t, s), dial(t, s)
	a.connect("/", "")
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.waitClosed()
	b.waitClosed()
	late := dial(t, s)
	expect(t, "connection after close", late.isClosed(), true)
}
