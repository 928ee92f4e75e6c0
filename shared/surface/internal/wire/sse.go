package wire

import (
	"crypto/rand"
	"encoding/hex"
)

// AppendEventHead appends the start of a named server-sent event whose data
// is a JSON object with "type" equal to the name, as both the Responses and
// the Messages API write them: `event: NAME\ndata: {"type":"NAME"`. The
// caller writes the object's other members and closes it with EventEnd.
func AppendEventHead(dst []byte, name string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, name...)
	return append(dst, '"')
}

// EventEnd closes the data object of an event and the event.
const EventEnd = "}\n\n"

// RandomID returns prefix followed by 16 random bytes from crypto/rand as 32
// hex digits, for ids that must not repeat across requests or routers.
func RandomID(prefix string) string {
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand documents it)
	var buf [64]byte
	b := append(buf[:0], prefix...)
	b = hex.AppendEncode(b, raw[:])
	return string(b)
}
