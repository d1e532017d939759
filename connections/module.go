package connections

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/runtimes"
)

// GatewayHoster is implemented by runtimes whose sandboxes reach the host's
// gateway at an address other than HostAddr (a name such as
// host.docker.internal, say). Optional; found by type assertion.
type GatewayHoster interface {
	// GatewayHost returns the host, without a port, at which a sandbox reaches
	// services listening on the host.
	GatewayHost() string
}

// ModuleParams are the connections module's fx dependencies.
type ModuleParams struct {
	fx.In

	Config  Config `optional:"true"`
	Log     *slog.Logger
	Runtime runtimes.Runtime `optional:"true"`
}

// NewFromParams builds the Manager for fx: Config's CallbackHost defaults to the
// address at which the runtime's sandboxes reach the host.
func NewFromParams(p ModuleParams) *Manager {
	cfg := p.Config
	if cfg.CallbackHost == "" && p.Runtime != nil {
		if gh, ok := p.Runtime.(GatewayHoster); ok {
			cfg.CallbackHost = gh.GatewayHost()
		} else {
			cfg.CallbackHost = p.Runtime.HostAddr()
		}
	}
	return New(cfg, p.Log.With("component", "connections"))
}

// Module provides *Manager, and the invoker.CredentialIssuer that gives sandboxes
// credentials the @connections API accepts. On stop it closes every connection.
var Module = fx.Module("connections",
	fx.Provide(
		NewFromParams,
		func(m *Manager) invoker.CredentialIssuer { return m },
	),
	fx.Invoke(func(lc fx.Lifecycle, m *Manager) {
		lc.Append(fx.Hook{OnStop: m.Shutdown})
	}),
)

var _ invoker.CredentialIssuer = (*Manager)(nil)
