// Package store is the embedded bbolt store every model package persists through.
//
// One file, portico.db, under the data directory holds all configuration. Values are
// JSON documents in named buckets; each write is one bbolt transaction, so a crash
// mid-write leaves either the old or the new state, never half of one. The schema
// version is kept in the meta bucket and checked at open.
//
// A Store is safe for concurrent use.
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/errdefs"
)

// SchemaVersion is the version of the on-disk layout this build reads and writes.
// Raise it whenever what is stored changes shape or meaning (a new field, a
// new bucket, a value read differently), with a Migration when old records
// need one: a build refuses a store newer than it, so that an older build
// cannot silently drop what it does not know. TestPersistedShapes
// (cmd/portico/app) fails when a persisted type (see Record) changes without
// it.
//
//  1. the first layout.
//  2. a stage method setting leaves a throttle that is not set out, where 1
//     stored 0/0 for it (gateway/apis registers the migration).
//  3. OpenAPI x- extensions kept on APIs and deployments, functions' event
//     invoke configs (a bucket); a throttle value not set is
//     inherited, so a stage burst of 0 beside a rate, which builds before
//     c118483 read as "the rate's burst", is left out (gateway/apis), and a
//     usage plan's is read as not set (gateway/usage reports them).
//  4. aliases' traffic shifts (a bucket, shifts registers the step), queued
//     Event invocations keep the caller's trace id.
//  5. a published version keeps the description $LATEST had when it was
//     published (FromDescription; functions registers the step, which
//     rewrites nothing: a version without it reads its own description).
//  6. a quota count keeps the count reserved ahead of use, which a crash
//     leaves above the count written (gateway/usage registers the step, which
//     rewrites nothing).
//  7. a WebSocket integration response keeps its templateSelectionExpression
//     (gateway/apis registers the step, which rewrites nothing).
//  8. an API's models keep their schemas' text as written (modelTexts;
//     gateway/apis registers the step, which rewrites nothing).
//  9. a quota count keeps the generation (Epoch) of its last exact write (a
//     reset, a clean stop), so that a reservation from before a reset never
//     writes the old count back (gateway/usage registers the step, which
//     rewrites nothing: a record without it is of generation 0).
//  10. an HTTP API's corsConfiguration keeps a maxAge of 0 (MaxAge became
//     *int; 9 read 0 as not set: gateway/apis registers the step, which
//     rewrites nothing).
//  11. API keys and usage plans keep their resource tags (gateway/usage
//     registers the step, which rewrites nothing).
//  12. a queued Event invocation's retries and backoff are kept in a record
//     of their own, so that a retry does not rewrite the payload (invoker
//     registers the step, which rewrites nothing).
//  13. a queued Event invocation sent through a plain alias names the alias,
//     whose version each attempt runs (invoker registers the step, which
//     rewrites nothing).
const SchemaVersion = 13

// Migration upgrades a store from schema version From to From+1. Run reads and
// writes only the buckets of the package that owns the change. Open runs every
// migration a store needs, and the new version, in one bbolt transaction: a
// crash (or an error from Run) leaves the store as it was, at its old version,
// and the next Open runs the migrations again.
//
// Several packages may register a migration from the same version (each
// changes only its own buckets); they run in the order of their names.
type Migration struct {
	From int
	// Name says what the migration does, for errors and logs.
	Name string
	Run  Step
}

// MigrationReport says what one migration did to a store at Open: Changes
// names each record it changed (or whose meaning changed) and how.
type MigrationReport struct {
	From, To int
	Name     string
	Changes  []Change
}

// Change is one record a migration changed: Record names it (bucket/key and
// the entry inside), How says what changed.
type Change struct {
	Record, How string
}

const (
	fileName   = "portico.db"
	metaBucket = "meta"
	schemaKey  = "schema"
)

