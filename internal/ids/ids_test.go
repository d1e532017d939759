package ids

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := UUID()
		if !uuidRe.MatchString(id) {
			t.Fatalf("UUID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("UUID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestBase64AndURLSafe(t *testing.T) {
	for _, n := range []int{10, 11, 12} {
		s := Base64(n)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != n {
			t.Errorf("Base64(%d) = %q: %d bytes, %v", n, s, len(b), err)
		}
		u := URLSafe(n)
		b, err = base64.RawURLEncoding.DecodeString(u)
		if err != nil || len(b) != n {
			t.Errorf("URLSafe(%d) = %q: %d bytes, %v", n, u, len(b), err)
		}
	}
	if a, b := Base64(11), Base64(11); a == b {
		t.Error("two random ids are equal")
	}
	if a, b := URLSafe(12), URLSafe(12); a == b {
		t.Error("two random ids are equal")
	}
}

func TestFromAlphabet(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := FromAlphabet(Lowercase36, 10)
		if len(id) != 10 || strings.Trim(id, Lowercase36) != "" {
			t.Fatalf("%q: want 10 characters of %s", id, Lowercase36)
		}
		seen[id] = true
	}
	if len(seen) < 100 {
		t.Fatalf("%d distinct ids of 100", len(seen))
	}
}

func TestRequestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, ext := RequestIDs()
		if !uuidRe.MatchString(id) {
			t.Fatalf("RequestIDs() uuid = %q, not a version 4 UUID", id)
		}
		b, err := base64.StdEncoding.DecodeString(ext)
		if err != nil || len(b) != 10 || len(ext) != 16 {
			t.Fatalf("RequestIDs() extended = %q: %d bytes, %v", ext, len(b), err)
		}
		if seen[id] || seen[ext] {
			t.Fatalf("RequestIDs() repeated %q or %q", id, ext)
		}
		seen[id], seen[ext] = true, true
	}
}

func BenchmarkRequestIDs(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = RequestIDs()
	}
}

// A connection id that began with '-' (one in 64) was read as a flag by
// `portico connections send ID` and the AWS CLI.
func TestURLSafeNeverBeginsWithDash(t *testing.T) {
	for top := 0; top < 256; top++ {
		b := []byte{byte(top), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
		id := urlSafe(b)
		if id[0] == '-' {
			t.Fatalf("urlSafe(%#x...) = %q begins with '-'", top, id)
		}
		if len(id) != 16 {
			t.Fatalf("urlSafe = %q, want 16 characters", id)
		}
	}
}
