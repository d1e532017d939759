package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestListenerRefusalsLogTheirRequestID guards what r-obs28's finding 2
// asked for: a request the listener refuses (431 for a header over
// max-header-bytes) reaches no stage's access log or metrics, but the
// debug line "gateway request refused" names its x-amzn-RequestId and
// status (docs/operations.md says so).
func TestListenerRefusalsLogTheirRequestID(t *testing.T) {
	_, svc := gwtest.APIs(t)
	created := gwtest.Deploy(t, svc, mockAPI(), apis.DeployInput{StageName: "s"})
	var buf lockedBuffer
	gw := New(Config{Listen: "127.0.0.1:0"}, svc, nil, nil, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	s := NewServer(gw, nil, listener.Limits{MaxHeaderBytes: 8 << 10})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	req, err := http.NewRequest("GET", s.URL()+"/"+created.ID+"/s/mock", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	id := res.Header.Get("x-amzn-RequestId")
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge || id == "" {
		t.Fatalf("answer %d, request id %q", res.StatusCode, id)
	}
	out := buf.String()
	if !strings.Contains(out, "requestId="+id) || !strings.Contains(out, "status=431") {
		t.Errorf("no line names request %s:\n%s", id, out)
	}
}
