package invoker

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/store"
)

// ModuleParams are the invoker's fx dependencies.
type ModuleParams struct {
	fx.In

	Config      Config
	Runtime     runtimes.Runtime
	Functions   *functions.Service
	Store       *store.Store
	Log         *slog.Logger
	Credentials CredentialIssuer `optional:"true"`
	Trust       TrustSource      `optional:"true"`
	Resolver    Resolver         `optional:"true"`
	Usage       Usage            `optional:"true"`
	Observer    Observer         `optional:"true"`
}

// Module provides *Invoker and runs it for the app's lifetime.
var Module = fx.Module("invoker",
	fx.Provide(fx.Annotate(func() store.Migration { return MigrateEventState }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`))),
	fx.Provide(fx.Annotate(func() store.Migration { return MigrateEventAlias }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`))),
	fx.Provide(func(p ModuleParams) (*Invoker, error) {
		return New(Params{
			Config: p.Config, Runtime: p.Runtime, Functions: p.Functions, Store: p.Store,
			Log: p.Log.With("component", "invoker"), Credentials: p.Credentials, Trust: p.Trust, Resolver: p.Resolver, Usage: p.Usage,
			Observer: p.Observer,
		})
	}),
	fx.Invoke(func(lc fx.Lifecycle, i *Invoker) {
		lc.Append(fx.Hook{OnStart: i.Start, OnStop: i.Stop})
	}),
)
