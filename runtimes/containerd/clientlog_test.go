package containerd

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	clog "github.com/containerd/log"
)

// TestClientLogInPorticosFormat: what containerd's client library logs
// (logrus: `level=info msg="fetch failed"`) goes through Portico's slog
// logger, in its format, and not to stderr in logrus' (r-rt29 #3).
func TestClientLogInPorticosFormat(t *testing.T) {
	var buf lockedLog
	routeClientLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { routeClientLog(slog.New(slog.NewTextHandler(io.Discard, nil))) })
	if clog.L.Logger.Out != io.Discard {
		t.Errorf("the client library's logger still writes to %v", clog.L.Logger.Out)
	}
	clog.L.WithField("host", "registry-1.docker.io").WithError(errors.New("failed to do request")).Info("fetch failed")
	clog.L.Warn("something to see")
	out := buf.String()
	for _, want := range []string{`level=DEBUG msg="fetch failed" from="containerd client" error="failed to do request" host=registry-1.docker.io`,
		`level=WARN msg="something to see"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "level=info") {
		t.Errorf("logrus' format in the log:\n%s", out)
	}
}
