package socketio

import (
	"fmt"
	"slices"

	"colachat/internal/socketio/parser"
)

// Broadcast is an emit to many sockets, built by Namespace.To or Socket.To.
// Each method returns a new Broadcast, so a partly built one can be reused.
type Broadcast struct {
	nsp       *Namespace
	opts      BroadcastOptions
	offset    string
	transient bool
}

// To adds rooms to the recipients.
func (b *Broadcast) To(rooms ...string) *Broadcast {
	c := b.clone()
	c.opts.Rooms = append(c.opts.Rooms, rooms...)
	return c
}

// Except leaves out the sockets in any of rooms.
func (b *Broadcast) Except(rooms ...string) *Broadcast {
	c := b.clone()
	c.opts.Except = append(c.opts.Except, rooms...)
	return c
}

// Offset sets the recovery offset the event carries (an application message
// id, say); without it, one is made up. Ignored when recovery is off.
func (b *Broadcast) Offset(offset string) *Broadcast {
	c := b.clone()
	c.offset = offset
	return c
}

// Transient makes the event carry no recovery offset: a recovering client is not sent it
// again, and its last offset stays that of the last recorded event. For state that a
// client refreshes anyway (who is online, who is typing).
func (b *Broadcast) Transient() *Broadcast {
	c := b.clone()
	c.transient = true
	return c
}

func (b *Broadcast) clone() *Broadcast {
	return &Broadcast{
		nsp: b.nsp,
		opts: BroadcastOptions{
			Rooms:      slices.Clone(b.opts.Rooms),
			Except:     slices.Clone(b.opts.Except),
			ExceptSIDs: slices.Clone(b.opts.ExceptSIDs),
		},
		offset:    b.offset,
		transient: b.transient,
	}
}

// Emit encodes the event once and hands it to the adapter. With recovery on,
// the offset goes last among the arguments and the store may record it.
func (b *Broadcast) Emit(event string, args ...any) error {
	if err := checkEventName(event); err != nil {
		return err
	}
	if rec := b.nsp.srv.opts.Recovery; rec != nil && !b.transient {
		offset := b.offset
		if offset == "" {
			offset = b.nsp.srv.nextOffset()
		}
		if r, ok := rec.Sessions.(Recorder); ok {
			r.Record(b.nsp.name, b.opts, MissedEvent{Event: event, Args: slices.Clone(args), Offset: offset})
		}
		args = append(slices.Clip(args), offset)
	}
	p, err := newPacket(parser.Event, b.nsp.name, &event, args)
	if err != nil {
		return fmt.Errorf("broadcast %q: %w", event, err)
	}
	b.nsp.adapter.Broadcast(p, b.opts)
	return nil
}
