package sioclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Engine.IO v4 packet types, as the first byte of a websocket text frame.
const (
	engineOpen    = '0'
	engineClose   = '1'
	enginePing    = '2'
	enginePong    = '3'
	engineMessage = '4'
	engineNoop    = '6'
)

// Socket.IO v5 packet types, the byte after engineMessage.
const (
	packetConnect      = '0'
	packetDisconnect   = '1'
	packetEvent        = '2'
	packetAck          = '3'
	packetConnectError = '4'
	packetBinaryEvent  = '5'
	packetBinaryAck    = '6'
)

// noAck marks a packet without an ack id.
const noAck = -1

// packet is a decoded Socket.IO packet. nsp (empty for "/") and data alias the frame it came from.
type packet struct {
	typ   byte
	nsp   []byte
	ackID int64
	data  []byte
}

var errBadPacket = errors.New("sioclient: malformed packet")

// decodePacket parses a Socket.IO packet (the frame after its Engine.IO "4").
func decodePacket(b []byte) (packet, error) {
	p := packet{ackID: noAck}
	if len(b) == 0 {
		return p, errBadPacket
	}
	p.typ = b[0]
	if p.typ < packetConnect || p.typ > packetBinaryAck {
		return p, fmt.Errorf("%w: type %q", errBadPacket, p.typ)
	}
	i := 1
	if p.typ == packetBinaryEvent || p.typ == packetBinaryAck {
		return p, fmt.Errorf("%w: binary packets are not supported", errBadPacket)
	}
	if i < len(b) && b[i] == '/' {
		j := i
		for j < len(b) && b[j] != ',' {
			j++
		}
		p.nsp = b[i:j]
		if j < len(b) {
			j++ // the comma
		}
		i = j
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		id, err := strconv.ParseInt(string(b[i:j]), 10, 64)
		if err != nil {
			return p, fmt.Errorf("%w: ack id: %w", errBadPacket, err)
		}
		p.ackID = id
		i = j
	}
	p.data = b[i:]
	return p, nil
}

// namespace returns the packet's namespace name.
func (p packet) namespace() string {
	if len(p.nsp) == 0 {
		return "/"
	}
	return string(p.nsp)
}

// in reports whether the packet belongs to namespace nsp, without allocating.
func (p packet) in(nsp string) bool {
	if len(p.nsp) == 0 {
		return nsp == "/"
	}
	return string(p.nsp) == nsp
}

// appendPacketHead appends "4" + type + namespace + ack id: everything before the JSON data.
func appendPacketHead(b []byte, typ byte, nsp string, ackID int64) []byte {
	b = append(b, engineMessage, typ)
	if nsp != "/" {
		b = append(b, nsp...)
		b = append(b, ',')
	}
	if ackID != noAck {
		b = strconv.AppendInt(b, ackID, 10)
	}
	return b
}

// appendEventData appends the JSON array [event, args...].
func appendEventData(b []byte, event string, args []any) ([]byte, error) {
	b = append(b, '[')
	b, err := appendJSON(b, event)
	if err != nil {
		return b, fmt.Errorf("sioclient: encode event name: %w", err)
	}
	for i, a := range args {
		b = append(b, ',')
		var err error
		if b, err = appendJSON(b, a); err != nil {
			return b, fmt.Errorf("sioclient: encode argument %d: %w", i, err)
		}
	}
	return append(b, ']'), nil
}

func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case json.RawMessage:
		// Passed through as is: the caller vouches for it.
		return append(b, v...), nil
	case nil:
		return append(b, "null"...), nil
	case string:
		if isPlainASCII(v) {
			return strconv.AppendQuote(b, v), nil
		}
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, enc...), nil
}

// isPlainASCII reports whether strconv.Quote of s is also valid JSON.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

// splitArray splits a JSON array into its elements without decoding them.
// It checks structure (brackets, strings) but leaves value validation to json.Unmarshal.
func splitArray(b []byte) ([]json.RawMessage, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, fmt.Errorf("%w: want a JSON array", errBadPacket)
	}
	i = skipSpace(b, i+1)
	out := make([]json.RawMessage, 0, 4)
	if i < len(b) && b[i] == ']' {
		return out, nil
	}
	for {
		end, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, json.RawMessage(b[i:end:end]))
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, fmt.Errorf("%w: unterminated array", errBadPacket)
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return out, nil
		default:
			return nil, fmt.Errorf("%w: unexpected %q in array", errBadPacket, b[i])
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return i, fmt.Errorf("%w: missing value", errBadPacket)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return i, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return i, fmt.Errorf("%w: unterminated value", errBadPacket)
	default:
		start := i
		for i < len(b) {
			switch b[i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				if i == start {
					return i, fmt.Errorf("%w: missing value", errBadPacket)
				}
				return i, nil
			}
			i++
		}
		return i, nil
	}
}

func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return len(b), fmt.Errorf("%w: unterminated string", errBadPacket)
}

// decodeString decodes a JSON string, without allocation beyond the result when unescaped.
func decodeString(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		inner := raw[1 : len(raw)-1]
		plain := true
		for _, c := range inner {
			if c == '\\' || c == '"' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain {
			return string(inner), nil
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: want a string: %w", errBadPacket, err)
	}
	return s, nil
}
