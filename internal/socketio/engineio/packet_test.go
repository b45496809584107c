package engineio

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gobwas/ws"
)

func TestNewMessageFrame(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		binary  bool
		op      ws.OpCode
		payload []byte
		polling string
	}{
		{"text", []byte("hello"), false, ws.OpText, []byte("4hello"), "4hello"},
		{"empty text", nil, false, ws.OpText, []byte("4"), "4"},
		{"binary", []byte{1, 2, 3, 4}, true, ws.OpBinary, []byte{1, 2, 3, 4}, "bAQIDBA=="},
		{"medium text", bytes.Repeat([]byte("m"), 300), false, ws.OpText, append([]byte("4"), bytes.Repeat([]byte("m"), 300)...), ""},
		{"large binary", bytes.Repeat([]byte{7}, 70_000), true, ws.OpBinary, bytes.Repeat([]byte{7}, 70_000), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewMessage(tt.data, tt.binary)
			f, err := readFrame(bytes.NewReader(p.frame))
			if err != nil {
				t.Fatalf("frame does not parse: %v", err)
			}
			if !f.Header.Fin || f.Header.Masked || f.Header.OpCode != tt.op {
				t.Errorf("got header %+v, want final unmasked %v", f.Header, tt.op)
			}
			if !bytes.Equal(f.Payload, tt.payload) {
				t.Errorf("got payload %.20q (%d), want %.20q (%d)", f.Payload, len(f.Payload), tt.payload, len(tt.payload))
			}
			if tt.polling != "" {
				if got := string(p.appendPolling(nil)); got != tt.polling {
					t.Errorf("got polling form %q, want %q", got, tt.polling)
				}
			}
			if p.Binary() != tt.binary {
				t.Errorf("got Binary() %v, want %v", p.Binary(), tt.binary)
			}
		})
	}
}

func TestNewMessageCopiesData(t *testing.T) {
	data := []byte("abc")
	p := NewMessage(data, false)
	data[0] = 'z'
	if got := string(p.payload()); got != "4abc" {
		t.Errorf("got %q, want 4abc", got)
	}
}

type decoded struct {
	typ    byte
	data   string
	binary bool
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		payload string
		want    []decoded
		wantErr bool
	}{
		{"4hello", []decoded{{'4', "hello", false}}, false},
		{"4a\x1e4b\x1e3", []decoded{{'4', "a", false}, {'4', "b", false}, {'3', "", false}}, false},
		{"4hello\x1ebAQIDBA==", []decoded{{'4', "hello", false}, {'4', "\x01\x02\x03\x04", true}}, false},
		{"1", []decoded{{'1', "", false}}, false},
		{"", nil, true},
		{"abc", nil, true},
		{"4a\x1e", []decoded{{'4', "a", false}}, true},
		{"\x1e4a", nil, true},
		{"b!!", nil, true},
		{"7", nil, true},
	}
	for _, tt := range tests {
		var got []decoded
		err := decodePayload([]byte(tt.payload), func(typ byte, data []byte, binary bool) error {
			got = append(got, decoded{typ, string(data), binary})
			return nil
		})
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: got error %v, want error %v", tt.payload, err, tt.wantErr)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: got %v, want %v", tt.payload, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q packet %d: got %+v, want %+v", tt.payload, i, got[i], tt.want[i])
			}
		}
	}
}

func TestDecodePayloadStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := decodePayload([]byte("4a\x1e4b"), func(byte, []byte, bool) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("got %v after %d packets, want stop after 1", err, n)
	}
}

// FuzzDecodePayload checks that no input panics the polling decoder and
// that every message it accepts survives a re-encode.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e4b", "bAQIDBA==", "2probe\x1e5", "", "\x1e", "b", "4\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var msgs []*Packet
		var want [][]byte
		_ = decodePayload(payload, func(typ byte, data []byte, binary bool) error {
			if typ < typeOpen || typ > typeNoop {
				t.Fatalf("decoded type %q", typ)
			}
			if typ == typeMessage {
				msgs = append(msgs, NewMessage(data, binary))
				want = append(want, bytes.Clone(data))
			}
			return nil
		})
		if len(msgs) == 0 || containsSeparator(want) {
			return // a text message holding 0x1e cannot travel in a polling payload
		}
		i := 0
		err := decodePayload(encodePayload(nil, msgs), func(typ byte, data []byte, binary bool) error {
			if typ != typeMessage || binary != msgs[i].binary || !bytes.Equal(data, want[i]) {
				t.Fatalf("packet %d: got %q %q binary=%v, want message %q", i, typ, data, binary, want[i])
			}
			i++
			return nil
		})
		if err != nil || i != len(msgs) {
			t.Fatalf("re-encoded payload: got %d packets and %v, want %d packets", i, err, len(msgs))
		}
	})
}

func containsSeparator(msgs [][]byte) bool {
	for _, m := range msgs {
		if bytes.IndexByte(m, recordSeparator) >= 0 {
			return true
		}
	}
	return false
}

// FuzzFrameReader checks that arbitrary client bytes never panic the
// websocket reader and that accepted messages respect MaxPayload.
func FuzzFrameReader(f *testing.F) {
	masked := func(fr ws.Frame) []byte {
		var b bytes.Buffer
		_ = ws.WriteFrame(&b, ws.MaskFrame(fr))
		return b.Bytes()
	}
	f.Add(masked(ws.NewTextFrame([]byte("4hello"))))
	f.Add(append(masked(ws.NewFrame(ws.OpText, false, []byte("4a"))), masked(ws.NewFrame(ws.OpContinuation, true, []byte("b")))...))
	f.Add(masked(ws.NewPingFrame([]byte("x"))))
	f.Add([]byte{0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 10})
	f.Fuzz(func(t *testing.T, input []byte) {
		s := NewServer(Options{MaxPayload: 512})
		fr := s.newFrameReader(bytes.NewReader(input))
		for range 64 {
			if err := fr.awaitFrame(); err != nil {
				return
			}
			m, err := fr.next()
			if err != nil {
				return
			}
			if len(m.payload) > 512 {
				t.Fatalf("got a %d-byte message above MaxPayload 512", len(m.payload))
			}
			fr.release(m)
		}
	})
}
