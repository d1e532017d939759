package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// reserveName is the file of zeros the store keeps in the data directory to
// give up when the disk fills, so that deletes have pages to write (bbolt
// copies every page it changes, a delete's too). Its name begins with "." so
// that backups leave it out.
const reserveName = "." + fileName + ".reserve"

// reserveSize is the reserve's size: 1 MiB, 256 of bbolt's pages.
const reserveSize = 1 << 20

// makeReserve writes the reserve file where it is missing or short, and
// reports whether it is there whole; one that could not be written whole is
// removed.
func (s *Store) makeReserve() bool {
	path := filepath.Join(s.dir, reserveName)
	if fi, err := os.Stat(path); err == nil && fi.Size() == reserveSize {
		return true
	}
	err := os.WriteFile(path, make([]byte, reserveSize), 0o600)
	if err != nil {
		_ = os.Remove(path)
		return false
	}
	return true
}

// releaseReserve is what a write that met a full disk (err) does: the
// reserve is removed, once, so that deletes find room. Writes that only add
// are refused from then on (roomFor) until the file has room inside it again
// or the disk has room for the reserve again.
func (s *Store) releaseReserve(err error) {
	if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) {
		return
	}
	if s.full.Swap(true) {
		return
	}
	rerr := os.Remove(filepath.Join(s.dir, reserveName))
	s.released.Store(rerr == nil)
	if l := s.log.Load(); l != nil {
		if rerr == nil {
			l.Warn("store: the data directory's file system is full: released the store's reserve, so that deletes can make room; writes that add are refused until there is room",
				"dir", s.dir, "reserveBytes", reserveSize)
		} else {
			l.Warn("store: the data directory's file system is full and the store had no reserve to release; deletes may be refused too", "dir", s.dir, "err", rerr)
		}
	}
}

// roomFor refuses, on a full disk (releaseReserve), a transaction that adds
// a record (or a bucket, or takes a sequence number for one) and deletes
// none, unless the file has room inside it (deletes have freed pages) or the
// disk has room for the reserve again, which ends the full state. Deletes are
// let through, since they make room, and so are changes to records that
// exist (usage counts, an Event's retry time, an update), which bbolt writes
// in the pages the last commits freed, and writes under an Essential
// context.
func (s *Store) roomFor(ctx context.Context, t *Tx) error {
	if !s.full.Load() || t.deleted || !t.added || ctx.Value(essentialKey{}) != nil {
		return nil
	}
	if s.freeInFile() >= reserveSize {
		return nil
	}
	if s.reserveBack() {
		return nil
	}
	if !s.released.Load() {
		// No write failed and no reserve was released: the store started (or
		// went on) with too little room to make one.
		free, _ := s.freeBytes()
		return &NearlyFullError{Dir: s.dir, Free: free}
	}
	return fmt.Errorf("store: %w: the data directory's file system is full, so writes that add records are refused; deletes are taken "+
		"(Portico released its reserve of %d KiB for them)", &fs.PathError{Op: "write", Path: s.path, Err: syscall.ENOSPC}, reserveSize>>10)
}

// freeInFile is the room free inside portico.db: the pages freed by the last
// commits, reused from the next transaction on.
func (s *Store) freeInFile() int {
	st := s.db.Stats()
	return (st.FreePageN + st.PendingPageN) * s.db.Info().PageSize
}

// reserveBack ends the full state when the file system has room for the
// reserve again (2 MiB free) and it could be written, and says whether it did.
func (s *Store) reserveBack() bool {
	s.checked.Store(time.Now().UnixNano())
	if free, ok := s.freeBytes(); !ok || free < 2*reserveSize || !s.makeReserve() {
		return false
	}
	if s.full.Swap(false) {
		s.released.Store(false)
		if l := s.log.Load(); l != nil {
			l.Info("store: the data directory's file system has room again: the store's reserve is back", "dir", s.dir)
		}
	}
	return true
}

// freeBytes is the room left on the data directory's file system for the
// server's user, and whether it could be read.
func (s *Store) freeBytes() (int64, bool) {
	var st syscall.Statfs_t
	if syscall.Statfs(s.dir, &st) != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true //nolint:gosec // G115: block counts fit
}

// ErrNearlyFull is the kind of NearlyFullError (errors.Is).
var ErrNearlyFull = errors.New("store: the data directory's file system is nearly full")

// NearlyFullError is roomFor's refusal of a write that adds when the store
// has no reserve because the file system had too little room to make one
// (at the start, or since): no write failed, and none was released. It is an
// ErrNearlyFull and a syscall.ENOSPC, so that it is answered as a full disk.
type NearlyFullError struct {
	Dir  string // the data directory
	Free int64  // bytes free on its file system when the write was refused
}

func (e *NearlyFullError) Error() string {
	return fmt.Sprintf("store: the file system of the data directory %s is nearly full (%d KiB free, less than the %d KiB the store keeps "+
		"in reserve so that deletes can be written), so writes that add records are refused until it has %d KiB free; deletes are taken",
		e.Dir, e.Free>>10, reserveSize>>10, 2*reserveSize>>10)
}

// Unwrap makes e an ErrNearlyFull and an ENOSPC.
func (e *NearlyFullError) Unwrap() []error { return []error{ErrNearlyFull, syscall.ENOSPC} }

// Full reports whether the store refuses writes that add (roomFor): a write
// met a full disk and the reserve was released, or there was too little room
// to make the reserve. What else writes to the data directory (function
// logs) should then write nothing, so that deletes keep the room.
// While full, it checks at most every fullCheck whether there is room again
// (as a write that adds does), so that such writers resume without one.
func (s *Store) Full() bool {
	if !s.full.Load() {
		return false
	}
	if last := s.checked.Load(); time.Since(time.Unix(0, last)) < fullCheck {
		return true
	}
	return !s.reserveBack()
}

// fullCheck is how often at most Full checks the file system for room.
const fullCheck = time.Second

// logNoReserve logs, at the start, a WARN when the store could make no
// reserve: what it means and what to do.
func (s *Store) logNoReserve(log *slog.Logger) {
	if !s.full.Load() {
		return
	}
	free, _ := s.freeBytes()
	log.Warn("store: the data directory's file system has too little room for the store's reserve: writes that add records "+
		"(creates, Event invocations) are taken only while portico.db has at least 1 MiB free inside it (freeInFileKiB), and refused once "+
		"they have used that up (the rest stays for deletes) until the file system has 2 MiB free; one that needs more pages than the file "+
		"has free is refused by the full disk, and deletes, with no reserve to write them in, may be refused too; "+
		"free space on it (function logs, and access logs in the data directory, are not written meanwhile)",
		"dir", s.dir, "freeKiB", free>>10, "freeInFileKiB", s.freeInFile()>>10, "reserveKiB", reserveSize>>10)
}

type essentialKey struct{}

// Essential returns ctx marked so that Update and Batch under it are taken on
// a full disk even when they add records, as deletes are: for the serving
// path's own bookkeeping (usage counts), never for what a client creates.
func Essential(ctx context.Context) context.Context {
	return context.WithValue(ctx, essentialKey{}, true)
}
