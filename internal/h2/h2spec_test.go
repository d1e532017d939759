package h2

import (
	"io"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/internal/testkit/h2conform"
)

// TestH2Spec runs h2spec's conformance suite against the server; every case
// must pass.
func TestH2Spec(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok, h2spec\n") // 5 bytes or more: no case skips
	}), Options{MaxHeaderBytes: 16 << 10})
	t.Logf("h2spec: %d cases", h2conform.Run(t, ts.addr, "/"))
}
