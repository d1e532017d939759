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
//     during the creation leaves no file rather than part of one.
//   - A file cut short before any transaction was committed (bbolt's first
//     write, of its four initial pages, ran out of space) holds nothing: it is
//     created again.
//   - A file shorter than the pages its newest valid meta page says it holds is
//     refused with an error that says so.
//
// Files that are not bbolt databases at all are left to bbolt, which refuses them.
func prepareFile(dir, path string) error {
	removeNewFiles(dir)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return createFile(dir, path)
	case err != nil:
		return fmt.Errorf("store: %s: %w", path, err)
	case fi.Size() == 0:
		return createFile(dir, path)
	}
	f, err := os.Open(path) //nolint:gosec // G304: the data directory's own database
	if err != nil {
		return fmt.Errorf("store: %s: %w", path, err)
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
		return createFile(dir, path)
	}
	return fmt.Errorf("store: %s is %d bytes, but the database in it holds %d: the file was cut short "+
		"(a copy that did not finish, or a file system that lost its end); restore it from a backup", path, fi.Size(), need)
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