// Config says where the data directory is.
type Config struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// New has Open create a new, empty store in a data directory that has
	// none (or an empty portico.db) though an earlier server kept functions
	// in it, which Open otherwise refuses with ErrNoStore (`portico serve
	// --new-store`).
	New bool
	// Clock times the check that the store file is still at its path
	// (WatchPath); nil is the wall clock.
	Clock clock.Clock
	// MmapSize is the size, in bytes, the store file is mapped at while it
	// is smaller (bbolt's InitialMmapSize; address space, not memory). A
	// write that grows the file past the mapping maps it again, which waits
	// for every read transaction to end and holds up every transaction
	// begun meanwhile. 0 is DefaultMmapSize; tests set a small one to grow
	// past it.
	MmapSize int
}

// DefaultMmapSize is Config.MmapSize when it is 0: 1 GiB on a 64-bit
// platform (a store that grows past it maps itself again at each further
// GiB, as bbolt does), bbolt's own growth (the file's size, doubled as it
// grows) on a 32-bit one, whose address space is too small to spare it.
var DefaultMmapSize = defaultMmapSize()

func defaultMmapSize() int {
	if strconv.IntSize < 64 {
		return 0
	}
	return 1 << 30
}

// Store wraps a bbolt database and the data directory that holds code artifacts.
type Store struct {
	db  *bbolt.DB
	dir string

	// path is the store file's path and opened what its Stat said at Open:
	// a write checks that the path still names that file (checkPath).
	path   string
	opened fs.FileInfo
	moved  atomic.Bool // the last checkPath found the path no longer names it
	full   atomic.Bool // a write met a full disk and the reserve was released, or none could be made (reserve.go)
	// released says the full state began with the reserve removed (not a
	// start, or a release, that found none): roomFor's refusal says which.
	released atomic.Bool
	checked  atomic.Int64 // when the full state last looked for room (UnixNano; reserveBack)
	log      atomic.Pointer[slog.Logger]

	mmapSize int // the size the file is mapped at while smaller (Config.MmapSize)
	// spoolFree, when set, is the room a backup's copy sees (freeBytes):
	// tests set it.
	spoolFree func() (int64, bool)

	watchPathMu sync.Mutex
	stopWatch   func() bool // WatchPath's timer
	closed      bool

	watchMu sync.RWMutex
	watches []*Generation

	// migrated is what the migrations Open ran did.
	migrated []MigrationReport
}

// Open opens (creating if needed) the store in dir and checks its schema
// version: a new store gets SchemaVersion; an older one is upgraded by
// migrations (see Migration), and refused when one it needs is missing; a
// newer one is refused. Dir returns dir made absolute. A data directory that
// holds an earlier server's functions' code, logs or volumes but no store is
// refused with ErrNoStore (OpenConfig with Config.New creates one there).
func Open(dir string, migrations ...Migration) (*Store, error) {
	return OpenConfig(Config{Dir: dir}, migrations...)
}

// OpenConfig is Open of c.Dir, creating a new store where there is none
// whatever the data directory holds when c.New is set.
func OpenConfig(c Config, migrations ...Migration) (*Store, error) {
	s, err := openConfig(c, migrations)
	return s, unwritable(c.Dir, err)
}

// unwritable adds to err, when it is a read-only file system's, that the
// data directory must be writable and how to give portico one.
func unwritable(dir string, err error) error {
	if !errors.Is(err, syscall.EROFS) {
		return err
	}
	if abs, aerr := filepath.Abs(dir); aerr == nil {
		dir = abs
	}
	return fmt.Errorf("%w: the data directory %s must be writable (portico keeps its database and the functions' code there): "+
		"remount it read-write, or give portico a writable one with --data-dir (PORTICO_DATA_DIR)", err, dir)
}

