package functions

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/internal/shutdown"
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
	// LastModified is when the setting was last put (UTC, millisecond
	// precision). Settings stored before Portico kept it have none: the zero
	// time, which callers report as unknown.
	LastModified time.Time `json:"LastModified,omitzero"`
}

// Share is one version a qualifier sends calls to, and the fraction of its
// calls (above 0, at most 1) that go there: a version or a plain alias is one
// share of 1, a weighted alias two.
type Share struct {
	Config *Config
	Weight float64
}

// Service manages functions, versions and code artifacts. Safe for concurrent use;
// register subscribers before serving requests.
type Service struct {
	st      *store.Store
	log     *slog.Logger
	images  ImageResolver // may be nil: Image versions are then pinned to their tag
	aliases Aliases       // may be nil: there are then no aliases

	// codeMu is held shared by uploads from writing an artifact until the
	// reference to it is committed, and exclusively by CollectCode (gc.go).
	codeMu sync.RWMutex
	// publishMu orders uploads' looks at which code artifacts exist with
	// their renames of new ones into place (storeZip).
	publishMu  sync.Mutex
	unrefSince unreferenced // code hash -> first collection that found it unreferenced
	// pinUnrefSince is the same for image pins (image id), under codeMu too.
	pinUnrefSince unreferenced
	// clock tells the collection the time (grace periods, pin ages), under
	// codeMu too.
	clock clock.Clock

	mu        sync.RWMutex
	subs      []func(name string)
	deleting  []func(name, version string) store.Step // OnDelete
	dropping  []func(name, qualifier string)          // OnDropQualifier
	provCheck ProvisionedCheck
	resCheck  ReservationCheck

	// view holds configurations read by Get, for the invoke path; any write
	// to the functions or versions buckets empties it.
	view *store.Cache[viewKey, *Config]
	// policies holds the resource-based policies GatewayMayInvoke reads (nil
	// for a function or qualifier without one); any policy write empties it.
	policies *store.Cache[viewKey, *policy]
}

type viewKey struct{ name, version string }

// record is what the store keeps for $LATEST and for each version: the Config plus
// the fields that are not part of Lambda's FunctionConfiguration.
type record struct {
	Config
	Hash string `json:"CodeHash,omitempty"`
	// LastVersion is the highest version number ever published ($LATEST only):
	// Lambda never reuses a version number, even after the version is deleted.
	LastVersion uint64 `json:"LastVersion,omitempty"`
	// FromDescription is the Description $LATEST had when this version was
	// published from it (published versions only), whatever description
	// PublishVersion gave the version: a change of $LATEST's description since
	// is a change of its configuration that the next publish does not skip.
	// Nil on a version published before it was kept.
	FromDescription *string `json:"FromDescription,omitempty"`
}

func (r *record) config() *Config {
	c := r.Config
	c.CodeHash = r.Hash
	return &c
}

// NewService returns a Service over st. images and aliases may be nil.
func NewService(st *store.Store, images ImageResolver, aliases Aliases, log *slog.Logger) (*Service, error) {
	if st == nil {
		return nil, errors.New("functions: nil store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, log: log, images: images, aliases: aliases, unrefSince: unreferenced{}, pinUnrefSince: unreferenced{}, clock: clock.Real{},
		view:     store.NewCache[viewKey, *Config](st, bucketFunctions, bucketVersions),
		policies: store.NewCache[viewKey, *policy](st, bucketPolicies)}, nil
}

// versionKey is the store key of a published version: zero-padded so that keys
// sort in version order.
func versionKey(name string, v uint64) string { return fmt.Sprintf("%s\x00%010d", name, v) }

// parseVersion parses a published version number ("1", "2", ...). Lambda
// matches versions as strings, so a number with a leading zero ("01") is no
// version's: it names none, and every lookup of it is a 404.
func parseVersion(q string) (uint64, bool) {
	if !isVersion(q) || q[0] == '0' {
		return 0, false
	}
	v, err := strconv.ParseUint(q, 10, 64)
	return v, err == nil && v > 0
}

func checkName(name string) error {
	if !ValidName(name) {
		return invalidf("Function name %q is not valid: it must match [A-Za-z0-9_-]{1,64}", truncate(name, 200))
	}
	return nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func getLatest(tx *store.Tx, name string) (*record, error) {
	var r record
	if err := tx.Get(bucketFunctions, name, &r); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return nil, notFound(name, "")
		}
		return nil, fmt.Errorf("function %q: %w", name, err)
	}
	return &r, nil
}

// lastVersion returns the highest published version of name, or nil.
func lastVersion(tx *store.Tx, name string) (*record, error) {
	var last []byte
	err := tx.ForEach(bucketVersions, name+"\x00", func(_ string, raw []byte) error {
		last = raw
		return nil
	})
	if err != nil || last == nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(last, &r); err != nil {
		return nil, fmt.Errorf("function %q: decode version: %w", name, err)
	}
	return &r, nil
}

// getTx is Get inside a transaction.
func getTx(tx *store.Tx, name, version string) (*Config, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	latest, err := getLatest(tx, name)
	if err != nil {
		if version != "" && version != Latest && errors.Is(err, errdefs.ErrNotFound) {
			return nil, notFound(name, version)
		}
		return nil, err
	}
	if version == "" || version == Latest {
		return latest.config(), nil
	}
	v, ok := parseVersion(version)
	if !ok {
		return nil, versionNotFound(tx, name, version)
	}
	var r record
	if err := tx.Get(bucketVersions, versionKey(name, v), &r); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return nil, versionNotFound(tx, name, version)
		}
		return nil, fmt.Errorf("function %q version %s: %w", name, version, err)
	}
	c := r.config()
	c.ReservedConcurrency = latest.ReservedConcurrency // it lives on the function
	return c, nil
}

