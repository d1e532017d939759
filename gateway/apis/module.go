package apis

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/store"
)

// Module provides the API service (*Service) that the gateway serves from and
// the admin API manages, and the store migrations of its buckets.
var Module = fx.Module("apis",
	fx.Provide(func(st *store.Store, log *slog.Logger) *Service {
		return NewService(st, log.With("component", "apis"))
	}),
	// The store runs this package's migrations when it opens.
	fx.Provide(
		fx.Annotate(func() store.Migration { return MigrateThrottleUnset }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`)),
		fx.Annotate(func() store.Migration { return MigrateZeroBurst }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`)),
		fx.Annotate(func() store.Migration { return MigrateWSResponseSelection }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`)),
		fx.Annotate(func() store.Migration { return MigrateModelText }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`)),
		fx.Annotate(func() store.Migration { return MigrateCORSMaxAgeZero }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`)),
	),
)