func openConfig(c Config, migrations []Migration) (*Store, error) {
	dir := c.Dir
	if dir == "" {
		return nil, fmt.Errorf("store: empty data directory: %w", errdefs.ErrInvalid)
	}
	// Everything under the data directory (code, volumes, sandbox state) is
	// named from Dir, and runtimes run sandboxes in directories of their own: a
	// relative path would be resolved against the wrong directory there.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: data directory %s: %w", dir, err)
	}
	dir = abs
	if err := os.MkdirAll(dir, 0o750); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, denied(dir, err)
		}
		return nil, fmt.Errorf("store: create data directory %s: %w", dir, err)
	}
	if _, err := os.ReadDir(dir); errors.Is(err, fs.ErrPermission) {
		return nil, denied(dir, err)
	}
	path := filepath.Join(dir, fileName)
	if err := prepareFile(dir, path, c.New); err != nil {
		return nil, err
	}
	mmap := c.MmapSize
	if mmap <= 0 {
		mmap = DefaultMmapSize
	}
	db, err := openBolt(path, mmap)
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("store: %s is locked by another process (is another portico running with --data-dir %s?)", path, dir)
		case errors.Is(err, ErrCorrupt):
			return nil, err
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
			errors.Is(err, berrors.ErrVersionMismatch):
			return nil, corrupt(path, err)
		}
		if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Path == path {
			return nil, fmt.Errorf("store: %w", err) // it names the file already: "open PATH: ..."
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := check(db); err != nil {
		_ = db.Close()
		return nil, corrupt(path, err)
	}
	// The file bbolt has just opened, and locked: nothing replaces it between.
	opened, err := os.Stat(path)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: stat %s: %w", path, err)
	}
	s := &Store{db: db, dir: dir, path: path, opened: opened, mmapSize: mmap}
	if err := s.checkSchema(SchemaVersion, migrations); err != nil {
		_ = db.Close()
		return nil, err
	}
	// On a full disk there is none to make: writes that add are refused
	// until there is room (roomFor).
	s.full.Store(!s.makeReserve())
	return s, nil
}

// denied is the error of a data directory the server's user may not use.
func denied(dir string, err error) error {
	return fmt.Errorf("store: the data directory %s is not open to the user portico runs as (uid %d): %w: "+
		"give that user read, write and search permission on it and on the directories above it (chown or chmod), "+
		"or run portico as the user that owns it", dir, os.Getuid(), fs.ErrPermission)
}

// ErrCorrupt is the error of a store whose file is damaged: Open refuses it,
// and a read that finds a damaged page (one the check at Open could not see,
// or damage done since) fails with it rather than panicking inside bbolt.
var ErrCorrupt = errors.New("store: the database file is corrupt")

// corruptError is the error Open gives for the store at path that is not a
// sound bbolt database (err says how), saying what to do. It is an ErrCorrupt.
type corruptError struct {
	path string
	err  error
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("store: the store at %s is corrupt (%v): portico cannot start on it. Restore portico.db from a backup "+
		"(docs/operations.md#backups), or move it aside and start with --new-store to start with an empty store; "+
		"`bbolt check %s` (go.etcd.io/bbolt/cmd/bbolt) lists the damaged pages", e.path, e.err, e.path)
}

func (e *corruptError) Unwrap() []error { return []error{ErrCorrupt, e.err} }

func corrupt(path string, err error) error { return &corruptError{path, err} }

// openBolt opens the bbolt database at path; a panic of bbolt's over a
// damaged meta or freelist page is an ErrCorrupt.
func openBolt(path string, mmapSize int) (db *bbolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, corrupt(path, fmt.Errorf("bbolt panicked reading it: %v", r))
		}
	}()
	if err := walkFile(path); err != nil {
		return nil, err
	}
	return bbolt.Open(path, 0o600, boltOptions(mmapSize))
}

