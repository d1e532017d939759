package store

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
)

// FileName is the name of the bbolt file in the data directory.
const FileName = fileName

// Backup writes a consistent copy of the store to w, as a tar stream, while
// the store stays open for reads and writes: first FileName as one read
// transaction sees it (bbolt's Tx.WriteTo: every write committed before the
// transaction began, none after), then the files under each of dirs (names
// relative to the data directory, e.g. "code"), read after it. Names that
// begin with "." (an upload's temporaries) are left out, as are files other
// than regular files, directories and symbolic links.
//
// The read transaction lasts as long as a copy of FileName to a temporary
// file in the data directory takes (spool), not as long as w takes it: a
// transaction held open holds up any write that grows the file past its
// mapping (Config.MmapSize), and every transaction after that write. Where
// the data directory's file system has too little room for the copy beside
// the store's reserve, the copy is written to w from the transaction itself,
// as it was before, and a WARN says so.
//
// The directories are read after the snapshot, so they must only gain files
// while the server runs, or lose them only after a grace period (content-
// addressed code artifacts: functions.CollectCode removes an artifact only
// once nothing has referenced it for its grace period); then every file the
// snapshot names is in the copy. Unpacking the stream into an empty
// directory gives a data directory that Open takes. Safe for concurrent use.
func (s *Store) Backup(ctx context.Context, w io.Writer, dirs ...string) error {
	tw := tar.NewWriter(w)
	// Whole seconds: the tar format's, which tar(1) would otherwise round
	// up into the future and warn about.
	now := time.Now().Truncate(time.Second)
	if err := s.backupFile(ctx, tw, now); err != nil {
		return fmt.Errorf("store: backup of %s: %w", fileName, err)
	}
	for _, d := range dirs {
		if err := s.backupDir(ctx, tw, d); err != nil {
			return fmt.Errorf("store: backup of %s: %w", d, err)
		}
	}
	return tw.Close()
}

// backupFile writes FileName, as one read transaction sees it, to tw: from
// a copy of it spooled to the data directory, or, where there is no room
// for one, from the transaction.
func (s *Store) backupFile(ctx context.Context, tw *tar.Writer, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	header := func(size int64) *tar.Header {
		return &tar.Header{Name: fileName, Mode: 0o600, Size: size, ModTime: now, Typeflag: tar.TypeReg}
	}
	var (
		spooled *os.File
		size    int64
	)
	err := s.db.View(func(tx *bbolt.Tx) error {
		f, err := s.spool(tx)
		if err != nil {
			return err
		}
		if f != nil {
			spooled, size = f, tx.Size()
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tw.WriteHeader(header(tx.Size())); err != nil {
			return err
		}
		_, err = tx.WriteTo(tw)
		return err
	})
	if err != nil || spooled == nil {
		return err
	}
	defer func() { _ = spooled.Close() }()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tw.WriteHeader(header(size)); err != nil {
		return err
	}
	_, err = io.CopyN(tw, spooled, size)
	return err
}

// spoolPattern names a backup's temporary copy of the store file
// (os.CreateTemp): in the data directory, its name beginning with "." so that
// backups leave it out. It is removed as soon as it is created, so that the
// space it takes is given back when the backup closes it, or the process
// ends, however it ends.
const spoolPattern = "." + fileName + ".backup-*"

// spool copies the store file as tx sees it to a temporary file in the data
// directory, and returns it open at its start; or nil, and a WARN, when the
// data directory's file system has too little room for the copy and the
// store's reserve (reserve.go: a copy must not take the room the store's
// deletes are kept), or the copy met a full disk (it is then removed, and
// the room it took given back).
func (s *Store) spool(tx *bbolt.Tx) (*os.File, error) {
	size := tx.Size()
	noRoom := func(why string, attrs ...any) (*os.File, error) {
		if l := s.log.Load(); l != nil {
			l.Warn("store: backup written from its read transaction, not from a copy: "+why+"; "+
				"until the backup's client has read it, writes that grow the store file past its mapping wait for it, and every read and write after them",
				append([]any{"dir", s.dir, "storeBytes", size, "mmapBytes", s.mmapSize}, attrs...)...)
		}
		return nil, nil
	}
	if s.full.Load() {
		return noRoom("the data directory's file system is full")
	}
	free := s.freeBytes
	if s.spoolFree != nil {
		free = s.spoolFree
	}
	if free, ok := free(); ok && free < size+2*reserveSize {
		return noRoom("the data directory's file system has too little room for a copy of the store beside its reserve", "freeBytes", free)
	}
	f, err := os.CreateTemp(s.dir, spoolPattern)
	if err != nil {
		return noRoom("no temporary file for the copy", "err", err)
	}
	_ = os.Remove(f.Name())
	_, err = tx.WriteTo(f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			return noRoom("the copy met a full disk", "err", err)
		}
		return nil, err
	}
	return f, nil
}

// backupDir writes the files under rel, a directory of the data directory,
// to tw; a directory that does not exist is written as none. A directory's
// files come before its subdirectories: code/HASH.zip before code/HASH/, so
// that an archive cut short inside a tree still holds the tree's Zip, from
// which the server unpacks the tree again (functions.Service.MissingCode).
func (s *Store) backupDir(ctx context.Context, tw *tar.Writer, rel string) error {
	root := filepath.Join(s.dir, rel)
	err := walkFilesFirst(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone since it was listed (a temporary), or no such directory
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		link := ""
		switch {
		case info.Mode().IsRegular(), info.IsDir():
		case info.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		default:
			return nil
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		name, err := filepath.Rel(s.dir, path)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(name)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = info.ModTime().Truncate(time.Second), time.Time{}, time.Time{}
		if !info.Mode().IsRegular() {
			return tw.WriteHeader(hdr)
		}
		f, err := os.Open(path) //nolint:gosec // G122: a file of the data directory this store owns
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		// The header promised the size Stat saw: artifacts are not
		// rewritten in place, so a short copy is an error, not a race.
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	})
	return err
}

// walkFilesFirst is filepath.WalkDir (fn called with the same arguments,
// filepath.SkipDir honoured) but for its order: in each directory, the entries
// that are not directories, in lexical order, then the subdirectories, in
// lexical order. A root that does not exist is walked as nothing.
func walkFilesFirst(root string, fn fs.WalkDirFunc) error {
	info, err := os.Lstat(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fn(root, nil, err)
	}
	err = walkDirFilesFirst(root, fs.FileInfoToDirEntry(info), fn)
	if errors.Is(err, filepath.SkipDir) || errors.Is(err, filepath.SkipAll) {
		return nil
	}
	return err
}

func walkDirFilesFirst(path string, d fs.DirEntry, fn fs.WalkDirFunc) error {
	if err := fn(path, d, nil); err != nil || !d.IsDir() {
		if errors.Is(err, filepath.SkipDir) && d.IsDir() {
			return nil
		}
		return err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		if err := fn(path, d, err); err != nil {
			if errors.Is(err, filepath.SkipDir) {
				return nil
			}
			return err
		}
		return nil
	}
	var dirs []fs.DirEntry
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e)
			continue
		}
		if err := walkDirFilesFirst(filepath.Join(path, e.Name()), e, fn); err != nil {
			if errors.Is(err, filepath.SkipDir) {
				return nil // skip the rest of this directory, as WalkDir does
			}
			return err
		}
	}
	for _, e := range dirs {
		if err := walkDirFilesFirst(filepath.Join(path, e.Name()), e, fn); err != nil {
			return err
		}
	}
	return nil
}
