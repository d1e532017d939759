package accesslog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DirsSetting names the server setting that adds a directory file
// destinations may be in (for the refusals' messages).
const DirsSetting = "--access-log-dir (access-log-dir: in portico.yaml, PORTICO_ACCESS_LOG_DIR)"

// systemDirs hold no file an access log may be: kernel and device files.
var systemDirs = []string{"/proc", "/dev", "/sys"}

// Dirs are the directories an access log's file destination may be in: an
// admin who may set a stage's destination may otherwise have the server
// append lines to any file it can write (its own store, an authorized_keys).
type Dirs struct {
	// Allowed are the directories file destinations must be in, checked
	// both as written and with their symbolic links resolved.
	Allowed []string
	// DataDir is the server's data directory: nothing in it is ever a
	// destination, whatever is allowed, but for its logs subdirectory
	// (DataDirLogs).
	DataDir string
	// Protected are other files never written (the IAM key file).
	Protected []string
	// DataDirFull, when set, reports whether the data directory's store
	// refuses writes that add because its disk is full (store.Store.Full):
	// lines for a file in the data directory are then dropped, not
	// written, so that the room left is kept for the store's deletes.
	DataDirFull func() bool
}

// dataDirFull reports whether path, a file destination, is in the data
// directory (as written) while DataDirFull says its disk is full.
func (d *Dirs) dataDirFull(path string) bool {
	if d == nil || d.DataDirFull == nil || d.DataDir == "" || !within(absPath(path), absPath(d.DataDir)) {
		return false
	}
	return d.DataDirFull()
}

// DataDirLogs is the data directory's subdirectory access logs may be in (when
// it is allowed; it is by default).
const DataDirLogs = "logs"

// Check refuses a file path outside d's directories: the path (absolute,
// cleaned) and the path with the symbolic links of its existing part resolved
// must both be in an allowed directory, and neither in the data directory (but
// its logs subdirectory), a protected file or /proc, /dev or /sys.
func (d *Dirs) Check(path string) error {
	path = filepath.Clean(path)
	if err := d.check(path, path); err != nil {
		return err
	}
	resolved, err := resolveExisting(path)
	if err != nil {
		return fmt.Errorf("access log destination %q: %w", path, err)
	}
	return d.check(path, resolved)
}

// check checks p, path as written or resolved.
func (d *Dirs) check(path, p string) error {
	for _, sys := range systemDirs {
		if within(p, sys) {
			return fmt.Errorf("access log destination %q is in %s: name a regular file in %s", path, sys, d.allowedList())
		}
	}
	if d.protected(p) {
		return fmt.Errorf("access log destination %q is one of Portico's own files (the data directory %s, or the IAM key file): name a file in %s", path, d.DataDir, d.allowedList())
	}
	if logs, ok := d.functionLog(p); ok {
		return fmt.Errorf("access log destination %q is, or would be, a function's log file (the functions' logs are FUNCTION.log and FUNCTION.log.1 in %s): "+
			"name a file in a subdirectory, such as %s", path, logs, filepath.Join(logs, "access", filepath.Base(p)))
	}
	if !d.allowed(p) {
		return fmt.Errorf("access log destination %q is not in a directory access logs may be written to (%s): name a file in one of them, or add its directory to the server's setting %s",
			path, d.allowedList(), DirsSetting)
	}
	return nil
}

// allowedList lists the allowed directories for a message.
func (d *Dirs) allowedList() string {
	if len(d.Allowed) == 0 {
		return "none are set"
	}
	return strings.Join(d.Allowed, ", ")
}

// allowed reports whether p is in an allowed directory, as written or
// resolved.
func (d *Dirs) allowed(p string) bool {
	for _, dir := range d.Allowed {
		dir = absPath(dir)
		if within(p, dir) {
			return true
		}
		if r, err := resolveExisting(dir); err == nil && within(p, r) {
			return true
		}
	}
	return false
}

// protected reports whether p is the data directory's (outside its logs
// subdirectory) or a protected file, each taken as written and resolved.
func (d *Dirs) protected(p string) bool {
	forms := func(f string) []string {
		f = filepath.Clean(f)
		if r, err := resolveExisting(f); err == nil && r != f {
			return []string{f, r}
		}
		return []string{f}
	}
	if d.DataDir != "" {
		for _, dd := range forms(absPath(d.DataDir)) {
			if within(p, dd) && !within(p, filepath.Join(dd, DataDirLogs)) {
				return true
			}
		}
	}
	for _, f := range d.Protected {
		for _, pf := range forms(absPath(f)) {
			if p == pf {
				return true
			}
		}
	}
	return false
}

// functionLogName matches the names of the files the invoker keeps each
// function's log in, directly in the data directory's logs subdirectory:
// FUNCTION.log and, rotated, FUNCTION.log.1 (a function name is
// [A-Za-z0-9_-]{1,64}). An access log there would interleave clients' text
// with a function's output, and be overwritten by its rotation; one named
// after no function yet would be written into by a function created later.
var functionLogName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}\.log(\.1)?$`)

// functionLog reports whether p, as written or resolved, is a function's log
// file, or would be one's if it were created (functionLogName), and names the
// logs subdirectory.
func (d *Dirs) functionLog(p string) (string, bool) {
	if d.DataDir == "" || !functionLogName.MatchString(filepath.Base(p)) {
		return "", false
	}
	logs := filepath.Join(absPath(d.DataDir), DataDirLogs)
	forms := []string{logs}
	if r, err := resolveExisting(logs); err == nil && r != logs {
		forms = append(forms, r)
	}
	for _, dir := range forms {
		if filepath.Dir(p) == dir {
			return logs, true
		}
	}
	return "", false
}

// absPath returns p made absolute (relative to the working directory) and
// clean, p itself when that fails.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// within reports whether path is dir or in it (both clean and absolute).
func within(path, dir string) bool {
	if dir == "/" {
		return true
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// resolveExisting resolves the symbolic links of the longest existing part
// of the absolute, clean path p and appends the rest.
func resolveExisting(p string) (string, error) {
	rest := ""
	for cur := p; ; cur = filepath.Dir(cur) {
		r, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if _, lerr := os.Lstat(cur); lerr == nil {
			// It exists but does not resolve: a dangling symbolic link
			// (whose target would be created), a loop.
			return "", fmt.Errorf("%s does not resolve: %w", cur, err)
		}
		if cur == filepath.Dir(cur) {
			return p, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

// MkdirFor makes the directories a file destination at path needs. Below the
// data directory it makes them one at a time and never the data directory
// itself: one moved away while the server runs must not come back, empty, at
// its old path (where the operator's move back would land inside it).
func (d *Dirs) MkdirFor(path string) error {
	dir := filepath.Dir(filepath.Clean(path))
	if d == nil || d.DataDir == "" {
		return os.MkdirAll(dir, 0o750)
	}
	dd := absPath(d.DataDir)
	if !within(dir, dd) {
		return os.MkdirAll(dir, 0o750)
	}
	rel, err := filepath.Rel(dd, dir)
	if err != nil {
		return err
	}
	cur := dd
	if _, err := os.Stat(cur); err != nil {
		return fmt.Errorf("the data directory %s is not there (moved or removed while the server ran): %w", dd, err)
	}
	for _, elem := range strings.Split(rel, string(filepath.Separator)) {
		if elem == "." || elem == "" {
			continue
		}
		cur = filepath.Join(cur, elem)
		if err := os.Mkdir(cur, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return nil
}
