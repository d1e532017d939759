package main

import (
	"strings"
	"testing"
)

// TestReadPayloadNamesAByteOrderMark: a --payload that starts with a byte
// order mark (pasted from an editor) is refused naming the mark, which is
// invisible when the value is quoted back (verify27b #4); valid JSON and
// other invalid JSON are answered as before.
func TestReadPayloadNamesAByteOrderMark(t *testing.T) {
	if _, err := readPayload("\ufeff{\"a\":1}"); err == nil || !strings.Contains(err.Error(), "byte order mark (U+FEFF") {
		t.Errorf("a payload with a BOM: %v", err)
	}
	if _, err := readPayload("{a}"); err == nil || !strings.Contains(err.Error(), "quote it for your shell") {
		t.Errorf("invalid JSON: %v", err)
	}
	if b, err := readPayload(`{"a":1}`); err != nil || string(b) != `{"a":1}` {
		t.Errorf("valid JSON: %q, %v", b, err)
	}
}
