package docker

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// TestStartWithContainerdDownIsUnavailable: Docker up but its containerd down
// refuses a container's start with a 500 whose message names containerd's
// socket. That is the runtime not answering (DaemonDownError, ErrUnavailable,
// the documented "container runtime is not answering" guidance), not an
// internal error the caller is told nothing of; and the error names the image
// (it said "(image )" for a Zip function, whose image is the base one).
func TestStartWithContainerdDownIsUnavailable(t *testing.T) {
	r := &Runtime{}
	for _, c := range []struct {
		name string
		err  error
		sock string
	}{
		{"refused", fmt.Errorf("Error response from daemon: failed to create task for container: failed to create shim task: connection error: "+
			`desc = "transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: connection refused": unavailable: %w`, cerrdefs.ErrInternal),
			"/run/containerd/containerd.sock"},
		{"no socket", fmt.Errorf(`Error response from daemon: connection error: desc = "transport: error while dialing: dial unix:///var/run/docker/containerd/containerd.sock: connect: no such file or directory": %w`, cerrdefs.ErrUnknown),
			"/var/run/docker/containerd/containerd.sock"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := r.startError("sbx-1", "portico/zip-base:abc", c.err)
			var down *runtimes.DaemonDownError
			if !errors.As(err, &down) || !errors.Is(err, errdefs.ErrUnavailable) {
				t.Fatalf("start with containerd down: %v; want a DaemonDownError (ErrUnavailable)", err)
			}
			msg := down.ClientMessage()
			if !strings.HasPrefix(msg, "The container runtime is not answering") || !strings.Contains(msg, c.sock) {
				t.Errorf("the caller is told %q; want the runtime-not-answering guidance naming %s", msg, c.sock)
			}
			if !strings.Contains(err.Error(), "(image portico/zip-base:abc)") {
				t.Errorf("the error does not name the image: %v", err)
			}
		})
	}
	// Any other refusal stays the daemon's error, naming the image.
	err := r.startError("sbx-1", "app:1", fmt.Errorf("Error response from daemon: bad mount: %w", cerrdefs.ErrInvalidArgument))
	if errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "(image app:1)") {
		t.Errorf("an invalid start: %v; want the daemon's error naming the image", err)
	}
}