// walkFile reads every page reachable from the committed meta page of the
// bbolt file at path, opened read-only, in a goroutine that turns a panic or a
// fault over a damaged page into an ErrCorrupt. It comes before the writable
// open, whose rebuilding of the freelist (boltOptions) walks the same pages in
// a goroutine of bbolt's own, where a damaged page would crash the process.
func walkFile(path string) error {
	ro, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second, ReadOnly: true})
	if err != nil {
		return nil // the writable open meets it too, and says it the better (EISDIR, not "invalid")
	}
	defer func() { _ = ro.Close() }()
	errc := make(chan error, 1)
	go func() {
		debug.SetPanicOnFault(true) // a page beyond the file's end is a fault
		defer func() {
			if r := recover(); r != nil {
				errc <- corrupt(path, fmt.Errorf("bbolt panicked reading it: %v", r))
			}
		}()
		errc <- ro.View(func(tx *bbolt.Tx) error {
			return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error { return walkBucket(b) })
		})
	}()
	return <-errc
}

// walkBucket reads every key and value of b and of the buckets inside it.
func walkBucket(b *bbolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			if c := b.Bucket(k); c != nil {
				return walkBucket(c)
			}
		}
		return nil
	})
}

// boltOptions are the options every open of the store's file uses.
//
// The freelist (the pages no longer in use) is not written: bbolt rebuilds
// it at open by walking the pages reachable from the committed meta page,
// which is what makes it crash-safe (a crash mid-write leaves the old meta
// page, and the walk finds the pages free from it). Written, it is a page
// list the size of the file's free part, rewritten and synced on every
// commit: after an Event backlog grew the file to 380 MB and drained, every
// small write cost 1.2 MB of disk writes. The map freelist finds a run of
// free pages without scanning the whole list.
//
// The file is mapped at mmapSize (Config.MmapSize) from the start, so that a
// write that grows it below that size does not map it again: a remap waits
// for every read transaction to end, and every transaction begun meanwhile
// waits behind it, so that one long read transaction (a backup streamed
// from it: Backup) held up all the store's writes and reads. The mapping
// beyond the file's end is address space only: no memory, no disk.
func boltOptions(mmapSize int) *bbolt.Options {
	return &bbolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType, InitialMmapSize: mmapSize}
}

// check walks every page of db (bbolt's consistency check: page ids, the
// freelist, each bucket's tree and its keys' order) and returns the first
// damage it finds. It reads the whole file: docs/operations.md says what that
// costs.
func check(db *bbolt.DB) error {
	return db.View(func(tx *bbolt.Tx) error {
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		return first
	})
}

// recovered turns a panic of bbolt's over a damaged page, inside a
// transaction's fn, into an ErrCorrupt error that rolls the transaction back.
func (s *Store) recovered(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w (%s): %v: restore it from a backup (docs/operations.md#backups)", ErrCorrupt, filepath.Join(s.dir, fileName), r)
	}
}

// checkSchema brings the store to version want, running migrations in the
// same transaction as the version they reach. A store at want is only read:
// a start writes nothing to it (so that a restart on a full disk serves), and
// writes only to create the version or migrate.
func (s *Store) checkSchema(want int, migrations []Migration) error {
	var v int
	err := s.View(context.Background(), func(t *Tx) (err error) {
		v, err = s.schemaVersion(t, want)
		return err
	})
	if err != nil || v == want {
		return err
	}
	step := fmt.Sprintf("migrating it from schema version %d to %d", v, want)
	if v == 0 {
		step = "writing the new store's schema version"
	}
	err = s.Update(context.Background(), func(t *Tx) error {
		b, err := t.tx.CreateBucketIfNotExists([]byte(metaBucket))
		if err != nil {
			return err
		}
		from, err := s.schemaVersion(t, want)
		if err != nil || from == want {
			return err
		}
		if from == 0 {
			return b.Put([]byte(schemaKey), []byte(strconv.Itoa(want)))
		}
		var reports []MigrationReport
		for v := from; v < want; v++ {
			var steps []Migration
			for _, m := range migrations {
				if m.From == v {
					steps = append(steps, m)
				}
			}
			if len(steps) == 0 {
				return fmt.Errorf("store: %s has schema version %d and no migration to %d is registered (this build reads %d)", s.dir, v, v+1, want)
			}
			slices.SortStableFunc(steps, func(a, b Migration) int { return strings.Compare(a.Name, b.Name) })
			for _, m := range steps {
				t.changes = nil
				if err := m.Run(t); err != nil {
					return fmt.Errorf("store: %s: migration %d to %d (%s): %w", s.dir, v, v+1, m.Name, err)
				}
				reports = append(reports, MigrationReport{From: v, To: v + 1, Name: m.Name, Changes: t.changes})
			}
		}
		t.changes = nil
		// Kept only once the transaction commits (a failure leaves none).
		t.OnCommit(func() { s.migrated = reports })
		return b.Put([]byte(schemaKey), []byte(strconv.Itoa(want)))
	})
	if err == nil || strings.HasPrefix(err.Error(), "store: ") {
		return err
	}
	// bbolt's own error (a write or sync of the file that failed) says
	// neither what the start was doing nor what to do.
	advice := "check the data directory's file system (the server's user must be able to write there) and start portico again"
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		advice = "free space on its file system and start portico again (nothing was changed)"
	}
	return fmt.Errorf("store: %s could not be written while %s: %w: %s", s.path, step, err, advice)
}

