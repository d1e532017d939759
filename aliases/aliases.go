// Package aliases holds the alias model and resolution: an alias names a published
// version (or $LATEST) of a function, optionally with a second version that gets a
// weighted share of the calls.
package aliases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/ids"
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

	// view holds the aliases Resolve has read; any write to the aliases bucket
	// empties it.
	view *store.Cache[[2]string, *Alias]
}

// NewService returns a Service. The functions service keeps aliases consistent
// through Index, which the composer hands to functions.NewService.
func NewService(st *store.Store, fns *functions.Service, log *slog.Logger) *Service {
	return NewServiceWithRand(st, fns, log, rand.Float64)
}

// NewServiceWithRand is NewService with the random source for weighted picks:
// r returns values in [0, 1). Calls to r are serialised, so r need not be safe for
// concurrent use (a seeded *rand.Rand's Float64 will do, for deterministic tests).
func NewServiceWithRand(st *store.Store, fns *functions.Service, log *slog.Logger, r func() float64) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if r == nil {
		r = rand.Float64
	} else {
		var mu sync.Mutex
		unlocked := r
		r = func() float64 {
			mu.Lock()
			defer mu.Unlock()
			return unlocked()
		}
	}
	return &Service{st: st, fns: fns, log: log, rand: r, view: store.NewCache[[2]string, *Alias](st, bucketAliases)}
}

// Index is the functions.Aliases that the functions service consults: its steps
// read and write only the aliases bucket. It holds no state, so it is built
// before either service.
type Index struct{}

var _ functions.Aliases = Index{}

