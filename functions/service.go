package functions

import (
	"context"
	"errors"
	"log/slog"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/store"
)

// Store buckets owned by this package.
const (
	bucketFunctions   = "functions"   // name -> Config ($LATEST)
	bucketVersions    = "versions"    // name + "\x00" + zero-padded version -> Config
	bucketProvisioned = "provisioned" // name + "\x00" + qualifier -> ProvisionedConfig
)

// ProvisionedConfig keeps N sandboxes of a version warm ahead of traffic, like
// Lambda's provisioned concurrency. Qualifier is a version number or an alias.
type ProvisionedConfig struct {
	FunctionName string `json:"FunctionName"`
	Qualifier    string `json:"Qualifier"`
	Requested    int    `json:"RequestedProvisionedConcurrentExecutions"`
}

// DeleteHook runs inside the transaction that deletes a function (version == "") or
// one version; returning an error aborts the delete. Aliases use it to refuse
// deleting a version an alias points at, and to delete a function's aliases with it.
type DeleteHook func(tx *store.Tx, name, version string) error

// Service manages functions, versions and code artifacts. Safe for concurrent use.
type Service struct {
	st     *store.Store
	log    *slog.Logger
	images runtimes.ImageResolver // may be nil: Image versions are then pinned to their tag
	hooks  []DeleteHook
	subs   []func(name string)
}

// NewService returns a Service over st. images may be nil.
func NewService(st *store.Store, images runtimes.ImageResolver, log *slog.Logger) (*Service, error) {
	return &Service{st: st, log: log, images: images}, nil
}

var errTODO = errors.New("not implemented")

// Create creates a function from in; with in.Publish it also publishes version 1.
// A name in use is errdefs.ErrConflict; bad parameters or a bad zip errdefs.ErrInvalid.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Config, error) {
	return nil, errTODO
}

// Get returns $LATEST (version "" or "$LATEST") or a published version.
func (s *Service) Get(ctx context.Context, name, version string) (*Config, error) {
	return nil, errTODO
}

// List returns the $LATEST configuration of every function, by name.
func (s *Service) List(ctx context.Context) ([]*Config, error) { return nil, errTODO }

// UpdateCode replaces $LATEST's code.
func (s *Service) UpdateCode(ctx context.Context, name string, in CodeInput) (*Config, error) {
	return nil, errTODO
}

// UpdateConfig changes $LATEST's configuration.
func (s *Service) UpdateConfig(ctx context.Context, name string, p ConfigPatch) (*Config, error) {
	return nil, errTODO
}

// Delete deletes a function with all its versions (version ""), or one published
// version. $LATEST alone cannot be deleted.
func (s *Service) Delete(ctx context.Context, name, version string) error { return errTODO }

// Publish publishes $LATEST as a new version, or returns the latest version when
// nothing changed since it was published. revisionID, when set, must match $LATEST's.
func (s *Service) Publish(ctx context.Context, name, description, revisionID string) (*Config, error) {
	return nil, errTODO
}

// ListVersions returns $LATEST followed by the published versions in order.
func (s *Service) ListVersions(ctx context.Context, name string) ([]*Config, error) {
	return nil, errTODO
}

// SetReservedConcurrency sets (n != nil) or removes the function's reserved concurrency.
func (s *Service) SetReservedConcurrency(ctx context.Context, name string, n *int) error {
	return errTODO
}

// PutProvisioned sets provisioned concurrency for a version or alias qualifier;
// n == 0 removes it.
func (s *Service) PutProvisioned(ctx context.Context, name, qualifier string, n int) (*ProvisionedConfig, error) {
	return nil, errTODO
}

// ListProvisioned returns every provisioned-concurrency setting.
func (s *Service) ListProvisioned(ctx context.Context) ([]ProvisionedConfig, error) {
	return nil, errTODO
}

// CodeDir returns the directory holding cfg's unpacked Zip package.
func (s *Service) CodeDir(cfg *Config) string { return "" }

// VolumeDir returns (creating it) the host directory of a named function volume.
func (s *Service) VolumeDir(name string) (string, error) { return "", errTODO }

// AddDeleteHook registers a hook that runs inside every delete transaction.
func (s *Service) AddDeleteHook(h DeleteHook) { s.hooks = append(s.hooks, h) }

// Subscribe registers fn to be called (synchronously, after commit) whenever a
// function's $LATEST changes or the function or one of its versions is deleted.
func (s *Service) Subscribe(fn func(name string)) { s.subs = append(s.subs, fn) }

// Module provides *Service.
var Module = fx.Module("functions",
	fx.Provide(func(st *store.Store, log *slog.Logger) (*Service, error) {
		return NewService(st, nil, log.With("component", "functions"))
	}),
)