// schemaVersion reads the store's schema version in t: 0 for a new store, an
// error for one this build cannot read (newer than want, or not a version).
func (s *Store) schemaVersion(t *Tx, want int) (int, error) {
	b := t.tx.Bucket([]byte(metaBucket))
	if b == nil {
		return 0, nil
	}
	raw := b.Get([]byte(schemaKey))
	if raw == nil {
		return 0, nil
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return 0, fmt.Errorf("store: %s has schema version %q, this build reads %d: the record %s/%s is damaged; restore %s from a backup (docs/operations.md#backups)",
			s.dir, raw, want, metaBucket, schemaKey, FileName)
	}
	if v > want {
		return 0, fmt.Errorf("store: %s has schema version %d, newer than this build's %d: use a newer portico", s.dir, v, want)
	}
	return v, nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Migrated returns what the migrations that Open ran did, in order; none
// when the store was at SchemaVersion (or new).
func (s *Store) Migrated() []MigrationReport { return slices.Clone(s.migrated) }

// Path returns a path inside the data directory, creating its parent
// directories as Mkdir does (with mode 0750).
func (s *Store) Path(elem ...string) (string, error) {
	if len(elem) == 0 {
		return s.dir, nil
	}
	dir, err := s.Mkdir(0o750, elem[:len(elem)-1]...)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, elem[len(elem)-1]), nil
}

// Mkdir returns the directory elem inside the data directory, creating it
// and the ones between with mode perm (before the umask) where they are
// missing. It never creates the data directory itself: when the store's path
// no longer names the file the server opened (the data directory was removed
// or moved), it creates nothing and returns the *MovedError a write gets, so
// that a refused change leaves no directory at the old path for the
// operator's move back to land inside.
func (s *Store) Mkdir(perm fs.FileMode, elem ...string) (string, error) {
	if err := s.checkPath(); err != nil {
		return "", err
	}
	dir := s.dir
	for _, e := range elem {
		dir = filepath.Join(dir, e)
		// One level at a time, under a directory that exists: moved after
		// the check above, the data directory is not made again (ENOENT).
		err := os.Mkdir(dir, perm)
		if errors.Is(err, fs.ErrExist) {
			var fi fs.FileInfo
			if fi, err = os.Stat(dir); err == nil && !fi.IsDir() {
				err = &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
			}
		}
		if errors.Is(err, fs.ErrNotExist) {
			if merr := s.checkPath(); merr != nil {
				return "", merr
			}
		}
		if err != nil {
			return "", err
		}
	}
	return dir, nil
}

// Close stops WatchPath and closes the database.
func (s *Store) Close() error {
	s.watchPathMu.Lock()
	s.closed = true
	if s.stopWatch != nil {
		s.stopWatch()
	}
	s.watchPathMu.Unlock()
	return s.db.Close()
}

