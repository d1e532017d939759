package runtimetest

import (
	"testing"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/runtimes"
)

// ModuleFactories builds an application of module alone and returns the
// factories it provides into the "runtimes" value group.
func ModuleFactories(tb testing.TB, module fx.Option) []runtimes.Factory {
	tb.Helper()
	var got []runtimes.Factory
	app := fx.New(module, fx.NopLogger, fx.Invoke(func(p struct {
		fx.In
		Factories []runtimes.Factory `group:"runtimes"`
	}) {
		got = p.Factories
	}))
	if err := app.Err(); err != nil {
		tb.Fatal(err)
	}
	return got
}
