// Package aliases holds the alias model and resolution: an alias names a published
// version (or $LATEST) of a function, optionally with a second version that gets a
// weighted share of the calls.
package aliases

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/store"
)

const bucketAliases = "aliases" // function + "\x00" + alias -> Alias

// Alias is one alias. JSON names follow Lambda's AliasConfiguration.
type Alias struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionName    string         `json:"-"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description,omitempty"`
	RoutingConfig   *RoutingConfig `json:"RoutingConfig,omitempty"`
	RevisionID      string         `json:"RevisionId"`
}

// RoutingConfig sends a share of an alias's calls to one more version.
type RoutingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights,omitempty"`
}

// Input creates or updates an alias; on update nil/empty fields are left as they are
// (RoutingConfig non-nil with an empty map removes routing).
type Input struct {
	Name            string
	FunctionVersion string
	Description     *string
	RoutingConfig   *RoutingConfig
	RevisionID      string // optional: must match on update
}

// Service manages aliases and resolves refs to versions. Safe for concurrent use.
type Service struct {
	st   *store.Store
	fns  *functions.Service
	log  *slog.Logger
	rand func() float64 // for weighted picks; replaceable in tests
}

// NewService returns a Service; it registers a delete hook on fns.
func NewService(st *store.Store, fns *functions.Service, log *slog.Logger) *Service {
	s := &Service{st: st, fns: fns, log: log, rand: rand.Float64}
	return s
}

var errTODO = errors.New("not implemented")

// Create creates an alias on function fn.
func (s *Service) Create(ctx context.Context, fn string, in Input) (*Alias, error) {
	return nil, errTODO
}

// Get returns one alias.
func (s *Service) Get(ctx context.Context, fn, name string) (*Alias, error) { return nil, errTODO }

// List returns fn's aliases by name; a non-empty version keeps only those pointing at it.
func (s *Service) List(ctx context.Context, fn, version string) ([]*Alias, error) {
	return nil, errTODO
}

// Update changes an alias.
func (s *Service) Update(ctx context.Context, fn string, in Input) (*Alias, error) {
	return nil, errTODO
}

// Delete deletes an alias.
func (s *Service) Delete(ctx context.Context, fn, name string) error { return errTODO }

// Resolve returns the configuration of the version that a call to ref runs: the
// version itself, $LATEST, or for an alias its version or (by weight) its additional
// version. Unknown functions, versions or aliases are errdefs.ErrNotFound.
func (s *Service) Resolve(ctx context.Context, ref functions.Ref) (*functions.Config, error) {
	return nil, errTODO
}

// Module provides *Service.
var Module = fx.Module("aliases",
	fx.Provide(func(st *store.Store, fns *functions.Service, log *slog.Logger) *Service {
		return NewService(st, fns, log.With("component", "aliases"))
	}),
)