// Update runs fn in a read-write transaction; an error from fn rolls it back.
// A store whose path no longer names its file refuses it with a *MovedError
// (checkPath); one whose path was moved while fn's write was committed
// returns a *MovedError too (Written: not acknowledged, since the write went
// to the moved file).
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkPath(); err != nil {
		return err
	}
	t := &Tx{}
	err := s.db.Update(func(tx *bbolt.Tx) (err error) {
		defer s.recovered(&err)
		t.tx = tx
		if err := fn(t); err != nil {
			return err
		}
		return s.roomFor(ctx, t)
	})
	s.releaseReserve(err)
	if err == nil && len(t.touched) > 0 {
		s.committed(t.touched)
	}
	if err == nil {
		err = s.checkWritten()
	}
	return err
}

// Batch is Update for many small concurrent writes: fn runs in a read-write
// transaction shared with other callers' Batch (bbolt's Batch), committed,
// and synced once for all of them, so that concurrent writers share one disk
// sync rather than queueing for one each. As Update, it returns once the
// write is durable. fn may be called more than once (when another caller's
// fn fails, the batch is retried without it): it must be idempotent, and have
// no effect but on the transaction. It is refused as Update is.
func (s *Store) Batch(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkPath(); err != nil {
		return err
	}
	t := &Tx{}
	err := s.db.Batch(func(tx *bbolt.Tx) (err error) {
		defer s.recovered(&err)
		t.tx, t.touched, t.added, t.deleted, t.written = tx, t.touched[:0], false, false, nil
		if err := fn(t); err != nil {
			return err
		}
		return s.roomFor(ctx, t)
	})
	s.releaseReserve(err)
	if err == nil && len(t.touched) > 0 {
		s.committed(t.touched)
	}
	if err == nil {
		err = s.checkWritten()
	}
	return err
}

// Generation counts the committed writes to a set of buckets. Caches compare it
// with the value they were filled at, so that nothing they hold outlives a write
// that has been acknowledged (Update returns only after the count has moved).
// Safe for concurrent use.
type Generation struct {
	n       atomic.Uint64
	buckets []string
}

// Load returns the current count.
func (g *Generation) Load() uint64 { return g.n.Load() }

// Watch returns a Generation that moves whenever a committed transaction has
// written (put, deleted, created) anything in one of buckets.
func (s *Store) Watch(buckets ...string) *Generation {
	g := &Generation{buckets: slices.Clone(buckets)}
	s.watchMu.Lock()
	s.watches = append(s.watches, g)
	s.watchMu.Unlock()
	return g
}

func (s *Store) committed(touched []string) {
	s.watchMu.RLock()
	defer s.watchMu.RUnlock()
	for _, g := range s.watches {
		for _, b := range g.buckets {
			if slices.Contains(touched, b) {
				g.n.Add(1)
				break
			}
		}
	}
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bbolt.Tx) (err error) {
		defer s.recovered(&err)
		return fn(&Tx{tx: tx})
	})
}

// Step is one package's share of a transaction that several packages run
// together: it reads and writes only the buckets its own package owns. Packages
// hand each other Steps, never a *Tx.
type Step func(*Tx) error

// Together runs steps in order in one read-write transaction: the writes of all
// of them commit, or none (the first error rolls back and is returned).
func (s *Store) Together(ctx context.Context, steps ...Step) error {
	return s.Update(ctx, func(tx *Tx) error { return runSteps(tx, steps) })
}

// ViewTogether runs steps in order in one read-only transaction, so that what
// they read across packages is one consistent view.
func (s *Store) ViewTogether(ctx context.Context, steps ...Step) error {
	return s.View(ctx, func(tx *Tx) error { return runSteps(tx, steps) })
}

func runSteps(tx *Tx, steps []Step) error {
	for _, step := range steps {
		if err := step(tx); err != nil {
			return err
		}
	}
	return nil
}

