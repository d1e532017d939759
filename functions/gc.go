package functions

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/store"
)

// Code collection. Zip code is stored content-addressed, as code/<hex>.zip and
// its unpacked tree code/<hex>/, and shared by every $LATEST and version with the
// same hash. Nothing removes an artifact when the last reference to it goes (a code
// update, a deleted version or function); CollectCode does, later:
//
//   - An artifact is removed once no $LATEST and no version has referenced it for
//     at least the grace period, measured from the first collection that found it
//     unreferenced. A sandbox started from the old code before the reference went
//     keeps running meanwhile (its files stay open or mounted in any case; the
//     grace covers starts already under way).
//   - Uploads hold codeMu shared from writing the artifact until the reference is
//     committed, and a collection holds it exclusively, so an artifact being
//     uploaded again is never removed under the upload.
//   - Image pins (ImagePins: containerd keeps a published version's image under a
//     pinned name) are collected the same way: a pin no $LATEST and no version
//     has referenced for the grace period is removed, and the runtime's own
//     garbage collection frees the image unless a tag still names it. A pin
//     younger than pinMinAge is left alone whatever the grace: its version may
//     be committing. Only this installation's pins are listed and removed (the
//     store is this installation's, the image store may be shared), and an
//     image this installation references that only another pin holds is pinned
//     as this installation's first (ImagePins.AdoptPins).
//   - Leftovers of interrupted uploads (.unpack-* and .zip-* temporaries) are
//     removed by any collection: no upload is in progress while it runs.

// Defaults of the background collection that Module runs.
const (
	DefaultCodeGrace   = 10 * time.Minute
	DefaultCodeCollect = 5 * time.Minute

	pinMinAge = time.Minute
)

// CollectStats says what one collection did.
type CollectStats struct {
	Removed     int   // artifacts removed (an archive with its tree counts once)
	Pending     int   // unreferenced artifacts still within their grace period
	FreedBytes  int64 // bytes of the archives removed
	Leftovers   int   // temporaries of interrupted uploads removed
	Referenced  int   // distinct code hashes referenced
	FailedPaths int   // paths that could not be removed (logged)
	Unpinned    int   // image pins removed
}

