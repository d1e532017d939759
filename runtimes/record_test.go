package runtimes_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// TestRecordRuntime: a data directory remembers the runtime it last ran on,
// and the one before when it changed, across starts on the same one (r-rt29 #1).
func TestRecordRuntime(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
	steps := []struct {
		name          string
		before, after runtimes.Record
	}{
		{"docker", runtimes.Record{}, runtimes.Record{Runtime: "docker"}},
		{"docker", runtimes.Record{Runtime: "docker"}, runtimes.Record{Runtime: "docker"}},
		{"containerd", runtimes.Record{Runtime: "docker"}, runtimes.Record{Runtime: "containerd", Former: "docker", Changed: t0.Add(2 * time.Hour)}},
		{"containerd", runtimes.Record{Runtime: "containerd", Former: "docker", Changed: t0.Add(2 * time.Hour)},
			runtimes.Record{Runtime: "containerd", Former: "docker", Changed: t0.Add(2 * time.Hour)}},
		{"docker", runtimes.Record{Runtime: "containerd", Former: "docker", Changed: t0.Add(2 * time.Hour)},
			runtimes.Record{Runtime: "docker", Former: "containerd", Changed: t0.Add(4 * time.Hour)}},
	}
	for i, s := range steps {
		before, after, err := runtimes.RecordRuntime(dir, s.name, t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !before.Changed.Equal(s.before.Changed) || before.Runtime != s.before.Runtime || before.Former != s.before.Former {
			t.Errorf("step %d (%s): before %+v, want %+v", i, s.name, before, s.before)
		}
		if !after.Changed.Equal(s.after.Changed) || after.Runtime != s.after.Runtime || after.Former != s.after.Former {
			t.Errorf("step %d (%s): after %+v, want %+v", i, s.name, after, s.after)
		}
	}
}

// TestImageGoneOnAnotherRuntime: a pin missing after the data directory's
// runtime changed says so and how to fix it, and not to import (r-rt29 #1).
func TestImageGoneOnAnotherRuntime(t *testing.T) {
	e := &runtimes.ImageGoneError{Image: "sha256:" + strings.Repeat("ab", 32), Function: "im1", Version: "$LATEST",
		Runtime: "containerd", Former: "docker", Ref: "rt29/fn:1"}
	msg := e.ClientMessage()
	for _, want := range []string{"pinned when this data directory ran on the docker runtime", "--runtime docker",
		"portico fn update im1 --image rt29/fn:1", "cannot bring back another runtime's image id"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	var k *errdefs.Kinded
	if !errors.As(e, &k) || k.Message != msg || !errors.Is(e, errdefs.ErrUnavailable) {
		t.Errorf("kind: %#v", k)
	}
	same := &runtimes.ImageGoneError{Image: e.Image, Function: "im1", Runtime: "docker", Former: "docker"}
	if !strings.Contains(same.ClientMessage(), "portico image import") {
		t.Errorf("without a change of runtime the message should advise an import: %s", same.ClientMessage())
	}
}
