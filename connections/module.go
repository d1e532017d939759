package connections

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/invoker"
)

// ModuleParams are the connections module's fx dependencies.
type ModuleParams struct {
	fx.In

	Config Config `optional:"true"`
	Log    *slog.Logger
}

// Module provides *Manager, and the invoker.CredentialIssuer that gives sandboxes
// credentials the @connections API accepts. On stop it closes every connection.
var Module = fx.Module("connections",
	fx.Provide(
		func(p ModuleParams) *Manager { return New(p.Config, p.Log.With("component", "connections")) },
		func(m *Manager) invoker.CredentialIssuer { return m },
	),
	fx.Invoke(func(lc fx.Lifecycle, m *Manager) {
		lc.Append(fx.Hook{OnStop: m.Shutdown})
	}),
)

var _ invoker.CredentialIssuer = (*Manager)(nil)
