package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/errdefs"
)

// PathCheck is how often a served store checks, between writes, that its path
// still names the file it has open (WatchPath), so that a data directory
// removed or moved under a running server is logged even when nothing writes.
const PathCheck = time.Second

// errNotDir is a stat's error for a path whose directory was replaced by a file.
var errNotDir = syscall.ENOTDIR

// MovedError is the error of a write refused because the store's path no
// longer names the file the server has open: the data directory (or
// portico.db) was removed, moved or replaced under the running server. A write
// to the open file would be acknowledged and then lost at the next start, so
// none is made. It is an errdefs.ErrUnavailable (503); its ClientMessage says
// what happened and what to do.
type MovedError struct {
	Path string
	Err  error // the stat's error, or nil when the path names another file
	// Written is set when the path was found moved after the write's
	// commit: the change went to the moved file (kept if the file is put
	// back, lost at the next start if not), and is not acknowledged.
	Written bool
}

func (e *MovedError) Error() string {
	if e.Written {
		return "store: " + e.what() + " (found after this write, which went to the moved file and is lost at the next start unless it is put back); " + e.advice()
	}
	return "store: " + e.what() + ": writes are refused, since they would be lost at the next start; " + e.advice()
}

// movedAdvice is what an operator is told to do about a MovedError whose path
// is gone.
const movedAdvice = "put the data directory back where it was (or remount its volume), and writes are taken again, " +
	"or restart portico with --data-dir naming where the data directory is now"

// advice is what an operator is told to do: when another file is at the path
// (a backup restored in place, which docs/operations.md says to do with the
// server stopped), there is nothing to put back, and a restart serves it.
func (e *MovedError) advice() string {
	if e.Err != nil {
		return movedAdvice
	}
	return fmt.Sprintf("restart portico to serve the %s now at %s (a backup restored in place is served from the next start: stop portico before a restore), "+
		"or put back the file this server opened, and writes are taken again (if the whole data directory was moved and another put in its place, "+
		"restart portico with --data-dir naming where it is now)", fileName, e.Path)
}

// event says what happened under the running server.
func (e *MovedError) event() string {
	if e.Err != nil {
		return "data directory was removed or moved"
	}
	return "store file was replaced"
}

func (e *MovedError) what() string {
	if e.Err != nil {
		return fmt.Sprintf("the store file %s is no longer at its path (%v)", e.Path, e.Err)
	}
	return fmt.Sprintf("the store file %s is no longer the file this server opened (it was replaced)", e.Path)
}

// Unwrap returns errdefs.ErrUnavailable and the stat's error.
func (e *MovedError) Unwrap() []error { return []error{errdefs.ErrUnavailable, e.Err} }

// ClientMessage is what an admin API caller is told of a refused write.
func (e *MovedError) ClientMessage() string {
	if e.Written {
		return "Portico's " + e.event() + " while this change was being written: " + e.what() +
			", so the change went to the moved file, and is lost at the next start unless that file is put back: " + e.advice()
	}
	return "Portico's " + e.event() + " while the server ran: " + e.what() +
		", so nothing was changed (a write now would be lost at the next start): " + e.advice()
}

// checkWritten is checkPath after a write's commit: the path checked before
// the write may have been moved while it ran, and then the write went to the
// moved file and must not be acknowledged.
func (s *Store) checkWritten() error {
	err := s.checkPath()
	var me *MovedError
	if errors.As(err, &me) {
		me.Written = true
	}
	return err
}

// checkPath returns a *MovedError when s's path no longer names the file s
// has open (one stat of the path: the open file's identity is kept from
// Open). The first time it finds so, and the first time after the path names
// the file again, it logs.
func (s *Store) checkPath() error {
	var me *MovedError
	fi, serr := os.Stat(s.path)
	switch {
	case serr != nil && !errors.Is(serr, fs.ErrNotExist) && !errors.Is(serr, errNotDir):
		// Not a sign of a moved file (a transient I/O error, a permission
		// changed on a directory above): the write goes to the open file,
		// and fails by itself if it cannot be made.
	case serr != nil:
		me = &MovedError{Path: s.path, Err: serr}
	case !os.SameFile(fi, s.opened):
		me = &MovedError{Path: s.path}
	}
	if s.moved.Swap(me != nil) != (me != nil) {
		if me != nil {
			s.logger().Error("store: the "+me.event()+" under the running server; writes are refused", "path", s.path, "err", me)
		} else {
			s.logger().Info("store: the store file is at its path again; writes are accepted", "path", s.path)
		}
	}
	if me == nil {
		return nil // not a nil *MovedError in a non-nil error
	}
	return me
}

func (s *Store) logger() *slog.Logger {
	if l := s.log.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// WatchPath checks, every PathCheck on clk (nil: the wall clock), that the
// store's path still names its open file, logging an ERROR when it no longer
// does (writes check for themselves), until Close.
func (s *Store) WatchPath(clk clock.Clock, log *slog.Logger) {
	if clk == nil {
		clk = clock.Real{}
	}
	if log != nil {
		s.log.Store(log)
	}
	s.watchPathMu.Lock()
	defer s.watchPathMu.Unlock()
	if s.closed {
		return
	}
	var tick func()
	tick = func() {
		_ = s.checkPath()
		s.watchPathMu.Lock()
		defer s.watchPathMu.Unlock()
		if !s.closed {
			s.stopWatch = clk.AfterFunc(PathCheck, tick)
		}
	}
	s.stopWatch = clk.AfterFunc(PathCheck, tick)
}
