package usage

import (
	"crypto/subtle"
	"encoding/json"
)

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
