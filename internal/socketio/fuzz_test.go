package socketio

import (
	"testing"
)

// FuzzFrames feeds arbitrary frames to a connected client: the server must
// neither panic nor disturb another connection.
func FuzzFrames(f *testing.F) {
	for _, seed := range []string{
		`0/custom,{"token":"1"}`, `2["echo",1]`, `21["echo",{"a":[1]}]`, `30["x"]`, `1`, `1/custom,`,
		`51-["echo",{"_placeholder":true,"num":0}]`, `61-0[{"_placeholder":true,"num":0}]`,
		`0{"pid":"x","offset":"y"}`, `4abc`, `2{}`,
	} {
		f.Add([]byte(seed), []byte{1}, false)
	}
	f.Fuzz(func(t *testing.T, first, second []byte, secondBinary bool) {
		s := newServer(Options{Recovery: &RecoveryOptions{}})
		defer func() { _ = s.Close(t.Context()) }()
		for _, name := range []string{"/", "/custom"} {
			n := s.Of(name)
			n.On("echo", func(so *Socket, args Args, ack AckFunc) {
				if ack != nil {
					ack(args.Values()...)
				}
				_ = so.Emit("echo", args.Values()...)
				_ = n.To("r").Emit("echo", args.Values()...)
			})
			n.OnConnection(func(so *Socket) { so.Join("r") })
		}
		bystander := dial(t, s)
		bystander.connect("/", "")
		fc := dial(t, s)
		fc.c.onFrame([]byte("0"), false)
		fc.c.onFrame(first, false)
		fc.c.onFrame(second, secondBinary)
		expect(t, "bystander open", bystander.isClosed(), false)
	})
}
