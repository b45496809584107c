package parser

import (
	"errors"
	"fmt"
)

// Decoder reassembles packets from the frames of one connection, in order.
// It is not safe for concurrent use.
type Decoder struct {
	// MaxAttachments bounds the attachments one packet may announce.
	MaxAttachments int
	// MaxAttachmentBytes bounds the total size of one packet's attachments
	// (0 means no bound beyond the transport's own).
	MaxAttachmentBytes int

	pending *Packet
	want    int
	size    int
}

// ErrUnexpectedBinary reports a binary frame that no packet announced.
var ErrUnexpectedBinary = errors.New("binary frame without a pending binary packet")

// Add feeds one frame. It returns the packet once complete; done is false while
// a binary packet still waits for attachments.
func (d *Decoder) Add(frame []byte, binary bool) (p *Packet, done bool, err error) {
	if binary {
		return d.addAttachment(frame)
	}
	if d.pending != nil {
		return nil, false, invalid("text frame while %d attachments are missing", d.want-len(d.pending.Attachments))
	}
	p, n, err := Decode(frame)
	if err != nil {
		return nil, false, err
	}
	if n == 0 {
		return p, true, nil
	}
	if d.MaxAttachments > 0 && n > d.MaxAttachments {
		return nil, false, invalid("%d attachments, at most %d allowed", n, d.MaxAttachments)
	}
	p.Attachments = make([][]byte, 0, n)
	d.pending, d.want, d.size = p, n, 0
	return nil, false, nil
}

func (d *Decoder) addAttachment(frame []byte) (*Packet, bool, error) {
	if d.pending == nil {
		return nil, false, ErrUnexpectedBinary
	}
	d.size += len(frame)
	if d.MaxAttachmentBytes > 0 && d.size > d.MaxAttachmentBytes {
		d.Reset()
		return nil, false, fmt.Errorf("%w: attachments exceed %d bytes", ErrInvalidPacket, d.MaxAttachmentBytes)
	}
	// The frame buffer may be reused by the transport: keep a copy.
	d.pending.Attachments = append(d.pending.Attachments, append([]byte(nil), frame...))
	if len(d.pending.Attachments) < d.want {
		return nil, false, nil
	}
	p := d.pending
	d.Reset()
	return p, true, nil
}

// Reset drops a partially received packet.
func (d *Decoder) Reset() {
	d.pending, d.want, d.size = nil, 0, 0
}
