package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Packet
		want string
	}{
		{"connect main", Packet{Type: Connect, Namespace: "/", Data: json.RawMessage(`{"sid":"x"}`)}, `0{"sid":"x"}`},
		{"connect custom", Packet{Type: Connect, Namespace: "/admin", Data: json.RawMessage(`{"sid":"x"}`)}, `0/admin,{"sid":"x"}`},
		{"disconnect", Packet{Type: Disconnect, Namespace: "/"}, `1`},
		{"disconnect custom", Packet{Type: Disconnect, Namespace: "/admin"}, `1/admin,`},
		{"event", Packet{Type: Event, Data: json.RawMessage(`["a",1]`)}, `2["a",1]`},
		{"event with id", Packet{Type: Event, Namespace: "/x", ID: 12, HasID: true, Data: json.RawMessage(`["a"]`)}, `2/x,12["a"]`},
		{"ack", Packet{Type: Ack, ID: 0, HasID: true, Data: json.RawMessage(`[]`)}, `30[]`},
		{"connect error", Packet{Type: ConnectError, Namespace: "/r", Data: json.RawMessage(`{"message":"no"}`)}, `4/r,{"message":"no"}`},
		{"binary event", Packet{Type: BinaryEvent, Data: json.RawMessage(`["a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}, `51-["a",{"_placeholder":true,"num":0}]`},
		{"binary ack", Packet{Type: BinaryAck, Namespace: "/x", ID: 3, HasID: true, Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}, `61-/x,3[{"_placeholder":true,"num":0}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Encode(&tc.p)); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in      string
		typ     Type
		nsp     string
		id      string // "" when none
		data    string
		attach  int
		numArgs int
	}{
		{`0`, Connect, "/", "", "", 0, 0},
		{`0{"token":"1"}`, Connect, "/", "", `{"token":"1"}`, 0, 0},
		{`0/custom,`, Connect, "/custom", "", "", 0, 0},
		{`0/custom`, Connect, "/custom", "", "", 0, 0},
		{`0/custom,{"a":1}`, Connect, "/custom", "", `{"a":1}`, 0, 0},
		{`1`, Disconnect, "/", "", "", 0, 0},
		{`1/custom,`, Disconnect, "/custom", "", "", 0, 0},
		{`2["hello",1]`, Event, "/", "", `["hello",1]`, 0, 2},
		{`2456["m",1,"2",{"3":[false]}]`, Event, "/", "456", `["m",1,"2",{"3":[false]}]`, 0, 4},
		{`2/nsp,7["m"]`, Event, "/nsp", "7", `["m"]`, 0, 1},
		{`3456[1]`, Ack, "/", "456", `[1]`, 0, 1},
		{`3/a,0[]`, Ack, "/a", "0", `[]`, 0, 0},
		{`52-["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, BinaryEvent, "/", "", `["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, 2, 3},
		{`52-789["m",1]`, BinaryEvent, "/", "789", `["m",1]`, 2, 2},
		{`61-/x,3[{"_placeholder":true,"num":0}]`, BinaryAck, "/x", "3", `[{"_placeholder":true,"num":0}]`, 1, 1},
		{`4{"message":"no"}`, ConnectError, "/", "", `{"message":"no"}`, 0, 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, n, err := Decode([]byte(tc.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			id := ""
			if p.HasID {
				id = fmt.Sprint(p.ID)
			}
			got := fmt.Sprintf("%v %s id=%s %s n=%d args=%d", p.Type, p.Namespace, id, p.Data, n, len(p.Args))
			want := fmt.Sprintf("%v %s id=%s %s n=%d args=%d", tc.typ, tc.nsp, tc.id, tc.data, tc.attach, tc.numArgs)
			if got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	for _, in := range []string{
		``, `abc`, `7`, `9["a"]`, `/`,
		`2`, `2{}`, `2[]`, `2[1]`, `2["a"`, `2abc["a"]`, `2null`, `2"a"`,
		`299999999999999999999["a"]`, `29007199254740992["a"]`,
		`3["a"]`, `31`, `31{}`, `3/x,`,
		`0"x"`, `0[1]`, `0{`, `01{}`,
		`1{}`, `1/x,1`,
		`4`, `4[1]`,
		`5["a"]`, `5-["a"]`, `5x-["a"]`, `5-1-["a"]`, `51234567-["a"]`, `6-1[]`,
	} {
		t.Run(in, func(t *testing.T) {
			p, _, err := Decode([]byte(in))
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("got packet %+v, error %v; want ErrInvalidPacket", p, err)
			}
		})
	}
}

func TestDecoderAttachments(t *testing.T) {
	d := Decoder{MaxAttachments: 2, MaxAttachmentBytes: 10}
	frames := []struct {
		data   string
		binary bool
		done   bool
	}{
		{`52-1["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, false, false},
		{"abc", true, false},
		{"de", true, true},
		{`2["plain"]`, false, true},
	}
	var got []*Packet
	for i, f := range frames {
		buf := []byte(f.data)
		p, done, err := d.Add(buf, f.binary)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if done != f.done {
			t.Fatalf("frame %d: done %v, want %v", i, done, f.done)
		}
		copy(buf, "zzz") // the transport reuses its buffer
		if done {
			got = append(got, p)
		}
	}
	if len(got) != 2 {
		t.Fatalf("got %d packets, want 2", len(got))
	}
	if a := got[0].Attachments; len(a) != 2 || string(a[0]) != "abc" || string(a[1]) != "de" {
		t.Fatalf("attachments: got %q, want [abc de]", a)
	}

	for _, tc := range []struct {
		name   string
		frames []string // "b:" prefix: binary
	}{
		{"too many", []string{`53-["m"]`}},
		{"too large", []string{`52-["m"]`, "b:0123456", "b:0123456"}},
		{"binary without a packet", []string{"b:x"}},
		{"text while waiting", []string{`51-["m"]`, `2["x"]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decoder{MaxAttachments: 2, MaxAttachmentBytes: 10}
			var err error
			for _, f := range tc.frames {
				data, bin := f, false
				if len(f) > 2 && f[:2] == "b:" {
					data, bin = f[2:], true
				}
				if _, _, err = d.Add([]byte(data), bin); err != nil {
					break
				}
			}
			if err == nil {
				t.Fatal("got no error")
			}
		})
	}
}

func TestAppendArgs(t *testing.T) {
	event := "ev"
	data, att, err := AppendArgs(nil, &event, []any{1, []byte{1, 2}, json.RawMessage(`{"a":true}`), "s", []byte{3}})
	if err != nil {
		t.Fatal(err)
	}
	want := `["ev",1,{"_placeholder":true,"num":0},{"a":true},"s",{"_placeholder":true,"num":1}]`
	if string(data) != want {
		t.Fatalf("got %s, want %s", data, want)
	}
	if len(att) != 2 || !bytes.Equal(att[1], []byte{3}) {
		t.Fatalf("attachments: got %v", att)
	}
	elems, err := SplitArray(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{-1, -1, 0, -1, -1, 1} {
		num, ok := Placeholder(elems[i])
		if !ok {
			num = -1
		}
		if num != want {
			t.Errorf("element %d: placeholder %d, want %d", i, num, want)
		}
	}
	if _, _, err := AppendArgs(nil, nil, []any{json.RawMessage(`{`)}); err == nil {
		t.Error("invalid raw JSON: got no error")
	}
	if _, _, err := AppendArgs(nil, nil, []any{func() {}}); err == nil {
		t.Error("unencodable value: got no error")
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`0`, `0/custom,{"token":"1"}`, `1/x,`, `2["a",1]`, `2456["m",{"3":[true]}]`, `3/x,9[1]`,
		`52-["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, `61-3[{"_placeholder":true,"num":0}]`,
		`4{"message":"x"}`, `4abc`, `2{}`, `2abc["a"]`,
	} {
		f.Add([]byte(seed), []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, text, attachment []byte) {
		d := Decoder{MaxAttachments: 4, MaxAttachmentBytes: 64}
		p, done, err := d.Add(text, false)
		for i := 0; err == nil && !done && i < 4; i++ {
			p, done, err = d.Add(attachment, true)
		}
		if err != nil || !done {
			return
		}
		// A decoded packet encodes to a frame that decodes to the same packet.
		again, n, err := Decode(Encode(p))
		if err != nil {
			t.Fatalf("re-decode %q: %v", Encode(p), err)
		}
		if again.Type != p.Type || again.Namespace != p.Namespace || again.HasID != p.HasID ||
			again.ID != p.ID || !bytes.Equal(again.Data, p.Data) || n != len(p.Attachments) {
			t.Fatalf("round trip: got %+v, want %+v", again, p)
		}
	})
}
