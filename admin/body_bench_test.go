package admin

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkReadBody reads a function's code upload (8 MiB of JSON) as the
// admin routes do: "declared" with its Content-Length (read into one buffer
// that size), "undeclared" chunked (a buffer that grows as it arrives).
func BenchmarkReadBody(b *testing.B) {
	body := bytes.Repeat([]byte("A"), 8<<20)
	for _, declared := range []bool{true, false} {
		b.Run("declared="+strconv.FormatBool(declared), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/2015-03-31/functions", bytes.NewReader(body))
				if !declared {
					r.ContentLength = -1
				}
				raw, err := readBody(httptest.NewRecorder(), r, lambdaCode)
				if err != nil || len(raw) != len(body) {
					b.Fatalf("read %d bytes, %v", len(raw), err)
				}
			}
		})
	}
}

// TestReadBodyDeclaredLength reads bodies whose declared length is shorter
// than, equal to, and longer than the preallocation bound whole.
func TestReadBodyDeclaredLength(t *testing.T) {
	for _, n := range []int{1, bytes.MinRead, 4096, preallocMax + 3} {
		body := bytes.Repeat([]byte("b"), n)
		r := httptest.NewRequest(http.MethodPost, "/2015-03-31/functions", bytes.NewReader(body))
		raw, err := readBody(httptest.NewRecorder(), r, lambdaCode)
		if err != nil || !bytes.Equal(raw, body) {
			t.Errorf("%d bytes declared: read %d bytes, %v", n, len(raw), err)
		}
	}
}
