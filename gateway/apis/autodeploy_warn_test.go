package apis

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/store"
)

// lockedBuffer is a bytes.Buffer safe for the logger's concurrent use.
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

// TestAutoDeployFailureIsLogged: a change that an autoDeploy stage cannot
// deploy (a route without a target) logs a warning naming the API, the stage
// and the reason, and the reason says the way out; it was only in the
// stage's lastDeploymentStatusMessage, so every later change went unserved
// unseen (r-httpapi25 finding 6).
func TestAutoDeployFailureIsLogged(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var logs lockedBuffer
	s := NewService(st, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	a := mustCreate(t, s, &API{Name: "auto", Protocol: ProtocolHTTP, Definition: Definition{Routes: []Route{
		{Method: "GET", Path: "/x", Integration: &Integration{Type: IntegrationMock}}}}})
	if _, err := s.CreateStage(ctx, a.ID, StageInput{Name: "live", AutoDeploy: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRoute(ctx, a.ID, Route{Method: "GET", Path: "/t3"}); err != nil {
		t.Fatal(err)
	}
	stage, err := s.GetStage(ctx, a.ID, "live")
	if err != nil {
		t.Fatal(err)
	}
	if m := stage.LastDeploymentStatusMessage; !strings.Contains(m, `route "GET /t3"`) || !strings.Contains(m, "update-route --target integrations/ID") {
		t.Errorf("status message: %q", m)
	}
	out := logs.String()
	for _, want := range []string{"level=WARN", "automatic deployment failed", "api=" + a.ID, "stage=live", "GET /t3"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
