package parser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// AppendArgs appends the JSON array [head?, args...] to buf. A []byte argument
// becomes a placeholder and is returned among the attachments; a
// json.RawMessage is copied as is after a validity check; anything else goes
// through encoding/json.
func AppendArgs(buf []byte, head *string, args []any) ([]byte, [][]byte, error) {
	var attachments [][]byte
	buf = append(buf, '[')
	first := true
	if head != nil {
		b, err := json.Marshal(*head)
		if err != nil {
			return nil, nil, fmt.Errorf("encode event name: %w", err)
		}
		buf = append(buf, b...)
		first = false
	}
	for i, a := range args {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		switch v := a.(type) {
		case []byte:
			buf = append(buf, `{"_placeholder":true,"num":`...)
			buf = strconv.AppendInt(buf, int64(len(attachments)), 10)
			buf = append(buf, '}')
			attachments = append(attachments, v)
		case json.RawMessage:
			if !json.Valid(v) {
				return nil, nil, fmt.Errorf("argument %d: invalid raw JSON", i)
			}
			buf = append(buf, v...)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, nil, fmt.Errorf("encode argument %d: %w", i, err)
			}
			buf = append(buf, b...)
		}
	}
	return append(buf, ']'), attachments, nil
}

// SplitArray splits a JSON array into its elements.
func SplitArray(data json.RawMessage) ([]json.RawMessage, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPacket, err)
	}
	return elems, nil
}

// Placeholder reports whether elem is a binary placeholder and which
// attachment it stands for.
func Placeholder(elem json.RawMessage) (num int, ok bool) {
	elem = bytes.TrimSpace(elem)
	if len(elem) == 0 || elem[0] != '{' || !bytes.Contains(elem, []byte(`"_placeholder"`)) {
		return 0, false
	}
	var ph struct {
		Placeholder bool `json:"_placeholder"`
		Num         *int `json:"num"`
	}
	if err := json.Unmarshal(elem, &ph); err != nil || !ph.Placeholder || ph.Num == nil || *ph.Num < 0 {
		return 0, false
	}
	return *ph.Num, true
}
