package sioclient

import (
	"encoding/json"
	"testing"
)

// A sendMessage broadcast as colachat sends it: the cost per delivery on the load generator.
var deliveredFrame = []byte(`2/anonymous,["sendMessage",{"id":1234,"type":"MESSAGE","content":"b42.123456789",` +
	`"sentAt":"2024-09-18T18:39:03.000Z","roomId":"8a1f0e2c-3b4d-4e5f-9a6b-7c8d9e0f1a2b","chatterId":"c1",` +
	`"chatter":{"id":"c1","nickname":"개구리","createdAt":"2024-09-18T18:39:03.000Z","deletedAt":null,"isActive":true}},"1234"]`)

func BenchmarkDecodeEvent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		p, err := decodePacket(deliveredFrame)
		if err != nil {
			b.Fatal(err)
		}
		all, err := splitArray(p.data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodeString(all[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeEmit(b *testing.B) {
	b.ReportAllocs()
	arg := json.RawMessage(`{"roomId":"8a1f0e2c-3b4d-4e5f-9a6b-7c8d9e0f1a2b","content":"b42.123456789"}`)
	buf := make([]byte, 0, 256)
	for b.Loop() {
		var err error
		if buf, err = appendEventData(appendPacketHead(buf[:0], packetEvent, "/anonymous", 17), "sendMessage", []any{arg}); err != nil {
			b.Fatal(err)
		}
	}
}
