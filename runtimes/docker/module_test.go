package docker

import (
	"testing"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/runtimes"
)

// TestModule: the module provides the Docker Factory into the "runtimes" group.
func TestModule(t *testing.T) {
	var got []runtimes.Factory
	app := fx.New(Module, fx.NopLogger, fx.Invoke(func(p struct {
		fx.In
		Factories []runtimes.Factory `group:"runtimes"`
	}) {
		got = p.Factories
	}))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "docker" || got[0].Priority != 10 || got[0].Probe == nil || got[0].New == nil {
		t.Fatalf("factories %+v", got)
	}
}
