package apptest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// cachedBuild builds the main package pkg to out through a build kept in the
// repository's bin/apptest, which every test binary of a `go test ./...`
// shares. go build leaves a target whose build ID is current alone, so only
// the first test binary links a program; the others find it up to date and
// link to it (linking is most of what a build costs once the go command's cache
// holds the packages: about 1.5 s of CPU for a sample, 8 s for portico, paid
// by each test binary before). A lock file per program keeps two test
// binaries from building the same one at once; each keeps its own directory
// (the program hard-linked into it), so what a test does there stays its own.
func cachedBuild(out, pkg string, static bool) error {
	name := programName(pkg)
	if static {
		name += "-static"
	}
	dir := filepath.Join(RepoRoot(), "bin", "apptest")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return goBuild(out, pkg, static) // a read-only checkout: build in place
	}
	lock, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return goBuild(out, pkg, static)
	}
	defer func() { _ = lock.Close() }()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return goBuild(out, pkg, static)
	}
	defer func() { _ = unix.Flock(int(lock.Fd()), unix.LOCK_UN) }()
	shared := filepath.Join(dir, name)
	if err := goBuild(shared, pkg, static); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o750); err != nil {
		return err
	}
	// A hard link writes nothing, so no descriptor open for writing can leak
	// into a child that a parallel test forks (exec would fail with ETXTBSY);
	// across file systems, a copy.
	if err := os.Link(shared, out); err == nil {
		return nil
	}
	return copyExecutable(shared, out)
}

// copyExecutable copies the program at src to dst, executable.
func copyExecutable(src, dst string) error {
	in, err := os.Open(src) //nolint:gosec // G304: the build this package just made
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	//nolint:gosec // G302: a program must be executable
	o, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		_ = o.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return o.Close()
}
