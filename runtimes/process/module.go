package process

import (
	"context"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/store"
)

// Factory returns the process runtime's candidate for runtimes.Choose. It always
// probes as available, comes last under "auto", and is Unisolated: "auto"
// warns when it falls back to it.
func Factory(stateDir string, grace time.Duration, log *slog.Logger) runtimes.Factory {
	return runtimes.Factory{
		Name:     "process",
		Priority: 100,
		// Child processes of the server, as its user: no isolation.
		Unisolated: true,
		New: func(context.Context) (runtimes.Runtime, error) {
			return NewLogged(stateDir, grace, log)
		},
	}
}

// Module provides the process runtime's Factory into the "runtimes" value group,
// keeping its pid files under the data directory.
var Module = fx.Module("runtimes/process",
	fx.Provide(fx.Annotate(
		func(st *store.Store, log *slog.Logger) (runtimes.Factory, error) {
			dir, err := st.Path("run", "process", "x")
			if err != nil {
				return runtimes.Factory{}, err
			}
			return Factory(dir[:len(dir)-2], 2*time.Second, log.With("component", "runtimes")), nil
		},
		fx.ResultTags(`group:"runtimes"`),
	)),
)
