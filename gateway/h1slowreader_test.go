package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/listener/listenertest"
)

// TestH1SlowReaderIsBounded: an HTTP/1.1 client of the default engine that
// asks for a large answer (9 MiB from an HTTP_PROXY backend) and never reads
// it holds the gateway's handler, its backend request and its connection no
// longer than the listener's idle timeout once its socket takes nothing more:
// the connection closes and the backend's request is cancelled.
func TestH1SlowReaderIsBounded(t *testing.T) {
	const size = 9 << 20
	backendDone := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		chunk := strings.Repeat("x", 64<<10)
		for n := 0; n < size; n += len(chunk) {
			if _, err := io.WriteString(w, chunk); err != nil {
				break
			}
		}
		<-r.Context().Done() // the gateway gave up on the request
		close(backendDone)
	}))
	t.Cleanup(backend.Close)
	s, _ := slowReaderClient(t, Config{Listen: "127.0.0.1:0"}, backend.URL)
	// The client reads nothing.
	select {
	case <-backendDone:
	case <-time.After(listenertest.Bound):
		t.Fatal("the backend's request is still going on for a client that reads nothing")
	}
	for deadline := time.Now().Add(listenertest.Bound); s.h1.Open() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server still holds %d connections", s.h1.Open())
		}
	}
}
