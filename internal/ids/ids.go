// Package ids generates the random identifiers Portico hands out: request ids,
// revision ids, sandbox and connection ids. Every function is safe for concurrent
// use; randomness comes from crypto/rand, whose Read never fails, except for
// RequestIDs (see there).
package ids

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	mrand "math/rand/v2"
)

// UUID returns a random (version 4) UUID in its 36-character text form, the shape
// AWS uses for request and revision ids.
func UUID() string {
	var out [36]byte
	var b [16]byte
	_, _ = rand.Read(b[:])
	encodeUUID(out[:], &b)
	return string(out[:])
}

// encodeUUID writes b as a version 4 UUID's text form into out (36 bytes).
func encodeUUID(out []byte, b *[16]byte) {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:])
}

// RequestIDs returns a UUID (as UUID does) and 10 random bytes in standard
// base64 (as Base64(10) does, API Gateway's extended request id), in one
// allocation: a request's two ids. A request id names a request in logs and
// answers and grants nothing, so its 26 random bytes come from math/rand/v2's
// global generator (the runtime's ChaCha8, seeded by the operating system, per
// thread and without a lock) rather than from crypto/rand, whose read costs
// more on every request.
func RequestIDs() (uuid, extended string) {
	const n = 10
	var raw [32]byte // 16 + n used
	for i := 0; i < len(raw); i += 8 {
		binary.LittleEndian.PutUint64(raw[i:], mrand.Uint64()) //nolint:gosec // G404: a request id grants nothing (see above)
	}
	var out [36 + 16]byte // base64 of 10 bytes is 16 characters
	encodeUUID(out[:36], (*[16]byte)(raw[:16]))
	base64.StdEncoding.Encode(out[36:], raw[16:16+n])
	s := string(out[:])
	return s[:36], s[36:]
}

// Base64 returns n random bytes in standard base64 with padding, the shape of API
// Gateway's extended request ids ("TWegAcC4EowCHnA=", n = 10) and WebSocket
// message ids ("R1knPH17NjMFftw=", n = 11).
func Base64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// URLSafe returns n random bytes in unpadded base64url: unguessable and safe in
// a URL path (a connection id is URLSafe(12), 16 characters). It never begins
// with '-', so an id passed on a command line is not taken for a flag.
func URLSafe(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return urlSafe(b)
}

func urlSafe(b []byte) string {
	// The first character is the top six bits of b[0]; 62 is '-' in base64url.
	// Flipping the top bit makes it 30 ('e'): one value in 64 is drawn twice as
	// often, and the id keeps its 6n-1 random bits and more.
	if len(b) > 0 && b[0]>>2 == 62 {
		b[0] ^= 0x80
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Lowercase36 is the alphabet of API Gateway's resource ids: lowercase letters
// and digits ("a1b2c3d4e5").
const Lowercase36 = "abcdefghijklmnopqrstuvwxyz0123456789"

// FromAlphabet returns n random characters of alphabet (at most 256 of them;
// the small bias of a modulo is of no concern for identifiers).
func FromAlphabet(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
