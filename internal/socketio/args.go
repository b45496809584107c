package socketio

import (
	"encoding/json"
	"fmt"

	"colachat/internal/socketio/parser"
)

// Args are the arguments of a received event or ack.
type Args struct {
	raw         []json.RawMessage
	attachments [][]byte
}

// Len is the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i as JSON (a placeholder for a binary argument), or nil
// when there is no argument i.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Decode unmarshals argument i into v.
func (a Args) Decode(i int, v any) error {
	raw := a.Raw(i)
	if raw == nil {
		return fmt.Errorf("decode argument %d of %d: missing", i, len(a.raw))
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode argument %d: %w", i, err)
	}
	return nil
}

// Bytes returns the binary attachment that argument i stands for, or nil when
// argument i is not binary.
func (a Args) Bytes(i int) []byte {
	num, ok := parser.Placeholder(a.Raw(i))
	if !ok || num >= len(a.attachments) {
		return nil
	}
	return a.attachments[num]
}

// Values returns every argument ready to send again: binary ones as []byte,
// the others as json.RawMessage.
func (a Args) Values() []any {
	out := make([]any, len(a.raw))
	for i, raw := range a.raw {
		if b := a.Bytes(i); b != nil {
			out[i] = b
		} else {
			out[i] = raw
		}
	}
	return out
}

// AckFunc answers a client's event; calls after the first are ignored.
type AckFunc func(args ...any)

// Handler handles one event; ack is nil when the client asked for none.
// Handlers of one connection run one at a time and in order, while its
// reader waits: a handler that waits for the same client (EmitWithAck) must
// do so in a goroutine of its own.
type Handler func(s *Socket, args Args, ack AckFunc)

// newPacket encodes event args into an EVENT or ACK packet.
func newPacket(t parser.Type, nsp string, event *string, args []any) (*parser.Packet, error) {
	data, attachments, err := parser.AppendArgs(nil, event, args)
	if err != nil {
		return nil, err
	}
	if len(attachments) > 0 {
		t += parser.BinaryEvent - parser.Event
	}
	return &parser.Packet{Type: t, Namespace: nsp, Data: data, Attachments: attachments}, nil
}
