package chat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// newUUID returns a random (version 4) UUID in its canonical text form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// newToken returns a chatter's secret: 32 random bytes, base64url.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashToken is what the store keeps of a token.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// tokenMatches compares a presented token with a stored hash in constant time.
func tokenMatches(token string, hash []byte) bool {
	if token == "" || len(hash) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(hashToken(token), hash) == 1
}

// A ticket is "<expiry unix ms>.<base64url HMAC-SHA256(key, roomID|expiry)>": any node with
// the same key can check it, and nothing needs storing.
func makeTicket(key []byte, roomID string, expires time.Time) string {
	ms := expires.UnixMilli()
	return strconv.FormatInt(ms, 10) + "." + base64.RawURLEncoding.EncodeToString(ticketMAC(key, roomID, ms))
}

func ticketValid(key []byte, roomID, ticket string, now time.Time) bool {
	msText, macText, ok := strings.Cut(ticket, ".")
	if !ok {
		return false
	}
	ms, err := strconv.ParseInt(msText, 10, 64)
	if err != nil || !now.Before(time.UnixMilli(ms)) {
		return false
	}
	mac, err := base64.RawURLEncoding.DecodeString(macText)
	if err != nil {
		return false
	}
	return hmac.Equal(mac, ticketMAC(key, roomID, ms))
}

func ticketMAC(key []byte, roomID string, ms int64) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("colachat-ticket\x00"))
	h.Write([]byte(roomID))
	var b [9]byte
	binary.BigEndian.PutUint64(b[1:], uint64(ms))
	h.Write(b[:])
	return h.Sum(nil)
}
