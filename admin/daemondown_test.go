package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/runtimes"
)

// TestDaemonDownSaysWhatIsWrong: an invoke that fails because the container
// runtime's daemon does not answer keeps its 503 ServiceException, but the
// message says which daemon at which address does not answer and what to do,
// where it said "The AWS Lambda service encountered an internal error." It
// carries no password of the address and nothing of the cause.
func TestDaemonDownSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		name     string
		down     *runtimes.DaemonDownError
		want     []string
		wantNone []string
	}{
		{"docker", &runtimes.DaemonDownError{Runtime: "docker", Daemon: "Docker", Address: "unix:///var/run/docker.sock", Op: "creating the container", Err: syscall.ECONNREFUSED},
			[]string{"container runtime is not answering", "Docker at unix:///var/run/docker.sock does not answer", "Start Docker"}, []string{"refused"}},
		{"containerd", &runtimes.DaemonDownError{Runtime: "containerd", Daemon: "containerd", Address: "/run/containerd/containerd.sock", Err: syscall.ENOENT},
			[]string{"containerd at /run/containerd/containerd.sock does not answer", "Start containerd", "socket"}, []string{"no such file"}},
		{"credentials in the address", &runtimes.DaemonDownError{Runtime: "docker", Daemon: "Docker", Address: "ssh://me:hunter2@build-host", Err: errors.New("dial")},
			[]string{"Docker at ssh://build-host does not answer"}, []string{"hunter2", "me:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fmt.Errorf("invoke fn: %w", tc.down)
			rec := httptest.NewRecorder()
			s.writeError(rec, httptest.NewRequest(http.MethodPost, "/2015-03-31/functions/fn/invocations", nil), err)
			var body struct{ Type, Message string }
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("x-amzn-ErrorType") != "ServiceException" || body.Type != "Service" {
				t.Errorf("%d %s %s; want 503 ServiceException", rec.Code, rec.Header().Get("x-amzn-ErrorType"), rec.Body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body.Message, w) {
					t.Errorf("message %q does not say %q", body.Message, w)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(body.Message, w) {
					t.Errorf("message %q says %q", body.Message, w)
				}
			}
		})
	}
}
