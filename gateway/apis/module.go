package apis

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/store"
)

// Module provides the API service (*Service) that the gateway serves from and
// the admin API manages.
var Module = fx.Module("apis",
	fx.Provide(func(st *store.Store, log *slog.Logger) *Service {
		return NewService(st, log.With("component", "apis"))
	}),
)
