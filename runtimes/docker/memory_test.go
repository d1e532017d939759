package docker

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestInitExitReportsPeakMemory: a sandbox that exits during its init (its
// bootstrap cannot reach the Runtime API and exits at once) reports the peak
// memory its cgroup measured, not 0 MB, though Docker removes the cgroup
// before the wait learns of the exit and the process can be gone before its
// inspect: the peak file's place is learnt from an earlier container and read
// at once after the start.
func TestInitExitReportsPeakMemory(t *testing.T) {
	runtimetest.RequireDocker(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	defer func() { _ = rt.Cleanup(context.Background()) }()

	first := runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: fmt.Sprintf("sbx-peak-%x", rand.Uint32()), //nolint:gosec // G404: a name
		Function: "fn", Version: "1", MemoryMB: 128})
	<-first.(*sandbox).attached
	if first.(*sandbox).peakFile == "" {
		t.Skip("the containers' cgroup files cannot be read from here")
	}
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	code := runtimetest.CodeDir(t, runtimetest.BuildSandbox(t))
	for i := range 5 {
		spec := runtimes.Spec{SandboxID: fmt.Sprintf("sbx-initexit-%d-%x", i, rand.Uint32()), //nolint:gosec // G404: a name
			Function: "fn", Version: "1", MemoryMB: 128, PackageType: "Zip", CodeDir: code,
			Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}} // refused: exit 10 at its first next
		sb, err := rt.Start(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _, _ = io.Copy(io.Discard, sb.Logs()) }()
		<-sb.Done()
		if err := sb.Err(); err == nil || err.Error() != "exit status 10" {
			t.Fatalf("sandbox %d: Err() = %v, want exit status 10", i, err)
		}
		if mb := sb.(runtimes.MemoryReporter).MaxMemoryMB(); mb <= 0 {
			t.Errorf("sandbox %d exited during its init: MaxMemoryMB() = %d, want what its cgroup measured", i, mb)
		}
	}
}