// Tx is a transaction with JSON helpers. It is valid only inside Update or View.
type Tx struct {
	tx      *bbolt.Tx
	touched []string // buckets written, for the generations (Watch)
	changes []Change // what a migration reported (Changed)
	// added and deleted say whether the transaction added a record (or a
	// bucket, or took a sequence number) or deleted one, for roomFor.
	added, deleted bool
	// written holds, for each bucket Track named, the keys put or deleted
	// in it since.
	written map[string]map[string]struct{}
}

// Track has the transaction record, from now on, the key of every record it
// puts or deletes (Put, Delete, DeletePrefix) in each of buckets, for
// Written. A caller that keeps something derived from those buckets calls it
// first thing in its Update's fn, and after the commit reads back only the
// records the transaction wrote.
func (t *Tx) Track(buckets ...string) {
	if t.written == nil {
		t.written = map[string]map[string]struct{}{}
	}
	for _, b := range buckets {
		if t.written[b] == nil {
			t.written[b] = map[string]struct{}{}
		}
	}
}

// Written returns the keys the transaction put or deleted in bucket since
// Track named it, sorted (nil for a bucket Track did not name). Unlike the
// rest of Tx it may be called after the transaction has ended: once Update
// has returned, and OnCommit said it committed, they are the records whose
// committed state may differ from the one before.
func (t *Tx) Written(bucket string) []string {
	keys := slices.Collect(maps.Keys(t.written[bucket]))
	slices.Sort(keys)
	return keys
}

// wrote records bucket/key for Written when Track named bucket.
func (t *Tx) wrote(bucket string, key []byte) {
	if w := t.written[bucket]; w != nil {
		w[string(key)] = struct{}{}
	}
}

// Changed records, in a Migration's Run, that the migration changed record
// (bucket/key and the entry inside it) as how says: Open's caller logs each
// (see Store.Migrated). Outside a migration it does nothing useful.
func (t *Tx) Changed(record, how string) {
	t.changes = append(t.changes, Change{Record: record, How: how})
}

// OnCommit has fn run once the transaction has committed (never when it rolls
// back), after its lock is released: for what must follow only a write that
// happened, such as forgetting a deleted function's metrics.
func (t *Tx) OnCommit(fn func()) { t.tx.OnCommit(fn) }

func (t *Tx) touch(bucket string) {
	if !slices.Contains(t.touched, bucket) {
		t.touched = append(t.touched, bucket)
	}
}

func (t *Tx) bucket(name string, create bool) (*bbolt.Bucket, error) {
	if create {
		t.touch(name)
	}
	if b := t.tx.Bucket([]byte(name)); b != nil {
		return b, nil
	}
	if !create || !t.tx.Writable() {
		return nil, nil
	}
	t.added = true
	return t.tx.CreateBucket([]byte(name))
}

// Get decodes the value at bucket/key into v; a missing key is
// errdefs.ErrNotFound, a value that does not decode a *RecordError.
func (t *Tx) Get(bucket, key string, v any) error {
	b, _ := t.bucket(bucket, false)
	if b == nil {
		return errdefs.ErrNotFound
	}
	raw := b.Get([]byte(key))
	if raw == nil {
		return errdefs.ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return damaged(bucket, key, err)
	}
	return nil
}

// RecordError is the error of a read that met a stored value that does not
// decode (bytes damaged on disk inside a page the consistency check at Open
// cannot see into): it names the record, by bucket and key, and is an
// ErrCorrupt. Its ClientMessage says so to an admin API caller.
type RecordError struct {
	Bucket, Key string
	Err         error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("store: the stored record %s/%s is damaged (it does not decode: %v)", e.Bucket, e.Key, e.Err)
}

// Unwrap returns ErrCorrupt and the decoding error.
func (e *RecordError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

// ClientMessage is what an admin API caller is told of a request that met the
// damaged record.
func (e *RecordError) ClientMessage() string {
	return fmt.Sprintf("Portico's store holds a damaged record, %s/%s (it does not decode), so this request cannot be answered: "+
		"restore portico.db from a backup (docs/operations.md#backups); the server's log has the detail", e.Bucket, e.Key)
}

// damaged wraps err, the decoding error of the value at bucket/key, as a
// *RecordError; an error that is not a JSON decoding error, or that already
// names its record, is returned as it is.
func damaged(bucket, key string, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, new(*RecordError)) || (!errors.As(err, &syntax) && !errors.As(err, &typ)) {
		return err
	}
	return &RecordError{Bucket: bucket, Key: key, Err: err}
}

