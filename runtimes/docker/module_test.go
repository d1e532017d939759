package docker

import (
	"testing"

	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestModule: the module provides the Docker Factory into the "runtimes" group.
func TestModule(t *testing.T) {
	got := runtimetest.ModuleFactories(t, Module)
	if len(got) != 1 || got[0].Name != "docker" || got[0].Priority != 10 || got[0].Probe == nil || got[0].New == nil {
		t.Fatalf("factories %+v", got)
	}
}
