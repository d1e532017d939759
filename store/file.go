package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.etcd.io/bbolt"
)

// bbolt's on-disk meta page, as go.etcd.io/bbolt/internal/common lays it out:
// a 16-byte page header, then magic, version, page size, flags (uint32 each),
// the root bucket (root page, sequence), the freelist page, the high-water page
// id, the transaction id and the checksum of the bytes before it (uint64 each),
// little-endian on every platform bbolt supports.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaChecksumAt = 56 // offset of the checksum within the meta
	metaSize       = metaChecksumAt + 8
	newFilePrefix  = "." + fileName + ".new-"
)

// boltMeta is the part of a meta page that says how large the database is.
type boltMeta struct {
	pageSize uint32
	pgid     uint64 // pages the database holds: the file must be at least pgid*pageSize
	txid     uint64
}

// readMeta decodes the meta page at off in f; ok is false when it is not a
// valid meta page (bbolt then uses the other one).
func readMeta(f io.ReaderAt, off int64) (m boltMeta, ok bool) {
	buf := make([]byte, metaSize)
	if _, err := f.ReadAt(buf, off+pageHeaderSize); err != nil {
		return m, false
	}
	le := binary.LittleEndian
	if le.Uint32(buf[0:]) != boltMagic || le.Uint32(buf[4:]) != boltVersion {
		return m, false
	}
	h := fnv.New64a()
	_, _ = h.Write(buf[:metaChecksumAt])
	if h.Sum64() != le.Uint64(buf[metaChecksumAt:]) {
		return m, false
	}
	return boltMeta{pageSize: le.Uint32(buf[8:]), pgid: le.Uint64(buf[40:]), txid: le.Uint64(buf[48:])}, true
}

// prepareFile makes sure that the database file at path is one bbolt can open
// without reading past its end, which bbolt does not check: the mapped pages
// beyond the end of a file cut short fault (SIGBUS) and crash the process.
//
//   - A missing or empty file is created whole: bbolt initialises a temporary
//     file, which is synced and renamed into place, so that a full disk or a crash
//     during the creation leaves no file rather than part of one. But not in a
//     data directory an earlier server kept functions in (see checkNew), unless
//     allowNew: there the store was lost or moved aside, and a new one would
//     serve nothing and have the code collection delete the artifacts.
//   - A file cut short before any transaction was committed (bbolt's first
//     write, of its four initial pages, ran out of space) holds nothing: it is
//     created again, as a missing one.
//   - A file shorter than the pages its newest valid meta page says it holds is
//     refused with an error that says so.
//   - A symbolic link is followed, never replaced: a new store is created at
//     its target, and a link whose target does not exist (a volume not mounted)
//     is refused.
//
// Files that are not bbolt databases at all are left to bbolt, which refuses them.
func prepareFile(dir, path string, allowNew bool) error {
	removeNewFiles(dir)
	if li, err := os.Lstat(path); err == nil && li.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			link, _ := os.Readlink(path)
			return fmt.Errorf("store: %s is a symbolic link to %s, which cannot be followed (%w): "+
				"mount or restore what it points to (or remove the link to start with a new store there)", path, link, err)
		}
		path = target
		removeNewFiles(filepath.Dir(path))
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return createNew(dir, path, allowNew, "there is none")
	case err != nil:
		return fmt.Errorf("store: %w", err) // "stat PATH: ..."
	case fi.Size() == 0:
		return createNew(dir, path, allowNew, "it is empty, 0 bytes")
	}
	f, err := os.Open(path) //nolint:gosec // G304: the data directory's own database
	if err != nil {
		return fmt.Errorf("store: %w", err) // "open PATH: ..."
	}
	defer func() { _ = f.Close() }()
	m, ok := readMeta(f, 0)
	if m1, ok1 := readMeta(f, int64(m.pageSize)); ok && ok1 && m1.txid > m.txid {
		m = m1
	}
	if !ok {
		// Meta page 0 is damaged; bbolt would read page 1 at the default page size.
		if m, ok = readMeta(f, int64(os.Getpagesize())); !ok {
			return nil
		}
	}
	need := int64(m.pgid) * int64(m.pageSize)
	if fi.Size() >= need {
		return nil
	}
	if m.txid <= 1 { // bbolt's initial metas carry transactions 0 and 1: nothing was committed
		_ = f.Close()
		return createNew(dir, path, allowNew, "it was cut short before anything was stored in it")
	}
	return fmt.Errorf("store: %s is %d bytes, but the database in it holds %d: the file was cut short "+
		"(a copy that did not finish, or a file system that lost its end); restore it from a backup", path, fi.Size(), need)
}

// ErrNoStore is the error of Open in a data directory that an earlier server
// kept functions in (it holds their code artifacts, logs or volumes) but
// whose store is missing or empty: a new store there would serve none of
// them. Config.New opens a new store anyway.
var ErrNoStore = errors.New("store: the data directory has no store, but an earlier server kept functions in it")

// usedEntries are the entries of a data directory that only a server that
// kept functions makes (code artifacts, function logs, volumes): their
// presence beside a missing store means the store was lost or moved aside.
var usedEntries = []string{"code", "logs", "volumes"}

// checkNew returns an ErrNoStore when dir holds something of usedEntries
// (not empty), which a new store at path would leave unserved; why says why
// the store is new.
func checkNew(dir, path, why string) error {
	var found []string
	for _, name := range usedEntries {
		entries, err := os.ReadDir(filepath.Join(dir, name))
		if err == nil && len(entries) > 0 {
			found = append(found, fmt.Sprintf("%s/ (%d entries)", name, len(entries)))
		}
	}
	if len(found) == 0 {
		return nil
	}
	return &noStoreError{fmt.Sprintf("store: %s holds %s of an earlier server's functions, but its store %s cannot be used (%s). "+
		"Put back the portico.db that goes with them (from where it was moved, or from a backup: docs/operations.md#backups); "+
		"or, to start with a new, empty store in this directory, start once with --new-store (the code artifacts no function "+
		"then names are removed after their grace period)", dir, strings.Join(found, ", "), path, why)}
}

// noStoreError is checkNew's error, an ErrNoStore.
type noStoreError struct{ msg string }

func (e *noStoreError) Error() string        { return e.msg }
func (e *noStoreError) Is(target error) bool { return target == ErrNoStore }

// createNew creates a new store at path, after checkNew unless allowNew.
func createNew(dir, path string, allowNew bool, why string) error {
	if !allowNew {
		if err := checkNew(dir, path, why); err != nil {
			return err
		}
	}
	return createFile(filepath.Dir(path), path)
}

// createFile creates an empty database at path atomically.
func createFile(dir, path string) error {
	f, err := os.CreateTemp(dir, newFilePrefix)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	tmp := f.Name()
	_ = f.Close()
	fail := func(err error) error {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	db, err := bbolt.Open(tmp, 0o600, nil) // writes and syncs the initial pages
	if err != nil {
		return fail(err)
	}
	if err := db.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	return nil
}

// removeNewFiles removes what createFile left behind when it was interrupted.
func removeNewFiles(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), newFilePrefix) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// syncDir makes the entries of dir (a rename into it) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // G304: the data directory
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
