package engineio

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// Engine.IO packet types as they appear on the wire.
const (
	typeOpen    byte = '0'
	typeClose   byte = '1'
	typePing    byte = '2'
	typePong    byte = '3'
	typeMessage byte = '4'
	typeUpgrade byte = '5'
	typeNoop    byte = '6'

	binaryPrefix    byte = 'b' // a base64 binary message inside a polling payload
	recordSeparator byte = 0x1e

	opText   byte = 0x1
	opBinary byte = 0x2
	opClose  byte = 0x8
	finBit   byte = 0x80
)

var errBadPacket = errors.New("engineio: invalid packet")

// Packet is an encoded outgoing Engine.IO packet. It is immutable once
// built, so one Packet can be queued on any number of connections: the
// websocket frame is encoded once and written as is to every connection.
type Packet struct {
	frame  []byte // complete unmasked websocket frame
	body   int    // offset of the frame payload: "4hello" for text, raw bytes for binary
	binary bool
}

// NewMessage returns an Engine.IO message packet ("4" + data, or a binary
// frame when binary is true). data is copied.
func NewMessage(data []byte, binary bool) *Packet {
	if binary {
		return newPacket(opBinary, 0, data, true)
	}
	return newPacket(opText, typeMessage, data, false)
}

// newControl returns a text packet of type typ followed by data.
func newControl(typ byte, data string) *Packet {
	return newPacket(opText, typ, []byte(data), false)
}

func newPacket(opcode, typ byte, data []byte, isBinary bool) *Packet {
	n := len(data)
	if !isBinary {
		n++ // the type character
	}
	hdr := frameHeaderLen(n)
	frame := make([]byte, hdr+n)
	putFrameHeader(frame, opcode, n)
	body := frame[hdr:]
	if !isBinary {
		body[0] = typ
		body = body[1:]
	}
	copy(body, data)
	return &Packet{frame: frame, body: hdr, binary: isBinary}
}

// Binary reports whether p is a binary message.
func (p *Packet) Binary() bool { return p.binary }

// payload returns the websocket frame payload: the text packet ("4hello") or
// the raw bytes of a binary message.
func (p *Packet) payload() []byte { return p.frame[p.body:] }

// appendPolling appends p in its HTTP long-polling form.
func (p *Packet) appendPolling(dst []byte) []byte {
	if !p.binary {
		return append(dst, p.payload()...)
	}
	dst = append(dst, binaryPrefix)
	return base64.StdEncoding.AppendEncode(dst, p.payload())
}

func frameHeaderLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return 10
	}
}

// putFrameHeader writes a final, unmasked frame header for an n-byte
// payload; dst must hold frameHeaderLen(n) bytes.
func putFrameHeader(dst []byte, opcode byte, n int) {
	dst[0] = finBit | opcode
	switch {
	case n < 126:
		dst[1] = byte(n)
	case n <= 0xffff:
		dst[1] = 126
		binary.BigEndian.PutUint16(dst[2:], uint16(n))
	default:
		dst[1] = 127
		binary.BigEndian.PutUint64(dst[2:], uint64(n))
	}
}

// emptyCloseFrame is a websocket close frame without a status code.
var emptyCloseFrame = []byte{finBit | opClose, 0}

// closeFrame returns a websocket close frame with a status code.
func closeFrame(code uint16) []byte {
	f := make([]byte, 4)
	f[0] = finBit | opClose
	f[1] = 2
	binary.BigEndian.PutUint16(f[2:], code)
	return f
}

// decodePacket parses one Engine.IO text packet: a type digit and its data.
// A binary-prefixed packet ('b' + base64) is accepted only when allowBase64
// is set (polling payloads).
func decodePacket(b []byte, allowBase64 bool) (typ byte, data []byte, isBinary bool, err error) {
	if len(b) == 0 {
		return 0, nil, false, errBadPacket
	}
	switch c := b[0]; {
	case c >= typeOpen && c <= typeNoop:
		return c, b[1:], false, nil
	case c == binaryPrefix && allowBase64:
		raw, err := base64.StdEncoding.AppendDecode(nil, b[1:])
		if err != nil {
			return 0, nil, false, errBadPacket
		}
		return typeMessage, raw, true, nil
	default:
		return 0, nil, false, errBadPacket
	}
}

// decodePayload walks an HTTP long-polling payload (packets separated by
// 0x1e) and calls fn for each packet in order. It stops at the first invalid
// packet or the first error from fn.
func decodePayload(payload []byte, fn func(typ byte, data []byte, binary bool) error) error {
	for {
		end := bytes.IndexByte(payload, recordSeparator)
		if end < 0 {
			end = len(payload)
		}
		typ, data, isBinary, err := decodePacket(payload[:end], true)
		if err != nil {
			return err
		}
		if err := fn(typ, data, isBinary); err != nil {
			return err
		}
		if end == len(payload) {
			return nil
		}
		payload = payload[end+1:]
	}
}

// encodePayload joins packets in their polling form, separated by 0x1e.
func encodePayload(dst []byte, packets []*Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		dst = p.appendPolling(dst)
	}
	return dst
}
