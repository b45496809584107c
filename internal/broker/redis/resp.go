package redis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// This file is the little of the Redis protocol (RESP2) that a sharded subscription
// connection speaks: commands are arrays of bulk strings; replies and pushes are simple
// strings, errors, integers, bulk strings and flat arrays of those.

// Limits on what a reply may claim, so a corrupt stream cannot make us allocate wildly.
const (
	maxBulk  = 64 << 20 // bytes in one bulk string (an event is far smaller)
	maxArray = 1024     // elements in one array (pub/sub pushes have three)
	maxDepth = 4        // arrays within arrays
)

// reply is one RESP2 value.
type reply struct {
	kind  byte   // '+' simple string, '-' error, ':' integer, '$' bulk, '*' array
	null  bool   // a null bulk string or array
	str   []byte // '+', '-', '$'
	num   int64  // ':'
	items []reply
}

// text is a string-like reply's value; "" for anything else.
func (r reply) text() string {
	switch r.kind {
	case '+', '-', '$':
		return string(r.str)
	}
	return ""
}

var errProtocol = errors.New("redis protocol error")

// readReply reads one value.
func readReply(r *bufio.Reader) (reply, error) { return readValue(r, 0) }

func readValue(r *bufio.Reader, depth int) (reply, error) {
	line, err := readLine(r)
	if err != nil {
		return reply{}, err
	}
	if len(line) == 0 {
		return reply{}, fmt.Errorf("%w: empty line", errProtocol)
	}
	kind, rest := line[0], line[1:]
	switch kind {
	case '+', '-':
		return reply{kind: kind, str: append([]byte(nil), rest...)}, nil
	case ':':
		n, ok := parseInt(rest)
		if !ok {
			return reply{}, fmt.Errorf("%w: bad integer %q", errProtocol, rest)
		}
		return reply{kind: kind, num: n}, nil
	case '$':
		n, err := readLength(rest, maxBulk)
		if err != nil || n < 0 {
			return reply{kind: kind, null: true}, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return reply{}, err
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return reply{}, fmt.Errorf("%w: bulk string not followed by CRLF", errProtocol)
		}
		return reply{kind: kind, str: buf[:n]}, nil
	case '*':
		n, err := readLength(rest, maxArray)
		if err != nil || n < 0 {
			return reply{kind: kind, null: true}, err
		}
		if depth >= maxDepth {
			return reply{}, fmt.Errorf("%w: arrays nested too deep", errProtocol)
		}
		items := make([]reply, n)
		for i := range items {
			if items[i], err = readValue(r, depth+1); err != nil {
				return reply{}, err
			}
		}
		return reply{kind: kind, items: items}, nil
	}
	return reply{}, fmt.Errorf("%w: unknown type %q", errProtocol, kind)
}

// readLength parses a bulk or array length: -1 is null, anything else must be within max.
func readLength(s []byte, max int) (int, error) {
	n, ok := parseInt(s)
	switch {
	case !ok:
		return 0, fmt.Errorf("%w: bad length %q", errProtocol, s)
	case n == -1:
		return -1, nil
	case n < 0 || n > int64(max):
		return 0, fmt.Errorf("%w: length %d out of range", errProtocol, n)
	}
	return int(n), nil
}

// readLine returns a line without its CRLF. The slice is only valid until the next read,
// and a line must fit in r's buffer.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: line longer than %d bytes", errProtocol, r.Size())
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not ended by CRLF", errProtocol)
	}
	return line[:len(line)-2], nil
}

// parseInt parses a decimal integer of at most 18 digits, with an optional minus sign.
func parseInt(s []byte) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// writeCommand writes args as one command (an array of bulk strings).
func writeCommand(w *bufio.Writer, args ...string) error {
	w.WriteByte('*')
	w.WriteString(strconv.Itoa(len(args)))
	w.WriteString("\r\n")
	for _, a := range args {
		w.WriteByte('$')
		w.WriteString(strconv.Itoa(len(a)))
		w.WriteString("\r\n")
		w.WriteString(a)
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	return nil
}
