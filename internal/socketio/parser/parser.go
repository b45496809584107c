// Package parser encodes and decodes Socket.IO protocol v5 packets, including
// binary packets whose attachments travel as separate Engine.IO messages.
package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Type is a Socket.IO packet type.
type Type byte

// The packet types of protocol v5.
const (
	Connect Type = iota
	Disconnect
	Event
	Ack
	ConnectError
	BinaryEvent
	BinaryAck
)

func (t Type) String() string {
	switch t {
	case Connect:
		return "CONNECT"
	case Disconnect:
		return "DISCONNECT"
	case Event:
		return "EVENT"
	case Ack:
		return "ACK"
	case ConnectError:
		return "CONNECT_ERROR"
	case BinaryEvent:
		return "BINARY_EVENT"
	case BinaryAck:
		return "BINARY_ACK"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// DefaultNamespace is the namespace of a packet that names none.
const DefaultNamespace = "/"

// Packet is one Socket.IO packet. Data is the JSON payload as it travels on the
// wire: for binary packets it holds placeholders {"_placeholder":true,"num":N}
// that refer to Attachments[N].
type Packet struct {
	Type        Type
	Namespace   string
	ID          uint64
	HasID       bool
	Data        json.RawMessage
	Attachments [][]byte
	// Args holds the elements of Data for the packet types whose payload is
	// an array (EVENT, ACK and their binary forms), filled in by Decode.
	Args []json.RawMessage
}

// ErrInvalidPacket reports a packet that does not follow protocol v5.
var ErrInvalidPacket = errors.New("invalid socket.io packet")

// maxAckID keeps ids within what a JavaScript number holds exactly.
const maxAckID = 1<<53 - 1

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidPacket, fmt.Sprintf(format, args...))
}

// Encode returns the text frame of p; p.Attachments follow it as binary frames.
// The packet type is taken as given: a caller sending attachments uses
// BinaryEvent or BinaryAck.
func Encode(p *Packet) []byte {
	buf := make([]byte, 0, 16+len(p.Namespace)+len(p.Data))
	return AppendEncode(buf, p)
}

// AppendEncode appends the text frame of p to buf.
func AppendEncode(buf []byte, p *Packet) []byte {
	buf = append(buf, byte('0'+p.Type))
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		buf = strconv.AppendInt(buf, int64(len(p.Attachments)), 10)
		buf = append(buf, '-')
	}
	if p.Namespace != "" && p.Namespace != DefaultNamespace {
		buf = append(buf, p.Namespace...)
		buf = append(buf, ',')
	}
	if p.HasID {
		buf = strconv.AppendUint(buf, p.ID, 10)
	}
	return append(buf, p.Data...)
}

// Decode parses a text frame. A binary packet comes back with its attachment
// count in n and no attachments yet; Decoder collects them.
func Decode(frame []byte) (p *Packet, n int, err error) {
	if len(frame) == 0 {
		return nil, 0, invalid("empty packet")
	}
	p = &Packet{Type: Type(frame[0] - '0'), Namespace: DefaultNamespace}
	if frame[0] < '0' || p.Type > BinaryAck {
		return nil, 0, invalid("unknown packet type %q", frame[0])
	}
	rest := frame[1:]
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		dash := bytes.IndexByte(rest, '-')
		if dash <= 0 || dash > 6 {
			return nil, 0, invalid("missing attachment count")
		}
		n, err = strconv.Atoi(string(rest[:dash]))
		if err != nil || n < 0 {
			return nil, 0, invalid("bad attachment count %q", rest[:dash])
		}
		rest = rest[dash+1:]
	}
	if len(rest) > 0 && rest[0] == '/' {
		end := bytes.IndexByte(rest, ',')
		if end < 0 {
			end = len(rest)
		}
		p.Namespace = string(rest[:end])
		rest = rest[end:]
		if len(rest) > 0 {
			rest = rest[1:]
		}
	}
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits > 0 {
		if p.Type == Connect || p.Type == Disconnect || p.Type == ConnectError {
			return nil, 0, invalid("%s packet with an ack id", p.Type)
		}
		id, perr := strconv.ParseUint(string(rest[:digits]), 10, 64)
		if perr != nil || id > maxAckID {
			return nil, 0, invalid("bad ack id")
		}
		p.ID, p.HasID = id, true
		rest = rest[digits:]
	}
	if len(rest) > 0 {
		p.Data = json.RawMessage(rest)
	}
	if err := checkPayload(p); err != nil {
		return nil, 0, err
	}
	if (p.Type == Ack || p.Type == BinaryAck) && !p.HasID {
		return nil, 0, invalid("ack without an id")
	}
	return p, n, nil
}

// checkPayload enforces the payload shape each packet type allows.
func checkPayload(p *Packet) error {
	switch p.Type {
	case Connect:
		if p.Data != nil && !isJSONObject(p.Data) {
			return invalid("CONNECT payload must be an object")
		}
	case Disconnect:
		if p.Data != nil {
			return invalid("DISCONNECT takes no payload")
		}
	case ConnectError:
		if !isJSONObject(p.Data) && !isJSONString(p.Data) {
			return invalid("CONNECT_ERROR payload must be an object or a string")
		}
	case Event, BinaryEvent:
		if !isJSONArray(p.Data) || json.Unmarshal(p.Data, &p.Args) != nil || len(p.Args) == 0 || !isJSONString(p.Args[0]) {
			return invalid("EVENT payload must be an array starting with the event name")
		}
	case Ack, BinaryAck:
		if !isJSONArray(p.Data) || json.Unmarshal(p.Data, &p.Args) != nil {
			return invalid("ACK payload must be an array")
		}
	}
	return nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

func isJSONArray(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '['
}

func isJSONString(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '"' && json.Valid(b)
}