// versionNotFound is Lambda's ResourceNotFoundException for an unknown version
// of an existing function, naming the versions there are: "Function not found:
// arn:...:function:hello:7 (versions of hello: $LATEST, 1, 2)".
func versionNotFound(tx *store.Tx, name, version string) error {
	versions := []string{Latest}
	_ = tx.ForEach(bucketVersions, name+"\x00", func(key string, _ []byte) error {
		if v, err := strconv.ParseUint(strings.TrimPrefix(key, name+"\x00"), 10, 64); err == nil {
			versions = append(versions, strconv.FormatUint(v, 10))
		}
		return nil
	})
	return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException", "Function not found: "+ARN(name, version)+
		" (versions of "+name+": "+strings.Join(versions, ", ")+")")
}

func (s *Service) notify(name string) {
	s.mu.RLock()
	subs := slices.Clone(s.subs)
	s.mu.RUnlock()
	for _, fn := range subs {
		fn(name)
	}
}

// goneImage is an ImageResolver's error for an image id no longer on the host
// (runtimes.ImageGoneError): For names the function and version that pinned
// it, so that its advice names them.
type goneImage interface {
	error
	For(function, version string) error
}

func (s *Service) resolveImage(ctx context.Context, uri string) (string, error) {
	if s.images == nil {
		return uri, nil
	}
	if id, ok := s.pinnedImage(ctx, uri, s.images.ResolveImage); ok {
		return id, nil
	}
	id, err := s.images.ResolveImage(ctx, uri)
	if err != nil {
		return "", fmt.Errorf("resolve image %q: %w", uri, err)
	}
	return id, nil
}

// pinnedImage resolves REPOSITORY@sha256:ID, a pin as GetFunction reports it
// (Code.ResolvedImageUri, Config.ResolvedImageURI), to the image id ID when
// the runtime has an image of that id (resolve: the runtime's resolution,
// which does not pull an image id). Under Docker an image's id is its
// configuration's digest, which no registry reference names, so that without
// this the reference Portico reported would name nothing: passed back as
// ImageUri (as portico deploy's rollback does), it runs the image it was
// reported for. A digest that is no image id of the host (a registry's
// manifest digest) is left to resolve as a reference.
func (s *Service) pinnedImage(ctx context.Context, uri string, resolve func(context.Context, string) (string, error)) (string, bool) {
	_, d, ok := strings.Cut(uri, "@")
	if !ok || !imageIDRe.MatchString(d) {
		return "", false
	}
	id, err := resolve(ctx, d)
	return id, err == nil && id == d
}

// ImageCode is what an Image function's code would be, were it updated to an
// image reference now.
type ImageCode struct {
	// ImageURI is the reference, as given.
	ImageURI string
	// ResolvedImage is the image id the runtime resolves ImageURI to now:
	// what UpdateCode would pin $LATEST to. Without an ImageResolver, the
	// reference itself (images are then pinned to their tag).
	ResolvedImage string
	// CodeSha256 is ResolvedImage's digest, as the function would report it
	// ("" when ResolvedImage is not an image id).
	CodeSha256 string
}

// ResolveImageCode resolves uri through the runtime, as UpdateCode would, and
// changes nothing: a caller compares the answer with a function's
// ResolvedImage to learn whether the image its tag names was rebuilt since
// the function was pinned (portico deploy). An invalid reference is
// errdefs.ErrInvalid; an image the runtime cannot find or pull is the
// runtime's error, as at UpdateCode. The runtime may pull the image, or pin
// it (containerd), as UpdateCode does; the code collection removes a pin no
// function uses. Safe for concurrent use.
func (s *Service) ResolveImageCode(ctx context.Context, uri string) (*ImageCode, error) {
	if err := checkImageURI(uri); err != nil {
		return nil, err
	}
	resolved, err := s.resolveImage(ctx, uri)
	if err != nil {
		return nil, err
	}
	var probe Config
	pinImage(&probe, resolved)
	return &ImageCode{ImageURI: uri, ResolvedImage: probe.ResolvedImage, CodeSha256: probe.CodeSha256}, nil
}

// dryRunResolveImage resolves uri as resolveImage does, from the images on the
// host alone when the host has it (no pull, no pin): UpdateCode's DryRun.
func (s *Service) dryRunResolveImage(ctx context.Context, uri string) (string, error) {
	if local, ok := s.images.(LocalImageResolver); ok {
		if id, ok := s.pinnedImage(ctx, uri, local.ResolveLocalImage); ok {
			return id, nil
		}
		if id, err := local.ResolveLocalImage(ctx, uri); err == nil {
			return id, nil
		}
	}
	return s.resolveImage(ctx, uri)
}