// Has reports whether bucket/key exists.
func (t *Tx) Has(bucket, key string) bool {
	b, _ := t.bucket(bucket, false)
	return b != nil && b.Get([]byte(key)) != nil
}

// Put encodes v as JSON at bucket/key, creating the bucket if needed.
func (t *Tx) Put(bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s/%s: %w", bucket, key, err)
	}
	b, err := t.bucket(bucket, true)
	if err != nil {
		return err
	}
	if b.Get([]byte(key)) == nil {
		t.added = true // a new record, not a change to one
	}
	t.wrote(bucket, []byte(key))
	return b.Put([]byte(key), raw)
}

// Delete removes bucket/key; a missing key is not an error.
func (t *Tx) Delete(bucket, key string) error {
	b, _ := t.bucket(bucket, false)
	if b == nil || !t.tx.Writable() {
		return nil
	}
	t.touch(bucket)
	t.deleted = true
	t.wrote(bucket, []byte(key))
	return b.Delete([]byte(key))
}

// DeletePrefix removes every key in bucket that starts with prefix.
func (t *Tx) DeletePrefix(bucket, prefix string) error {
	b, _ := t.bucket(bucket, false)
	if b == nil {
		return nil
	}
	t.touch(bucket)
	t.deleted = true
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		t.wrote(bucket, k)
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ForEach calls fn for every key in bucket that starts with prefix, in key order.
// fn receives the raw JSON; decode it with json.Unmarshal. Returning an error stops
// the walk and returns that error; a JSON decoding error (the value is
// damaged) is returned as a *RecordError that names the key.
func (t *Tx) ForEach(bucket, prefix string, fn func(key string, raw []byte) error) error {
	b, _ := t.bucket(bucket, false)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
		if err := fn(string(k), v); err != nil {
			return damaged(bucket, string(k), err)
		}
	}
	return nil
}

// NextSequence returns the next value of a per-bucket counter.
func (t *Tx) NextSequence(bucket string) (uint64, error) {
	b, err := t.bucket(bucket, true)
	if err != nil {
		return 0, err
	}
	t.added = true // for a new record's id
	return b.NextSequence()
}

// MigrationGroup is the fx value group Module gathers migrations from: a
// package whose stored records change provides its Migration as
// fx.Annotate(..., fx.ResultTags(`group:"store_migrations"`)).
const MigrationGroup = "store_migrations"

// Params are Module's dependencies.
type Params struct {
	fx.In

	Lifecycle  fx.Lifecycle
	Config     Config
	Log        *slog.Logger
	Migrations []Migration `group:"store_migrations"`
}

// Module provides *Store from a Config, upgraded by the migrations of the
// MigrationGroup group, and closes it on stop.
var Module = fx.Module("store",
	fx.Provide(func(p Params) (*Store, error) {
		s, err := OpenConfig(p.Config, p.Migrations...)
		if err != nil {
			return nil, err
		}
		log := p.Log.With("component", "store")
		for _, m := range s.Migrated() {
			log.Info("store migrated", "from", m.From, "to", m.To, "migration", m.Name, "changed", len(m.Changes))
			for _, c := range m.Changes {
				log.Warn("store migration changed a record", "from", m.From, "to", m.To, "record", c.Record, "change", c.How)
			}
		}
		log.Info("store open", "dir", p.Config.Dir, "schema", SchemaVersion)
		s.logNoReserve(log)
		s.WatchPath(p.Config.Clock, log)
		p.Lifecycle.Append(fx.StopHook(s.Close))
		return s, nil
	}),
)
