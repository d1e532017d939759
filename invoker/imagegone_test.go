package invoker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
)

// goneRuntime is a containerd-named runtime that has no image a pin names.
type goneRuntime struct{ runtimes.Runtime }

func (goneRuntime) Name() string { return "containerd" }

func (goneRuntime) Start(_ context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	return nil, &runtimes.ImageGoneError{Image: spec.Image, Function: spec.Function, Version: spec.Version}
}

// TestImageGoneNamesTheFormerRuntime: an Image function whose pin is missing
// after the data directory's runtime changed is told so, with the remedy for
// it (the function's ImageUri to re-pin), not an import (r-rt29 #1).
func TestImageGoneNamesTheFormerRuntime(t *testing.T) {
	e := newEnvWrapped(t, t.TempDir(), nil, func(r runtimes.Runtime) runtimes.Runtime { return goneRuntime{r} })
	e.inv.SetFormerRuntime("docker")
	id := "sha256:" + strings.Repeat("ce", 32)
	fn := e.fns.add(&functions.Config{FunctionName: "im1", PackageType: functions.PackageImage, ImageURI: "rt29/fn:1", ResolvedImage: id})
	_, err := e.inv.Invoke(context.Background(), Request{Function: fn, Payload: []byte(`{}`)})
	var gone *runtimes.ImageGoneError
	if !errors.As(err, &gone) {
		t.Fatalf("invoke: %v; want an ImageGoneError", err)
	}
	msg := gone.ClientMessage()
	for _, want := range []string{"ran on the docker runtime", "--runtime docker", "portico fn update im1 --image rt29/fn:1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}
