package runtimes

import (
	"context"
	"log/slog"

	"go.uber.org/fx"
)

// ModuleParams collects the runtimes a build offers.
type ModuleParams struct {
	fx.In

	Config    Config
	Factories []Factory `group:"runtimes"`
	Log       *slog.Logger
	Lifecycle fx.Lifecycle
}

// Module provides the Runtime chosen by Config.Name from the "runtimes" value group,
// and closes it on stop.
var Module = fx.Module("runtimes",
	fx.Provide(func(p ModuleParams) (Runtime, error) {
		rt, err := Choose(context.Background(), p.Config.Name, p.Factories, p.Log.With("component", "runtimes"))
		if err != nil {
			return nil, err
		}
		p.Lifecycle.Append(fx.StopHook(rt.Close))
		return rt, nil
	}),
)