// ResolveLocalImageCode is ResolveImageCode from the images on the host
// alone: it never pulls an image nor pins one (portico deploy --dry-run). An
// image the host does not have, or a runtime that cannot tell without
// pulling, is errdefs.ErrNotFound: resolving it would pull it. Without an
// ImageResolver it is ResolveImageCode (images are pinned to their tag).
func (s *Service) ResolveLocalImageCode(ctx context.Context, uri string) (*ImageCode, error) {
	if err := checkImageURI(uri); err != nil {
		return nil, err
	}
	resolved := uri
	if s.images != nil {
		local, ok := s.images.(LocalImageResolver)
		if !ok {
			return nil, fmt.Errorf("image %q: the runtime cannot resolve an image without pulling it: %w", uri, errdefs.ErrNotFound)
		}
		id, ok := s.pinnedImage(ctx, uri, local.ResolveLocalImage)
		if !ok {
			var err error
			if id, err = local.ResolveLocalImage(ctx, uri); err != nil {
				return nil, fmt.Errorf("resolve image %q on the host: %w", uri, err)
			}
		}
		resolved = id
	}
	var probe Config
	pinImage(&probe, resolved)
	return &ImageCode{ImageURI: uri, ResolvedImage: probe.ResolvedImage, CodeSha256: probe.CodeSha256}, nil
}

// cloneImageConfig returns a copy of c, nil when it overrides nothing.
func cloneImageConfig(c *ImageConfig) *ImageConfig {
	if c.IsZero() {
		return nil
	}
	return &ImageConfig{EntryPoint: slices.Clone(c.EntryPoint), Command: slices.Clone(c.Command), WorkingDirectory: c.WorkingDirectory}
}

// pinImage pins c, an Image configuration, to resolved, the image id its
// ImageURI resolved to, as Lambda pins $LATEST to the image digest at
// CreateFunction and UpdateFunctionCode: the sandboxes of c run that image
// whatever its tag names later, and c reports the id's digest as CodeSha256
// (what PublishVersion's CodeSha256 precondition names). CodeSize stays 0, as
// Lambda reports it for images.
func pinImage(c *Config, resolved string) {
	c.ResolvedImage = resolved
	c.CodeSha256, c.CodeSize = "", 0
	if imageIDRe.MatchString(resolved) {
		c.CodeSha256 = strings.TrimPrefix(resolved, "sha256:")
	}
}

// CheckCreate reports the error Create would return for in's name and
// configuration (errdefs.ErrInvalid: timeout, memory, environment, file
// systems), without creating anything, so that a caller can check a batch
// before it changes anything. It does not look at the code.
func CheckCreate(in CreateInput) error {
	_, err := newConfig(in)
	return err
}

// newConfig is in's $LATEST configuration, with the defaults applied and
// checked.
func newConfig(in CreateInput) (Config, error) {
	if err := checkName(in.FunctionName); err != nil {
		return Config{}, err
	}
	c := Config{
		FunctionName: in.FunctionName,
		Version:      Latest,
		Description:  in.Description,
		PackageType:  cmp.Or(in.PackageType, PackageZip),
		Runtime:      in.Runtime,
		Handler:      in.Handler,
		Role:         in.Role,
		ImageURI:     in.ImageURI,
		Environment:  maps.Clone(in.Environment),
		Timeout:      cmp.Or(in.Timeout, DefaultTimeout),
		MemorySize:   cmp.Or(in.MemorySize, DefaultMemory),
		FileSystems:  slices.Clone(in.FileSystems),
		ImageConfig:  cloneImageConfig(in.ImageConfig),
	}
	if err := CheckRuntimeEnum(c.Runtime); err != nil {
		return Config{}, err
	}
	if c.PackageType == PackageZip {
		if err := checkRuntime(c.Runtime); err != nil {
			return Config{}, err
		}
	}
	if c.Handler != "" { // "" is none given: a provided.al2023 package's bootstrap is the function
		if err := checkHandler(c.Handler); err != nil {
			return Config{}, err
		}
	}
	return c, validateConfig(&c)
}

