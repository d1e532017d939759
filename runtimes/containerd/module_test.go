package containerd

import (
	"testing"

	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestModule: the module provides the containerd Factory into the "runtimes" group.
func TestModule(t *testing.T) {
	got := runtimetest.ModuleFactories(t, Module)
	if len(got) != 1 || got[0].Name != "containerd" || got[0].Priority != 20 || got[0].Probe == nil || got[0].New == nil {
		t.Fatalf("factories %+v", got)
	}
}
