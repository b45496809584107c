package redis

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in   string
		want string // rendered by show; "" when an error is expected
	}{
		{"+OK\r\n", "+OK"},
		{"-MOVED 3999 127.0.0.1:7102\r\n", "-MOVED 3999 127.0.0.1:7102"},
		{":42\r\n", ":42"},
		{":-1\r\n", ":-1"},
		{"$5\r\nhello\r\n", "$hello"},
		{"$0\r\n\r\n", "$"},
		{"$-1\r\n", "$nil"},
		{"*-1\r\n", "*nil"},
		{"*3\r\n$8\r\nsmessage\r\n$4\r\nc{r}\r\n$7\r\n{\"a\":1}\r\n", `[$smessage $c{r} ${"a":1}]`},
		{"*3\r\n$10\r\nssubscribe\r\n$2\r\nch\r\n:1\r\n", "[$ssubscribe $ch :1]"},
		{"*2\r\n$4\r\npong\r\n$0\r\n\r\n", "[$pong $]"},
		{"*1\r\n*1\r\n:1\r\n", "[[:1]]"},
		{"$5\r\nhel\r\n", ""},                        // short bulk
		{"$3\r\nhello\r\n", ""},                      // bulk longer than said
		{"$99999999999\r\n", ""},                     // absurd length
		{"*5000\r\n", ""},                            // too many elements
		{"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", ""}, // too deep
		{":12a\r\n", ""},
		{"?what\r\n", ""},
		{"+OK\n", ""}, // LF without CR
		{"\r\n", ""},
	}
	for _, tt := range tests {
		r, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
		if tt.want == "" {
			if err == nil {
				t.Errorf("%q: got %s, want an error", tt.in, show(r))
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got := show(r); got != tt.want {
			t.Errorf("%q: got %s, want %s", tt.in, got, tt.want)
		}
	}
}

func show(r reply) string {
	switch {
	case r.null:
		return string(r.kind) + "nil"
	case r.kind == ':':
		return ":" + string(appendInt(nil, r.num))
	case r.kind == '*':
		parts := make([]string, len(r.items))
		for i, it := range r.items {
			parts[i] = show(it)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return string(r.kind) + string(r.str)
}

func appendInt(b []byte, n int64) []byte {
	if n < 0 {
		return appendInt(append(b, '-'), -n)
	}
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestWriteCommand(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	writeCommand(w, "SSUBSCRIBE", "colachat:{r1}:events")
	w.Flush()
	if want := "*2\r\n$10\r\nSSUBSCRIBE\r\n$20\r\ncolachat:{r1}:events\r\n"; buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
	r, err := readReply(bufio.NewReader(&buf))
	if err != nil || show(r) != "[$SSUBSCRIBE $colachat:{r1}:events]" {
		t.Fatalf("read back: %s, %v", show(r), err)
	}
}

// FuzzReadReply: any input yields values or an error, never a panic, and a value read
// and written back as bulk strings reads the same.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{
		"+OK\r\n", "-ERR x\r\n", ":1\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n",
		"*3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$2\r\n{}\r\n", "*2\r\n$4\r\npong\r\n$0\r\n\r\n",
		"*1\r\n*1\r\n*1\r\n:0\r\n", "$2147483648\r\n", "*1025\r\n", ":-\r\n", "$1\r\nab\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			v, err := readReply(r)
			if err != nil {
				if !errors.Is(err, errProtocol) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if v.kind == '$' && !v.null {
				var buf bytes.Buffer
				w := bufio.NewWriter(&buf)
				writeCommand(w, string(v.str))
				w.Flush()
				back, err := readReply(bufio.NewReader(&buf))
				if err != nil || len(back.items) != 1 || !bytes.Equal(back.items[0].str, v.str) {
					t.Fatalf("bulk %q did not survive a round trip: %s, %v", v.str, show(back), err)
				}
			}
		}
	})
}