// Create creates a function from in; with in.Publish it also publishes version 1.
// A name in use is errdefs.ErrConflict; bad parameters or a bad zip errdefs.ErrInvalid.
// It returns $LATEST, or version 1 when in.Publish is set.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Config, error) {
	c, err := newConfig(in)
	if err != nil {
		return nil, err
	}
	if r, ok := s.images.(ImageRefuser); ok && c.PackageType == PackageImage {
		if err := r.RefuseImages(); err != nil {
			return nil, err
		}
	}
	rec := &record{}
	var pkg *zipPackage
	if c.PackageType == PackageZip {
		if pkg, err = inspectZip(in.ZipFile); err != nil {
			return nil, err
		}
		c.CodeSha256, c.CodeSize, rec.Hash = pkg.b64Sum, int64(len(pkg.data)), pkg.hexSum
	} else if len(in.ZipFile) > 0 {
		return nil, invalidf("ZipFile is only valid for PackageType Zip; this function's PackageType is Image")
	}
	exists := func(tx *store.Tx) error {
		if tx.Has(bucketFunctions, c.FunctionName) {
			return errdefs.New(errdefs.ErrConflict, "ResourceConflictException", "Function already exist: "+c.FunctionName)
		}
		return nil
	}
	if err := s.st.View(ctx, exists); err != nil { // spare the artifacts when we can
		return nil, err
	}
	// An image the runtime cannot find or pull is refused here, naming it,
	// rather than at the first invoke (Lambda checks the source image at
	// create too); a version published now keeps the id it resolves to.
	var resolved string
	if c.PackageType == PackageImage {
		var err error
		if resolved, err = s.resolveImage(ctx, c.ImageURI); err != nil {
			return nil, err
		}
	}
	if pkg != nil {
		s.codeMu.RLock()
		defer s.codeMu.RUnlock()
		if err := s.storeZip(ctx, pkg); err != nil {
			return nil, err
		}
	}
	if c.PackageType == PackageImage {
		pinImage(&c, resolved)
	}
	c.LastModified = now()
	c.RevisionID = ids.UUID()
	rec.Config = c
	out := rec.config()
	err = s.st.Update(ctx, func(tx *store.Tx) error {
		if err := exists(tx); err != nil {
			return err
		}
		if in.Publish {
			v, err := publishTx(tx, rec, "", resolved)
			if err != nil {
				return err
			}
			out = v
		}
		return tx.Put(bucketFunctions, c.FunctionName, rec)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("function created", "function", c.FunctionName, "package", c.PackageType, "published", in.Publish)
	s.notify(c.FunctionName)
	return out, nil
}

// publishTx publishes latest as the next version, or returns the highest version
// when its code and configuration equal latest's (its description included:
// the one $LATEST had when that version was published, not the one
// PublishVersion may have given the version). The new version has a
// RevisionId of its own, as on Lambda. It updates latest.LastVersion; the
// caller stores latest.
func publishTx(tx *store.Tx, latest *record, description, resolved string) (*Config, error) {
	name := latest.FunctionName
	last, err := lastVersion(tx, name)
	if err != nil {
		return nil, err
	}
	from := latest.Description
	cand := &record{Config: latest.Config, Hash: latest.Hash, FromDescription: &from}
	cand.ReservedConcurrency = nil
	cand.Description = cmp.Or(description, latest.Description)
	if cand.PackageType == PackageImage {
		pinImage(&cand.Config, cmp.Or(resolved, cand.ResolvedImage, cand.ImageURI))
	}
	if last != nil && sameVersion(cand, last) && from == publishedFrom(last) {
		c := last.config()
		c.ReservedConcurrency = latest.ReservedConcurrency
		return c, nil
	}
	next := latest.LastVersion + 1
	if last != nil {
		if v, ok := parseVersion(last.Version); ok && v >= next {
			next = v + 1
		}
	}
	cand.Version = strconv.FormatUint(next, 10)
	cand.LastModified = now()
	cand.RevisionID = ids.UUID()
	if err := tx.Put(bucketVersions, versionKey(name, next), cand); err != nil {
		return nil, err
	}
	latest.LastVersion = next
	c := cand.config()
	c.ReservedConcurrency = latest.ReservedConcurrency
	return c, nil
}

// publishedFrom is the Description $LATEST had when v was published: kept
// since FromDescription was, else the version's own (PublishVersion gave it
// none, or it was published before).
func publishedFrom(v *record) string {
	if v.FromDescription != nil {
		return *v.FromDescription
	}
	return v.Description
}

// sameVersion reports whether a and b have the same code and configuration,
// ignoring what publishing itself sets (version, description, times, revision).
func sameVersion(a, b *record) bool {
	norm := func(r *record) Config {
		c := r.Config
		c.Version, c.Description, c.RevisionID = "", "", ""
		c.LastModified = time.Time{}
		c.ReservedConcurrency = nil
		c.CodeHash = r.Hash
		if len(c.Environment) == 0 {
			c.Environment = nil
		}
		if len(c.FileSystems) == 0 {
			c.FileSystems = nil
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Get returns $LATEST (version "" or "$LATEST") or a published version. It reads
// an in-memory view of the store that every committed write to functions or
// versions empties, so it never returns a configuration older than a write that
// has returned. The Config is the caller's; its Environment map and FileSystems
// slice are shared with the view and must not be modified.
func (s *Service) Get(ctx context.Context, name, version string) (*Config, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if version == "" {
		version = Latest
	}
	c, err := s.view.Get(viewKey{name, version}, func() (*Config, error) {
		var out *Config
		err := s.st.View(ctx, func(tx *store.Tx) error {
			var err error
			out, err = getTx(tx, name, version)
			return err
		})
		return out, err
	})
	if err != nil {
		return nil, err
	}
	cp := *c
	return &cp, nil
}

// List returns the $LATEST configuration of every function, by name.
func (s *Service) List(ctx context.Context) ([]*Config, error) {
	var out []*Config
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucketFunctions, "", func(key string, raw []byte) error {
			var r record
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("function %q: decode: %w", key, err)
			}
			out = append(out, r.config())
			return nil
		})
	})
	return out, err
}

