package functions

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// ImageResolver pins an image reference to an immutable image id, for publishing
// Image versions. Runtimes that can do so satisfy it; the composer hands the one
// in use to NewService.
type ImageResolver interface {
	ResolveImage(ctx context.Context, ref string) (id string, err error)
}

// LocalImageResolver is an optional ability of an ImageResolver: resolving a
// reference from the images on the host alone, never pulling one, and
// changing nothing. An image the host does not have is errdefs.ErrNotFound.
type LocalImageResolver interface {
	ResolveLocalImage(ctx context.Context, ref string) (id string, err error)
}

// ImagePins is an optional ability of an ImageResolver whose ResolveImage keeps
// a record that holds the image on the host (containerd's pinned names): the
// code collection lists the pins and removes those no function or version has
// referenced for the grace period, so that the images of deleted versions do
// not stay on disk for ever.
//
// Pins are this installation's own: several installations (data directories)
// may share the runtime's image store, and each collection sees only its own
// store's references, so it must list and remove only the pins it made.
type ImagePins interface {
	// PinnedImages lists the ids this installation's ResolveImage pinned
	// before t (a pin made since may belong to a version being published,
	// not yet committed). Other installations' pins are not listed.
	PinnedImages(ctx context.Context, before time.Time) ([]string, error)
	// Unpin removes this installation's pin of id; an id without one is not
	// an error. Other installations' pins of id stay.
	Unpin(ctx context.Context, id string) error
	// AdoptPins pins as this installation's own each of ids (all those its
	// functions and versions reference) that only some other pin holds (an
	// older Portico's, or another installation's), and returns those.
	AdoptPins(ctx context.Context, ids []string) ([]string, error)
}

// ImageRefuser is an optional ability of an ImageResolver: a runtime that runs
// no images says so, and Image functions are refused when they are created
// (with the error, which says what to do) rather than at their first invoke.
type ImageRefuser interface {
	RefuseImages() error
}

// Aliases is what this package needs of the aliases kept above it, declared here
// where it is consumed so that the import goes one way (aliases imports
// functions). Each method returns the aliases' share of a transaction this
// package runs with store.Together; the steps touch only the aliases' own bucket.
// Implementations are safe for concurrent use.
type Aliases interface {
	// Target sets *version to the version alias of function fn points at
	// (its main version, "$LATEST" or a number), or "" when fn has no such
	// alias.
	Target(fn, alias string, version *string) store.Step
	// Deleting runs before function fn (version "") or one published version of
	// it is deleted: it deletes a deleted function's aliases, and refuses (with
	// errdefs.ErrConflict) to delete a version an alias uses.
	Deleting(fn, version string) store.Step
}

// Versions is a snapshot of which versions of one function exist, read by the
// step VersionsOf inside a transaction that the aliases package runs together
// with its own writes. Its zero value is a function that does not exist.
type Versions struct {
	name      string
	exists    bool
	published map[uint64]bool
}

// VersionsOf returns a step that fills *out with function name's versions.
func (s *Service) VersionsOf(name string, out *Versions) store.Step {
	return func(tx *store.Tx) error {
		*out = Versions{name: name, published: map[uint64]bool{}}
		if err := checkName(name); err != nil {
			return err
		}
		if _, err := getLatest(tx, name); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				return nil
			}
			return err
		}
		out.exists = true
		return tx.ForEach(bucketVersions, name+"\x00", func(key string, _ []byte) error {
			_, num, _ := strings.Cut(key, "\x00")
			if v, err := strconv.ParseUint(num, 10, 64); err == nil {
				out.published[v] = true
			}
			return nil
		})
	}
}

// Exists reports whether the function exists.
func (v *Versions) Exists() bool { return v.exists }

// Published returns version when the function has that published version, else
// the errdefs.ErrNotFound error Get returns for it (for "01" too: Lambda
// matches versions as strings).
func (v *Versions) Published(version string) (string, error) {
	n, ok := parseVersion(version)
	if !v.exists || !ok || !v.published[n] {
		return "", notFound(v.name, version)
	}
	return version, nil
}

// Read returns a step that reads the configuration of function name's *version
// (read when the step runs, so that an earlier step can choose it) into *out, as
// Get does.
func (s *Service) Read(name string, version *string, out **Config) store.Step {
	return func(tx *store.Tx) error {
		c, err := getTx(tx, name, *version)
		*out = c
		return err
	}
}

// Provisioned returns a step that sets *n to the provisioned concurrency set on
// one qualifier of function name (0 when none): the aliases package refuses to
// point an alias that has some at $LATEST.
func (s *Service) Provisioned(name, qualifier string, n *int) store.Step {
	return func(tx *store.Tx) error {
		var pc ProvisionedConfig
		switch err := tx.Get(bucketProvisioned, name+"\x00"+qualifier, &pc); {
		case errors.Is(err, errdefs.ErrNotFound):
			*n = 0
		case err != nil:
			return err
		default:
			*n = pc.Requested
		}
		return nil
	}
}

// DropQualifier returns a step that removes what is kept for one qualifier of
// function name: its provisioned-concurrency setting, its event invoke
// configuration and its resource-based policy (the aliases package runs it
// when an alias goes); once the transaction commits, it tells those
// OnDropQualifier registered.
func (s *Service) DropQualifier(name, qualifier string) store.Step {
	return func(tx *store.Tx) error {
		if err := tx.Delete(bucketProvisioned, name+"\x00"+qualifier); err != nil {
			return err
		}
		if err := tx.Delete(bucketEventInvoke, eventInvokeKey(name, qualifier)); err != nil {
			return err
		}
		if err := tx.Delete(bucketPolicies, policyKey(name, qualifier)); err != nil {
			return err
		}
		s.mu.RLock()
		dropping := s.dropping
		s.mu.RUnlock()
		for _, fn := range dropping {
			tx.OnCommit(func() { fn(name, qualifier) })
		}
		return nil
	}
}