// Target implements functions.Aliases.
func (Index) Target(fn, alias string, version *string) store.Step {
	return func(tx *store.Tx) error {
		*version = ""
		var a Alias
		switch err := tx.Get(bucketAliases, key(fn, alias), &a); {
		case errors.Is(err, errdefs.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("alias %q of function %q: %w", alias, fn, err)
		}
		*version = a.FunctionVersion
		return nil
	}
}

// Deleting implements functions.Aliases: it deletes a deleted function's aliases
// and refuses to delete a version that an alias uses.
func (Index) Deleting(fn, version string) store.Step {
	return func(tx *store.Tx) error { return onDelete(tx, fn, version) }
}

func key(fn, alias string) string { return fn + "\x00" + alias }

// DamagedDelete is the admin API request that removes the alias whose stored
// record bucket/key (a *store.RecordError's Bucket and Key) does not decode,
// without reading it; "" for a record of any other bucket.
func DamagedDelete(bucket, k string) string {
	fn, name, ok := strings.Cut(k, "\x00")
	if bucket != bucketAliases || !ok {
		return ""
	}
	return "DELETE /2015-03-31/functions/" + fn + "/aliases/" + name + " (aws lambda delete-alias --function-name " + fn + " --name " + name + ")"
}

func invalidf(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", fmt.Sprintf(format, args...))
}

// existingAliases names fn's aliases, for an error about one that does not
// exist: " (aliases of hello: live, stable)", or " (hello has no aliases)".
func existingAliases(tx *store.Tx, fn string) string {
	var names []string
	_ = tx.ForEach(bucketAliases, fn+"\x00", func(k string, _ []byte) error {
		names = append(names, strings.TrimPrefix(k, fn+"\x00"))
		return nil
	})
	if len(names) == 0 {
		return " (" + fn + " has no aliases)"
	}
	return " (aliases of " + fn + ": " + strings.Join(names, ", ") + ")"
}

// aliasNotFound is Lambda's error for alias name of fn, naming the aliases
// fn has.
func aliasNotFound(tx *store.Tx, fn, name string) error {
	return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException", "Cannot find alias arn: "+functions.ARN(fn, name)+existingAliases(tx, fn))
}

func functionNotFound(fn string) error {
	return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException", "Function not found: "+functions.ARN(fn, ""))
}

func checkNames(fn, name string) error {
	if !functions.ValidName(fn) {
		return invalidf("Function name %q is not valid: it must match [A-Za-z0-9_-]{1,64}", fn)
	}
	return functions.CheckAliasName(name)
}

// onDelete deletes a deleted function's aliases and refuses to delete a version
// that an alias uses.
func onDelete(tx *store.Tx, fn, version string) error {
	if version == "" {
		return tx.DeletePrefix(bucketAliases, key(fn, ""))
	}
	var using []string
	err := forEach(tx, fn, func(a *Alias) error {
		if a.FunctionVersion == version {
			using = append(using, a.Name)
		} else if a.RoutingConfig != nil {
			if _, ok := a.RoutingConfig.AdditionalVersionWeights[version]; ok {
				using = append(using, a.Name)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(using) > 0 {
		return errdefs.New(errdefs.ErrConflict, "ResourceConflictException",
			fmt.Sprintf("Version %s of function %s cannot be deleted: it is used by alias(es) %s. Point them at another version or delete them first.",
				version, fn, strings.Join(using, ", ")))
	}
	return nil
}

func forEach(tx *store.Tx, fn string, f func(*Alias) error) error {
	return tx.ForEach(bucketAliases, key(fn, ""), func(k string, raw []byte) error {
		var a Alias
		if err := json.Unmarshal(raw, &a); err != nil {
			return fmt.Errorf("alias %q: decode: %w", k, err)
		}
		a.FunctionName = fn
		return f(&a)
	})
}

func get(tx *store.Tx, fn, name string) (*Alias, error) {
	var a Alias
	if err := tx.Get(bucketAliases, key(fn, name), &a); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return nil, aliasNotFound(tx, fn, name)
		}
		return nil, fmt.Errorf("alias %q of function %q: %w", name, fn, err)
	}
	a.FunctionName = fn
	return &a, nil
}

// checkTargets validates a's versions against the function's published versions.
func checkTargets(vs *functions.Versions, a *Alias) error {
	if a.FunctionVersion == "" {
		return invalidf("FunctionVersion is required")
	}
	if a.FunctionVersion != functions.Latest {
		ref := functions.Ref{Name: a.FunctionName, Qualifier: a.FunctionVersion}
		if !ref.IsVersion() {
			return functions.Violation("functionVersion", a.FunctionVersion, `satisfy regular expression pattern: (\$LATEST|[0-9]+)`+
				" (a version number or $LATEST: an alias cannot point at another alias)")
		}
		v, err := vs.Published(a.FunctionVersion)
		if err != nil {
			return err
		}
		a.FunctionVersion = v
	}
	if a.RoutingConfig == nil || len(a.RoutingConfig.AdditionalVersionWeights) == 0 {
		a.RoutingConfig = nil
		return nil
	}
	w := a.RoutingConfig.AdditionalVersionWeights
	if len(w) > 1 {
		return invalidf("RoutingConfig.AdditionalVersionWeights may name at most one additional version; it names %d", len(w))
	}
	for v, weight := range w {
		if weight < 0 || weight > 1 || math.IsNaN(weight) {
			bound := "have value greater than or equal to 0.0"
			if !(weight <= 1) {
				bound = "have value less than or equal to 1.0"
			}
			return functions.MapValueViolation("routingConfig.additionalVersionWeights",
				"{"+v+"="+strconv.FormatFloat(weight, 'f', -1, 64)+"}", bound)
		}
		if v == functions.Latest || !(functions.Ref{Name: a.FunctionName, Qualifier: v}).IsVersion() {
			return functions.MapKeyViolation("routingConfig.additionalVersionWeights",
				"{"+v+"="+strconv.FormatFloat(weight, 'f', -1, 64)+"}", "satisfy regular expression pattern: [0-9]+")
		}
		if a.FunctionVersion == functions.Latest {
			return invalidf("Routing to an additional version needs FunctionVersion to be a published version, not $LATEST")
		}
		canon, err := vs.Published(v)
		if err != nil {
			return err
		}
		if canon == a.FunctionVersion {
			return invalidf("Additional version %s must be different from FunctionVersion %s", canon, a.FunctionVersion)
		}
		a.RoutingConfig = &RoutingConfig{AdditionalVersionWeights: map[string]float64{canon: weight}}
	}
	return nil
}

// functionExists fails with ResourceNotFoundException when vs's function does not
// exist.
func functionExists(vs *functions.Versions, fn string) error {
	if !vs.Exists() {
		return functionNotFound(fn)
	}
	return nil
}

// Create creates an alias on function fn. An existing alias of that name is
// errdefs.ErrConflict; a missing function or version errdefs.ErrNotFound.
func (s *Service) Create(ctx context.Context, fn string, in Input) (*Alias, error) {
	if err := checkNames(fn, in.Name); err != nil {
		return nil, err
	}
	if in.Description != nil {
		if err := functions.CheckDescription(*in.Description); err != nil {
			return nil, err
		}
	}
	a := &Alias{
		AliasArn:        functions.ARN(fn, in.Name),
		Name:            in.Name,
		FunctionName:    fn,
		FunctionVersion: in.FunctionVersion,
		RoutingConfig:   cloneRouting(in.RoutingConfig),
		RevisionID:      ids.UUID(),
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	var vs functions.Versions
	err := s.st.Together(ctx, s.fns.VersionsOf(fn, &vs), func(tx *store.Tx) error {
		if err := functionExists(&vs, fn); err != nil {
			return err
		}
		if tx.Has(bucketAliases, key(fn, in.Name)) {
			return errdefs.New(errdefs.ErrConflict, "ResourceConflictException", "Alias already exists: "+a.AliasArn)
		}
		if err := checkTargets(&vs, a); err != nil {
			return err
		}
		return tx.Put(bucketAliases, key(fn, in.Name), a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func cloneRouting(r *RoutingConfig) *RoutingConfig {
	if r == nil {
		return nil
	}
	return &RoutingConfig{AdditionalVersionWeights: maps.Clone(r.AdditionalVersionWeights)}
}

// Get returns one alias.
func (s *Service) Get(ctx context.Context, fn, name string) (*Alias, error) {
	if err := checkNames(fn, name); err != nil {
		return nil, err
	}
	var a *Alias
	var vs functions.Versions
	// The function first: a missing one is not found itself, not an alias
	// of it (r-rt22 #4), as Lambda answers.
	err := s.st.ViewTogether(ctx, s.fns.VersionsOf(fn, &vs), func(tx *store.Tx) error {
		if err := functionExists(&vs, fn); err != nil {
			return err
		}
		var err error
		a, err = get(tx, fn, name)
		return err
	})
	return a, err
}

// List returns fn's aliases by name; a non-empty version keeps only those pointing
// at it (as primary or additional version).
func (s *Service) List(ctx context.Context, fn, version string) ([]*Alias, error) {
	if !functions.ValidName(fn) {
		return nil, invalidf("Function name %q is not valid: it must match [A-Za-z0-9_-]{1,64}", fn)
	}
	var out []*Alias
	var vs functions.Versions
	err := s.st.ViewTogether(ctx, s.fns.VersionsOf(fn, &vs), func(tx *store.Tx) error {
		if err := functionExists(&vs, fn); err != nil {
			return err
		}
		return forEach(tx, fn, func(a *Alias) error {
			if version == "" || a.FunctionVersion == version {
				out = append(out, a)
			} else if a.RoutingConfig != nil {
				if _, ok := a.RoutingConfig.AdditionalVersionWeights[version]; ok {
					out = append(out, a)
				}
			}
			return nil
		})
	})
	return out, err
}

// Update changes an alias: empty FunctionVersion and nil Description or
// RoutingConfig are left as they are; a RoutingConfig with no weights removes
// routing. A non-empty RevisionID must match the alias's.
func (s *Service) Update(ctx context.Context, fn string, in Input) (*Alias, error) {
	if err := checkNames(fn, in.Name); err != nil {
		return nil, err
	}
	if in.Description != nil {
		if err := functions.CheckDescription(*in.Description); err != nil {
			return nil, err
		}
	}
	var a *Alias
	var vs functions.Versions
	provisioned := 0
	err := s.st.Together(ctx, s.fns.VersionsOf(fn, &vs), s.fns.Provisioned(fn, in.Name, &provisioned), func(tx *store.Tx) error {
		if err := functionExists(&vs, fn); err != nil {
			return err
		}
		var err error
		if a, err = get(tx, fn, in.Name); err != nil {
			return err
		}
		if in.FunctionVersion == functions.Latest && provisioned > 0 {
			return invalidf("Alias %s has provisioned concurrency (%d), which cannot apply to $LATEST (an unpublished version): point it at a published version, or remove its provisioned concurrency first (delete-provisioned-concurrency-config)", in.Name, provisioned)
		}
		if in.RevisionID != "" && in.RevisionID != a.RevisionID {
			return errdefs.New(errdefs.ErrPrecondition, "PreconditionFailedException",
				"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		}
		if in.FunctionVersion != "" {
			a.FunctionVersion = in.FunctionVersion
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.RoutingConfig = cloneRouting(in.RoutingConfig)
		}
		if err := checkTargets(&vs, a); err != nil {
			return err
		}
		a.RevisionID = ids.UUID()
		return tx.Put(bucketAliases, key(fn, in.Name), a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Steer returns a step that points alias name of fn at version and sends weight
// of its calls to extra ("" for none: the alias's weights go), as Update
// would, for a caller that writes its own record in the same transaction (a
// traffic shift, package shifts). check, when set, sees the alias as it is
// before the change and may refuse it; *out is the alias after it.
func (s *Service) Steer(fn, name, version, extra string, weight float64, check func(*Alias) error, out **Alias) store.Step {
	var vs functions.Versions
	versions := s.fns.VersionsOf(fn, &vs)
	return func(tx *store.Tx) error {
		if err := versions(tx); err != nil {
			return err
		}
		if err := functionExists(&vs, fn); err != nil {
			return err
		}
		a, err := get(tx, fn, name)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(a); err != nil {
				return err
			}
		}
		a.FunctionVersion, a.RoutingConfig = version, nil
		if extra != "" {
			a.RoutingConfig = &RoutingConfig{AdditionalVersionWeights: map[string]float64{extra: weight}}
		}
		if err := checkTargets(&vs, a); err != nil {
			return err
		}
		a.RevisionID = ids.UUID()
		if out != nil {
			*out = a
		}
		return tx.Put(bucketAliases, key(fn, name), a)
	}
}

// Read returns a step that reads alias name of fn into *out (a missing alias
// is errdefs.ErrNotFound).
func (s *Service) Read(fn, name string, out **Alias) store.Step {
	return func(tx *store.Tx) error {
		a, err := get(tx, fn, name)
		*out = a
		return err
	}
}

// Delete deletes an alias, with any provisioned concurrency and resource-based
// policy set on it.
func (s *Service) Delete(ctx context.Context, fn, name string) error {
	if err := checkNames(fn, name); err != nil {
		return err
	}
	var vs functions.Versions
	return s.st.Together(ctx, s.fns.VersionsOf(fn, &vs), func(tx *store.Tx) error {
		if err := functionExists(&vs, fn); err != nil {
			return err
		}
		if !tx.Has(bucketAliases, key(fn, name)) {
			return aliasNotFound(tx, fn, name)
		}
		return tx.Delete(bucketAliases, key(fn, name))
	}, s.fns.DropQualifier(fn, name))
}

// GatewayMayInvoke reports whether API Gateway may call function fn through
// qualifier (an alias, a version, or "" for the function), by the resource
// policy kept for it (functions.Service.GatewayMayInvoke): the gateway finds
// it on its resolver.
func (s *Service) GatewayMayInvoke(ctx context.Context, fn, qualifier string, from functions.CallSource) (bool, error) {
	return s.fns.GatewayMayInvoke(ctx, fn, qualifier, from)
}

// Resolve returns the configuration of the version that a call to ref runs: the
// version itself, $LATEST, or for an alias its version or (by weight) its additional
// version. Unknown functions, versions or aliases are errdefs.ErrNotFound.
func (s *Service) Resolve(ctx context.Context, ref functions.Ref) (*functions.Config, error) {
	if ref.IsVersion() {
		return s.fns.Get(ctx, ref.Name, ref.Qualifier)
	}
	if !functions.ValidName(ref.Name) {
		return nil, invalidf("Function name %q is not valid: it must match [A-Za-z0-9_-]{1,64}", ref.Name)
	}
	a, err := s.view.Get([2]string{ref.Name, ref.Qualifier}, func() (*Alias, error) {
		var a *Alias
		err := s.st.View(ctx, func(tx *store.Tx) error {
			var err error
			a, err = get(tx, ref.Name, ref.Qualifier)
			if errors.Is(err, errdefs.ErrNotFound) {
				// The function's aliases, where it exists: a missing
				// function has none to name (r-rt22 #4).
				var vs functions.Versions
				hint := ""
				if s.fns.VersionsOf(ref.Name, &vs)(tx) == nil && vs.Exists() {
					hint = existingAliases(tx, ref.Name)
				}
				return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException", "Function not found: "+functions.ARN(ref.Name, ref.Qualifier)+hint)
			}
			return err
		})
		return a, err
	})
	if err != nil {
		return nil, err
	}
	version := s.pick(a)
	out, err := s.fns.Get(ctx, ref.Name, version)
	if errors.Is(err, errdefs.ErrNotFound) {
		// The alias moved and its old version went between the two reads: read
		// both again in one transaction.
		return s.resolveTx(ctx, ref)
	}
	return out, err
}

// pick returns the version a call to alias a runs: its version, or by weight its
// additional version.
func (s *Service) pick(a *Alias) string {
	version := a.FunctionVersion
	if a.RoutingConfig != nil {
		for v, w := range a.RoutingConfig.AdditionalVersionWeights {
			if s.rand() < w {
				version = v
			}
		}
	}
	return version
}

// Shares returns each version a call to ref may run, with the share of calls it
// gets: one version for a version or a plain alias, two for an alias with
// additional version weights. The alias and its versions are read in one
// transaction. Provisioned concurrency on an alias is spread by these shares.
func (s *Service) Shares(ctx context.Context, ref functions.Ref) ([]functions.Share, error) {
	if ref.IsVersion() {
		c, err := s.fns.Get(ctx, ref.Name, ref.Qualifier)
		if err != nil {
			return nil, err
		}
		return []functions.Share{{Config: c, Weight: 1}}, nil
	}
	if err := checkNames(ref.Name, ref.Qualifier); err != nil {
		return nil, err
	}
	var (
		primary, extra string
		weight         float64
		first, second  *functions.Config
	)
	err := s.st.ViewTogether(ctx, func(tx *store.Tx) error {
		a, err := get(tx, ref.Name, ref.Qualifier)
		if err != nil {
			return err
		}
		primary = a.FunctionVersion
		if a.RoutingConfig != nil {
			for v, w := range a.RoutingConfig.AdditionalVersionWeights {
				extra, weight = v, w
			}
		}
		return nil
	}, s.fns.Read(ref.Name, &primary, &first), func(tx *store.Tx) error {
		if extra == "" {
			return nil
		}
		return s.fns.Read(ref.Name, &extra, &second)(tx)
	})
	if err != nil {
		return nil, err
	}
	if second == nil || weight <= 0 {
		return []functions.Share{{Config: first, Weight: 1}}, nil
	}
	return []functions.Share{{Config: first, Weight: 1 - weight}, {Config: second, Weight: weight}}, nil
}

// resolveTx is Resolve for an alias in one read transaction, without the view.
func (s *Service) resolveTx(ctx context.Context, ref functions.Ref) (*functions.Config, error) {
	var out *functions.Config
	var version string
	err := s.st.ViewTogether(ctx, func(tx *store.Tx) error {
		a, err := get(tx, ref.Name, ref.Qualifier)
		if err != nil {
			return err
		}
		version = s.pick(a)
		return nil
	}, s.fns.Read(ref.Name, &version, &out))
	return out, err
}

// Module provides *Service, and Index as the functions.Aliases the functions
// service consults.
var Module = fx.Module("aliases",
	fx.Provide(func(st *store.Store, fns *functions.Service, log *slog.Logger) *Service {
		return NewService(st, fns, log.With("component", "aliases"))
	}),
	fx.Provide(func() functions.Aliases { return Index{} }),
)

func init() { store.Record(bucketAliases, Alias{}) }