// UpdateCode replaces $LATEST's code: in.ZipFile for a Zip function, in.ImageURI
// for an Image function (the package type cannot change). With in.Publish it also
// publishes a version and returns it; otherwise it returns $LATEST.
//
// With in.DryRun it checks the code as the update would (the package type, the
// zip and its bootstrap, the image's resolution) and in.RevisionID, and returns
// $LATEST as the update would leave it (the new CodeSha256 and CodeSize, or
// image pin), changing nothing: the zip is not stored, no version is published.
// An image the host already has is resolved from the host alone; another is
// resolved as the update would, which may pull it (and, under containerd, pin
// it until the code collection removes a pin no function uses).
func (s *Service) UpdateCode(ctx context.Context, name string, in CodeInput) (*Config, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	cur, err := s.Get(ctx, name, Latest)
	if err != nil {
		return nil, err
	}
	var (
		pkg      *zipPackage
		resolved string
	)
	switch cur.PackageType {
	case PackageZip:
		if in.ImageURI != "" {
			return nil, invalidf("Please don't provide ImageUri when updating a function with packageType Zip.")
		}
		if pkg, err = inspectZip(in.ZipFile); err != nil {
			return nil, err
		}
		if in.DryRun {
			break
		}
		s.codeMu.RLock()
		defer s.codeMu.RUnlock()
		if err := s.storeZip(ctx, pkg); err != nil {
			return nil, err
		}
	case PackageImage:
		if len(in.ZipFile) > 0 || in.ImageURI == "" {
			return nil, invalidf("Please provide ImageUri when updating a function with packageType Image.")
		}
		probe := *cur
		probe.ImageURI = in.ImageURI
		if err := validateConfig(&probe); err != nil {
			return nil, err
		}
		// As at create: an image the runtime cannot find or pull is refused.
		resolve := s.resolveImage
		if in.DryRun {
			resolve = s.dryRunResolveImage
		}
		if resolved, err = resolve(ctx, in.ImageURI); err != nil {
			return nil, err
		}
	}
	if in.DryRun {
		if in.RevisionID != "" && in.RevisionID != cur.RevisionID {
			return nil, errPrecondition()
		}
		if pkg != nil {
			cur.CodeSha256, cur.CodeSize, cur.CodeHash = pkg.b64Sum, int64(len(pkg.data)), pkg.hexSum
		} else {
			cur.ImageURI = in.ImageURI
			pinImage(cur, resolved)
		}
		return cur, nil
	}
	var out *Config
	err = s.st.Update(ctx, func(tx *store.Tx) error {
		latest, err := getLatest(tx, name)
		if err != nil {
			return err
		}
		if in.RevisionID != "" && in.RevisionID != latest.RevisionID {
			return errPrecondition()
		}
		if latest.PackageType != cur.PackageType {
			return errdefs.New(errdefs.ErrConflict, "ResourceConflictException", "The function "+name+" changed while its code was being updated; retry")
		}
		if pkg != nil {
			latest.CodeSha256, latest.CodeSize, latest.Hash = pkg.b64Sum, int64(len(pkg.data)), pkg.hexSum
		} else {
			latest.ImageURI = in.ImageURI
			pinImage(&latest.Config, resolved)
		}
		latest.LastModified = now()
		latest.RevisionID = ids.UUID()
		out = latest.config()
		if in.Publish {
			if out, err = publishTx(tx, latest, "", resolved); err != nil {
				return err
			}
		}
		return tx.Put(bucketFunctions, name, latest)
	})
	if err != nil {
		return nil, err
	}
	s.notify(name)
	return out, nil
}

// UpdateConfig changes $LATEST's configuration. A non-empty p.RevisionID
// must be $LATEST's, checked in the transaction that writes.
func (s *Service) UpdateConfig(ctx context.Context, name string, p ConfigPatch) (*Config, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out *Config
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		latest, err := getLatest(tx, name)
		if err != nil {
			return err
		}
		if p.RevisionID != "" && p.RevisionID != latest.RevisionID {
			return errPrecondition()
		}
		c := &latest.Config
		if p.Runtime != nil {
			if err := CheckRuntimeEnum(*p.Runtime); err != nil {
				return err
			}
		}
		if p.Runtime != nil && c.PackageType == PackageZip {
			if err := checkRuntime(*p.Runtime); err != nil {
				return err
			}
		}
		if p.Description != nil {
			c.Description = *p.Description
		}
		if p.Handler != nil {
			if err := checkHandler(*p.Handler); err != nil {
				return err
			}
			c.Handler = *p.Handler
		}
		if p.Runtime != nil {
			c.Runtime = *p.Runtime
		}
		if p.Role != nil {
			if err := checkRole(*p.Role); err != nil {
				return err
			}
			c.Role = *p.Role
		}
		if p.Environment != nil {
			c.Environment = maps.Clone(*p.Environment)
		}
		if p.Timeout != nil {
			c.Timeout = *p.Timeout
		}
		if p.MemorySize != nil {
			c.MemorySize = *p.MemorySize
		}
		if p.FileSystems != nil {
			c.FileSystems = slices.Clone(*p.FileSystems)
		}
		if p.ImageConfig != nil {
			c.ImageConfig = cloneImageConfig(p.ImageConfig)
		}
		if err := validateConfig(c); err != nil {
			return err
		}
		c.LastModified = now()
		c.RevisionID = ids.UUID()
		out = latest.config()
		return tx.Put(bucketFunctions, name, latest)
	})
	if err != nil {
		return nil, err
	}
	s.notify(name)
	return out, nil
}