// CollectCode removes the code artifacts no function or version has referenced
// for at least grace (0 removes every unreferenced artifact now), and leftovers of
// interrupted uploads. It is safe to call at any time.
func (s *Service) CollectCode(ctx context.Context, grace time.Duration) (CollectStats, error) {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	var st CollectStats
	refs, imageRefs := map[string]bool{}, map[string]bool{}
	collect := func(tx *store.Tx, bucket string) error {
		return tx.ForEach(bucket, "", func(_ string, raw []byte) error {
			var r struct {
				Hash  string `json:"CodeHash"`
				Image string `json:"ResolvedImage"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("collecting code: a %s record does not decode: %w", bucket, err)
			}
			if r.Hash != "" {
				refs[r.Hash] = true
			}
			if r.Image != "" {
				imageRefs[r.Image] = true
			}
			return nil
		})
	}
	if err := s.st.View(ctx, func(tx *store.Tx) error {
		if err := collect(tx, bucketFunctions); err != nil {
			return err
		}
		return collect(tx, bucketVersions)
	}); err != nil {
		return st, err
	}
	st.Referenced = len(refs)
	s.collectPins(ctx, imageRefs, grace, &st)

	root := s.codeRoot()
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("collecting code: %w", err)
	}
	now := s.clock.Now()
	seen := map[string]bool{}
	remove := func(path string) bool {
		if err := removeTree(path); err != nil {
			st.FailedPaths++
			s.log.Warn("code collection could not remove an artifact", "path", path, "err", err)
			return false
		}
		return true
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".unpack-") || strings.HasPrefix(name, ".zip-") {
			if remove(filepath.Join(root, name)) {
				st.Leftovers++
			}
			continue
		}
		hash := strings.TrimSuffix(name, ".zip")
		if !isCodeHash(hash) || refs[hash] || seen[hash] {
			continue
		}
		seen[hash] = true
		if !s.unrefSince.due(hash, now, grace) {
			st.Pending++
			continue
		}
		zipPath := filepath.Join(root, hash+".zip")
		var size int64
		if fi, err := os.Stat(zipPath); err == nil {
			size = fi.Size()
		}
		// The tree first: an archive without its tree is unpacked again by the
		// next upload of the same code, a tree without its archive is not.
		if remove(filepath.Join(root, hash)) && remove(zipPath) {
			st.Removed++
			st.FreedBytes += size
			delete(s.unrefSince, hash)
		}
	}
	s.unrefSince.forgetUnseen(seen) // referenced again, or gone
	if st.Removed > 0 || st.Leftovers > 0 {
		if err := syncDir(root); err != nil {
			return st, err
		}
		s.log.Info("code collected", "removed", st.Removed, "freedBytes", st.FreedBytes,
			"leftovers", st.Leftovers, "pending", st.Pending)
	}
	return st, nil
}

// SetClock sets the clock CollectCode reads the time from (for grace periods
// and pin ages); tests use a fake one. Safe to call at any time.
func (s *Service) SetClock(c clock.Clock) {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	s.clock = c
}

// collectPins removes the image pins (see ImagePins) that refs has not held for
// grace. A runtime that cannot list or remove its pins is logged, not fatal: the
// code is still collected.
func (s *Service) collectPins(ctx context.Context, refs map[string]bool, grace time.Duration, st *CollectStats) {
	pins, ok := s.images.(ImagePins)
	if !ok {
		return
	}
	referenced := make([]string, 0, len(refs))
	for id := range refs {
		referenced = append(referenced, id)
	}
	slices.Sort(referenced)
	if adopted, err := pins.AdoptPins(ctx, referenced); err != nil {
		s.log.Warn("image collection could not pin the images its versions use that only other pins hold", "err", err)
	} else if len(adopted) > 0 {
		s.log.Info("images pinned for this installation: its versions use them and only other pins held them", "images", adopted)
	}
	now := s.clock.Now()
	ids, err := pins.PinnedImages(ctx, now.Add(-pinMinAge))
	if err != nil {
		s.log.Warn("image collection could not list the pinned images", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if refs[id] {
			continue
		}
		seen[id] = true
		if !s.pinUnrefSince.due(id, now, grace) {
			st.Pending++
			continue
		}
		if err := pins.Unpin(ctx, id); err != nil {
			st.FailedPaths++
			s.log.Warn("image collection could not unpin an image", "image", id, "err", err)
			continue
		}
		st.Unpinned++
		delete(s.pinUnrefSince, id)
		s.log.Info("image unpinned: no function or version uses it", "image", id)
	}
	s.pinUnrefSince.forgetUnseen(seen)
}

// unreferenced remembers, by artifact (code hash or image id), the first
// collection that found it unreferenced; the grace period runs from there.
type unreferenced map[string]time.Time

// due records key as unreferenced from now if it was not already, and reports
// whether it has been unreferenced for at least grace.
func (u unreferenced) due(key string, now time.Time, grace time.Duration) bool {
	since, ok := u[key]
	if !ok {
		since = now
		u[key] = now
	}
	return now.Sub(since) >= grace
}

// forgetUnseen drops the keys this collection did not find unreferenced.
func (u unreferenced) forgetUnseen(seen map[string]bool) {
	for key := range u {
		if !seen[key] {
			delete(u, key)
		}
	}
}

// isCodeHash reports whether name is a lower-case hex SHA-256, the name of a code
// artifact.
func isCodeHash(name string) bool {
	if len(name) != 64 || strings.ToLower(name) != name {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil
}

// collectLoop runs startCollect now and then CollectCode every interval with
// grace, until ctx ends.
func (s *Service) collectLoop(ctx context.Context, interval, grace time.Duration) {
	s.startCollect(ctx, grace)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.CollectCode(ctx, grace); err != nil && ctx.Err() == nil {
				s.log.Warn("code collection failed", "err", err)
			}
		}
	}
}

// startCollect is the collection at start: it logs, as an error, each
// $LATEST and version whose code is not on disk (a store restored without
// its code/, or put back after a start that had collected it), which cannot
// run; then collects with grace like any later collection. The grace holds at
// start too: artifacts a new store (portico serve --new-store) or a store
// from another time does not name stay for grace, as the backups section of
// docs/operations.md promises, rather than going at once.
func (s *Service) startCollect(ctx context.Context, grace time.Duration) {
	missing, err := s.MissingCode(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("could not check that the functions' code is on disk", "err", err)
	}
	for _, m := range missing {
		s.log.Error("a function's code is missing from the data directory (or incomplete, with no sound archive to unpack it again from): its invocations fail until it is restored "+
			"(copy code/ back from the backup that goes with portico.db) or the function's code is updated (portico fn update --dir DIR, or --zip FILE)",
			"function", m.Function, "version", m.Version, "codeSha256", m.Hash, "path", m.Path)
	}
	if _, err := s.CollectCode(ctx, grace); err != nil && ctx.Err() == nil {
		s.log.Warn("code collection failed", "err", err)
	}
}

// MissingArtifact is a $LATEST or version of a Zip function whose unpacked code
// is not on disk, or not whole, and cannot be unpacked again.
type MissingArtifact struct {
	Function, Version string
	// Hash is the code's hex sha256, Path the directory that should hold it.
	Hash, Path string
}

// MissingCode returns every $LATEST and version of a Zip function whose code
// cannot run, by function and version: its tree (code/HASH/) is missing, or
// short of the files its archive lists (a restore cut short), and there is no
// sound archive (code/HASH.zip, whose sha256 is HASH) to unpack it again from.
// A tree missing or short beside a sound archive is unpacked again (logged),
// and a tree without its archive is only checked for its bootstrap (logged
// too: its download, GetFunction's Code.Location, fails). Safe for concurrent
// use.
func (s *Service) MissingCode(ctx context.Context) ([]MissingArtifact, error) {
	type ref struct{ name, version string }
	refs := map[string][]ref{}
	var hashes []string
	check := func(tx *store.Tx, bucket string) error {
		return tx.ForEach(bucket, "", func(key string, raw []byte) error {
			var r struct {
				Name        string `json:"FunctionName"`
				Version     string `json:"Version"`
				PackageType string `json:"PackageType"`
				Hash        string `json:"CodeHash"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("%s/%s does not decode: %w", bucket, key, err)
			}
			if !isCodeHash(r.Hash) || (r.PackageType != "" && r.PackageType != PackageZip) {
				return nil
			}
			if refs[r.Hash] == nil {
				hashes = append(hashes, r.Hash)
			}
			refs[r.Hash] = append(refs[r.Hash], ref{r.Name, r.Version})
			return nil
		})
	}
	err := s.st.View(ctx, func(tx *store.Tx) error {
		if err := check(tx, bucketFunctions); err != nil {
			return err
		}
		return check(tx, bucketVersions)
	})
	if err != nil {
		return nil, err
	}
	s.codeMu.RLock()
	defer s.codeMu.RUnlock()
	var out []MissingArtifact
	for _, hash := range hashes {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		path := filepath.Join(s.codeRoot(), hash)
		state, again, err := s.ensureTree(ctx, hash, true)
		first := refs[hash][0]
		switch {
		case again:
			s.log.Warn("a function's code was missing or incomplete in the data directory (a restore cut short?): unpacked again from its archive",
				"function", first.name, "version", first.version, "codeSha256", hash, "path", path)
		case state == treeWhole && !fileExists(path+".zip"):
			s.log.Warn("a function's code archive is missing from the data directory: the code runs, but its download (GetFunction's Code.Location) fails "+
				"and the unpacked code cannot be checked against it; restore code/ from the backup that goes with portico.db, or update the function's code",
				"function", first.name, "version", first.version, "codeSha256", hash, "path", path+".zip")
		case state != treeWhole && err != nil && !errors.Is(err, errNoSoundArchive):
			s.log.Warn("could not unpack a function's code again from its archive", "codeSha256", hash, "path", path, "err", err)
		}
		if state == treeWhole && !again {
			// A tree unpacked by a build before read-only trees, or one
			// someone made writable: read-only again.
			if err := makeReadOnly(path); err != nil {
				s.log.Warn("could not make a function's code read-only", "codeSha256", hash, "path", path, "err", err)
			}
		}
		if state == treeWhole || again {
			continue
		}
		for _, r := range refs[hash] {
			out = append(out, MissingArtifact{Function: r.name, Version: r.version, Hash: hash, Path: path})
		}
	}
	return out, nil
}