// Delete deletes a function with all its versions (version ""), or one published
// version. $LATEST alone cannot be deleted. The aliases' Deleting step, and the
// steps OnDelete registered, run in the same transaction; an error from one
// aborts the delete.
func (s *Service) Delete(ctx context.Context, name, version string) error {
	if err := checkName(name); err != nil {
		return err
	}
	// The delete runs in three steps in one transaction: this package checks that
	// the function or version exists, the aliases (their own bucket) delete theirs
	// or refuse, then this package deletes its records.
	var check, del store.Step
	canon := ""
	switch v, isVersion := parseVersion(version); {
	case version == "":
		check = func(tx *store.Tx) error {
			if !tx.Has(bucketFunctions, name) {
				return notFound(name, "")
			}
			return nil
		}
		del = func(tx *store.Tx) error {
			if err := tx.DeletePrefix(bucketVersions, name+"\x00"); err != nil {
				return err
			}
			if err := tx.DeletePrefix(bucketProvisioned, name+"\x00"); err != nil {
				return err
			}
			if err := tx.DeletePrefix(bucketEventInvoke, name+"\x00"); err != nil {
				return err
			}
			if err := tx.DeletePrefix(bucketPolicies, name+"\x00"); err != nil {
				return err
			}
			return tx.Delete(bucketFunctions, name)
		}
	case version == Latest:
		return invalidf("$LATEST version cannot be deleted without deleting the function.")
	case isVersion:
		canon = strconv.FormatUint(v, 10)
		check = func(tx *store.Tx) error {
			if !tx.Has(bucketVersions, versionKey(name, v)) {
				return notFound(name, version)
			}
			return nil
		}
		del = func(tx *store.Tx) error {
			if err := tx.Delete(bucketProvisioned, name+"\x00"+canon); err != nil {
				return err
			}
			if err := tx.Delete(bucketEventInvoke, eventInvokeKey(name, canon)); err != nil {
				return err
			}
			if err := tx.Delete(bucketPolicies, policyKey(name, canon)); err != nil {
				return err
			}
			return tx.Delete(bucketVersions, versionKey(name, v))
		}
	case ValidAliasName(version):
		return invalidf("Deletion of aliases is not supported.")
	default:
		return invalidf("Qualifier %q is not a version", truncate(version, 200))
	}
	steps := []store.Step{check}
	if s.aliases != nil {
		steps = append(steps, s.aliases.Deleting(name, canon))
	}
	steps = append(steps, del)
	s.mu.RLock()
	for _, hook := range s.deleting {
		steps = append(steps, hook(name, canon))
	}
	s.mu.RUnlock()
	if err := s.st.Together(ctx, steps...); err != nil {
		return err
	}
	s.log.Info("function deleted", "function", name, "version", version)
	s.notify(name)
	return nil
}

// Publish publishes $LATEST as a new version, or returns the latest version when
// nothing changed since it was published. in.RevisionID, when set, must match
// $LATEST's (else errdefs.ErrPrecondition of type PreconditionFailedException),
// and in.CodeSha256 its code's (else ErrInvalid), both checked in the
// transaction that publishes, so a concurrent change cannot slip between check
// and publish. An Image version is pinned to the image id the ImageResolver
// gives, if there is one.
func (s *Service) Publish(ctx context.Context, name string, in PublishInput) (*Config, error) {
	description := in.Description
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := CheckDescription(description); err != nil {
		return nil, err
	}
	cur, err := s.Get(ctx, name, Latest)
	if err != nil {
		return nil, err
	}
	checkRev := func(c *Config) error {
		if in.RevisionID != "" && in.RevisionID != c.RevisionID {
			return errPrecondition()
		}
		if in.CodeSha256 != "" && in.CodeSha256 != c.CodeSha256 {
			return invalidf("CodeSha256 (%s) is different from current CodeSha256 in $LATEST (%s). Please try again with the CodeSha256 in $LATEST.", truncate(in.CodeSha256, 100), c.CodeSha256)
		}
		return nil
	}
	if err := checkRev(cur); err != nil {
		return nil, err
	}
	var resolved string
	if cur.PackageType == PackageImage {
		// The image $LATEST is pinned to (a function created before
		// $LATEST was pinned: its tag's), checked to be there still.
		if resolved, err = s.resolveImage(ctx, cmp.Or(cur.ResolvedImage, cur.ImageURI)); err != nil {
			if g := goneImage(nil); errors.As(err, &g) {
				return nil, g.For(name, Latest)
			}
			return nil, err
		}
	}
	var out *Config
	err = s.st.Update(ctx, func(tx *store.Tx) error {
		latest, err := getLatest(tx, name)
		if err != nil {
			return err
		}
		if err := checkRev(&latest.Config); err != nil {
			return err
		}
		if latest.PackageType == PackageImage && (latest.ImageURI != cur.ImageURI || latest.ResolvedImage != cur.ResolvedImage) {
			return errdefs.New(errdefs.ErrConflict, "ResourceConflictException", "The function "+name+" changed while it was being published; retry")
		}
		before := latest.LastVersion
		if out, err = publishTx(tx, latest, description, resolved); err != nil {
			return err
		}
		if latest.LastVersion == before {
			return nil
		}
		return tx.Put(bucketFunctions, name, latest)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func errPrecondition() error {
	return errdefs.New(errdefs.ErrPrecondition, "PreconditionFailedException",
		"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}

// ListVersions returns $LATEST followed by the published versions in order.
func (s *Service) ListVersions(ctx context.Context, name string) ([]*Config, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out []*Config
	err := s.st.View(ctx, func(tx *store.Tx) error {
		latest, err := getLatest(tx, name)
		if err != nil {
			return err
		}
		out = append(out, latest.config())
		return tx.ForEach(bucketVersions, name+"\x00", func(key string, raw []byte) error {
			var r record
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("function %q: decode %s: %w", name, key, err)
			}
			c := r.config()
			c.ReservedConcurrency = latest.ReservedConcurrency
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// SetReservedConcurrency sets (n != nil) or removes the function's reserved
// concurrency. It does not change RevisionID; subscribers are told.
func (s *Service) SetReservedConcurrency(ctx context.Context, name string, n *int) error {
	if err := checkName(name); err != nil {
		return err
	}
	if n != nil && *n < 0 {
		return RangeViolation("reservedConcurrentExecutions", *n, 0, math.MaxInt)
	}
	s.mu.RLock()
	check := s.resCheck
	s.mu.RUnlock()
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		latest, err := getLatest(tx, name)
		if err != nil {
			return err
		}
		if n == nil {
			latest.ReservedConcurrency = nil
			return tx.Put(bucketFunctions, name, latest)
		}
		// Only a raise is checked against the account, so that a reservation
		// can always be lowered, even where the account limit was lowered
		// under the reservations already made.
		if old := latest.ReservedConcurrency; check != nil && (old == nil || *n > *old) {
			others, err := reservedTotal(tx, name)
			if err != nil {
				return err
			}
			if err := check(others + *n); err != nil {
				return err
			}
		}
		v := *n
		latest.ReservedConcurrency = &v
		return tx.Put(bucketFunctions, name, latest)
	})
	if err != nil {
		return err
	}
	s.notify(name)
	return nil
}

// ProvisionedCheck refuses provisioned concurrency that cannot be held (the
// invoker's sandbox budget): it gets every setting as it would be after a
// change and returns an ErrInvalid error to refuse it.
type ProvisionedCheck func(ctx context.Context, all []ProvisionedConfig) error

// SetProvisionedCheck installs the check PutProvisioned runs before it raises
// provisioned concurrency. cmd/portico installs the invoker's.
func (s *Service) SetProvisionedCheck(f ProvisionedCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.provCheck = f
}

// PutProvisioned sets provisioned concurrency for a version or alias qualifier;
// n == 0 removes it (and returns a config with Requested 0). $LATEST cannot have
// provisioned concurrency, as in Lambda.
func (s *Service) PutProvisioned(ctx context.Context, name, qualifier string, n int) (*ProvisionedConfig, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, invalidf("ProvisionedConcurrentExecutions %d must be 0 or more", n)
	}
	if qualifier == "" || qualifier == Latest {
		return nil, invalidf("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	if !ValidQualifier(qualifier) {
		return nil, invalidf("Qualifier %q is not a version or an alias name", truncate(qualifier, 200))
	}
	s.mu.RLock()
	check := s.provCheck
	s.mu.RUnlock()
	pc := &ProvisionedConfig{FunctionName: name, Qualifier: qualifier, Requested: n, LastModified: now()}
	if check != nil && n > 0 {
		all, err := s.ListProvisioned(ctx)
		if err != nil {
			return nil, err
		}
		all = slices.DeleteFunc(all, func(c ProvisionedConfig) bool { return c.FunctionName == name && c.Qualifier == qualifier })
		if err := check(ctx, append(all, *pc)); err != nil {
			return nil, err
		}
	}
	// An alias qualifier is looked up by the aliases, in the same transaction:
	// it must exist and point at a published version.
	var steps []store.Step
	target := ""
	if _, isVersion := parseVersion(qualifier); !isVersion && n != 0 && s.aliases != nil {
		steps = append(steps, s.aliases.Target(name, qualifier, &target))
	}
	err := s.st.Together(ctx, append(steps, func(tx *store.Tx) error {
		latest, err := getLatest(tx, name)
		if err != nil {
			return err
		}
		key := name + "\x00" + qualifier
		if n == 0 {
			return tx.Delete(bucketProvisioned, key)
		}
		// Provisioned sandboxes serve calls within the function's
		// reservation, as on Lambda: more than it could never all be busy.
		if r := latest.ReservedConcurrency; r != nil {
			others, err := provisionedTotal(tx, name, qualifier)
			if err != nil {
				return err
			}
			if others+n > *r {
				return invalidf("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
			}
		}
		if v, ok := parseVersion(qualifier); ok {
			if !tx.Has(bucketVersions, versionKey(name, v)) {
				return notFound(name, qualifier)
			}
		} else if target == "" {
			return notFound(name, qualifier)
		} else if target == Latest {
			return invalidf("Provisioned Concurrency Configs cannot be applied to unpublished function versions: alias %s points at $LATEST; point it at a published version first", qualifier)
		}
		return tx.Put(bucketProvisioned, key, pc)
	})...)
	if err != nil {
		return nil, err
	}
	s.notify(name)
	return pc, nil
}

// ListProvisioned returns every provisioned-concurrency setting, by function and
// qualifier.
func (s *Service) ListProvisioned(ctx context.Context) ([]ProvisionedConfig, error) {
	var out []ProvisionedConfig
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucketProvisioned, "", func(key string, raw []byte) error {
			var pc ProvisionedConfig
			if err := json.Unmarshal(raw, &pc); err != nil {
				return fmt.Errorf("provisioned %q: decode: %w", key, err)
			}
			out = append(out, pc)
			return nil
		})
	})
	return out, err
}

// CodeDir returns the directory holding cfg's unpacked Zip package, or "" when cfg
// is not a Zip function with stored code.
func (s *Service) CodeDir(cfg *Config) string {
	if cfg == nil || cfg.PackageType != PackageZip || len(cfg.CodeHash) != 64 {
		return ""
	}
	if _, err := hex.DecodeString(cfg.CodeHash); err != nil {
		return ""
	}
	return filepath.Join(s.codeRoot(), cfg.CodeHash)
}

// VolumeDir returns (creating it) the host directory of a named function volume:
// <datadir>/volumes/<name>. The name must match [A-Za-z0-9_-]{1,64}.
//
// The directory is open to every user (0777, set again when it is not, so that a
// volume made before container sandboxes ran as non-root users opens up too):
// container sandboxes run as a non-root user that is not the server's
// (sbx_user1051, or their image's USER), and every function naming the volume
// must write to it, as to an EFS access point shared by Lambda functions. On
// the host, the data directory (0750) keeps other users out.
func (s *Service) VolumeDir(name string) (string, error) {
	if !ValidVolumeName(name) {
		return "", invalidf("Volume name %q is not valid: it must match [A-Za-z0-9_-]{1,64}", truncate(name, 200))
	}
	// Never the data directory itself (store.Mkdir): a cold start with it
	// moved is refused (503), not given an empty volume at the old path.
	dir, err := s.st.Mkdir(0o755, "volumes", name)
	if err != nil {
		return "", fmt.Errorf("volume %q: %w", name, err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("volume %q: %w", name, err)
	} else if fi.Mode().Perm() != 0o777 {
		//nolint:gosec // G302: every sandbox user must write to the volume (see above)
		if err := os.Chmod(dir, 0o777); err != nil {
			return "", fmt.Errorf("volume %q: %w", name, err)
		}
	}
	return dir, nil
}

// Subscribe registers fn to be called (synchronously, after commit) whenever a
// function's $LATEST changes (code, configuration, reserved or provisioned
// concurrency) or the function or one of its versions is deleted.
func (s *Service) Subscribe(fn func(name string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, fn)
}

// OnDelete has step(name, version) run in the transaction that deletes
// function name (version "") or its published version (its number), after
// this package's records are gone: another package deletes what it keeps of
// the function or version there, so that nothing of it outlives the delete
// (the invoker's queued Event invocations, which a function created again
// under the name must never run). The step touches only its own package's
// buckets; an error from it aborts the delete. Safe for concurrent use.
func (s *Service) OnDelete(step func(name, version string) store.Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleting = append(s.deleting, step)
}

// OnDropQualifier has fn(name, qualifier) called once a transaction that
// ran DropQualifier for it (an alias's delete) has committed: another
// package forgets what it kept in memory of the alias (its metrics series).
// Safe for concurrent use.
func (s *Service) OnDropQualifier(fn func(name, qualifier string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropping = append(s.dropping, fn)
}

// ModuleParams are the functions module's dependencies. The image resolver is
// optional: with one, publishing an Image version pins its image id. Aliases is
// optional: without it there are no aliases to keep or look up.
type ModuleParams struct {
	fx.In

	Store   *store.Store
	Log     *slog.Logger
	Images  ImageResolver `optional:"true"`
	Aliases Aliases       `optional:"true"`
}

// DamagedDelete is the admin API request that removes the function whose
// stored record bucket/key (a *store.RecordError's Bucket and Key) does not
// decode, without reading it; "" for a record of any other bucket.
func DamagedDelete(bucket, key string) string {
	switch bucket {
	case bucketFunctions:
		return "DELETE /2015-03-31/functions/" + key + " (aws lambda delete-function --function-name " + key + ")"
	case bucketVersions:
		// name + "\x00" + zero-padded version (versionKey)
		name, v, ok := strings.Cut(key, "\x00")
		if !ok {
			return ""
		}
		v = strings.TrimLeft(v, "0")
		return "DELETE /2015-03-31/functions/" + name + "?Qualifier=" + v + " (aws lambda delete-function --function-name " + name +
			" --qualifier " + v + ") once no alias names the version (delete those first: DELETE /2015-03-31/functions/" + name +
			"/aliases/ALIAS), or the whole function with DELETE /2015-03-31/functions/" + name
	}
	return ""
}

// Module provides *Service, and collects unreferenced code artifacts at start and
// every DefaultCodeCollect while the application runs (see CollectCode).
var Module = fx.Module("functions",
	fx.Provide(fx.Annotate(func() store.Migration { return Migration }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`))),
	fx.Provide(func(p ModuleParams) (*Service, error) {
		return NewService(p.Store, p.Images, p.Aliases, p.Log.With("component", "functions"))
	}),
	fx.Invoke(func(lc fx.Lifecycle, s *Service) {
		lc.Append(shutdown.Loop(func(ctx context.Context) { s.collectLoop(ctx, DefaultCodeCollect, DefaultCodeGrace) }))
	}),
)

// Migration moves a store from schema version 4 to 5, in which a published
// version keeps the description $LATEST had when it was published
// (record.FromDescription): nothing stored before needs rewriting, a version
// without it reads its own description (publishedFrom). An older build would
// not keep it in the versions it publishes, and refuses the store.
var Migration = store.Migration{From: 4, Name: "published versions keep the description $LATEST had (FromDescription)",
	Run: func(*store.Tx) error { return nil }}

func init() {
	store.Record(bucketFunctions, record{})
	store.Record(bucketVersions, record{})
	store.Record(bucketProvisioned, ProvisionedConfig{})
	store.Record(bucketPolicies, policy{})
	store.Record(bucketEventInvoke, EventInvokeConfig{})
}
