package functions

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
)

// Zip creator systems (the high byte of CreatorVersion) that carry Unix mode bits
// in the high 16 bits of ExternalAttrs.
const (
	creatorUnix  = 3
	creatorMacOS = 19
)

const maxSymlinkTarget = 4096

// errBadZip is Lambda's message for an archive it cannot read.
func errBadZip() error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
		"Could not unzip uploaded file. Please check your file, then try to upload again.")
}

// zipEntry is one validated entry of a Zip package.
type zipEntry struct {
	f      *zip.File
	name   string // clean, slash-separated, relative
	kind   fs.FileMode
	target string // symlinks only
	perm   fs.FileMode
}

// zipPackage is a Zip package that passed validation: safe to unpack.
type zipPackage struct {
	data    []byte
	hexSum  string // hex sha256: the artifact key
	b64Sum  string // base64 sha256: Lambda's CodeSha256
	entries []zipEntry
}

// hasUnixMode reports whether f records Unix permission bits.
func hasUnixMode(f *zip.File) bool {
	c := f.CreatorVersion >> 8
	return (c == creatorUnix || c == creatorMacOS) && f.ExternalAttrs>>16 != 0
}

// inspectZip validates a Zip package completely without writing anything: it must
// be a readable archive within the size limits, hold an executable regular file
// "bootstrap" at its root, and have no entry that would land outside the directory
// it is unpacked into.
func inspectZip(data []byte) (*zipPackage, error) {
	if len(data) == 0 {
		return nil, invalidf("ZipFile is required for PackageType Zip")
	}
	if len(data) > MaxZipSize {
		// Lambda's answer to a direct upload over its limit: 413.
		return nil, errdefs.New(errdefs.ErrTooLarge, "RequestEntityTooLargeException",
			fmt.Sprintf("Zip package is %d bytes; it must be at most %d bytes (50 MiB)", len(data), MaxZipSize))
	}
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, errBadZip()
	}
	var (
		total   uint64
		entries []zipEntry
		seen    = map[string]fs.FileMode{} // clean name -> kind
		links   = map[string]string{}      // clean name -> target
	)
	for _, f := range r.File {
		name := strings.ReplaceAll(f.Name, `\`, "/") // zips made on Windows may use backslashes
		mode := f.Mode()
		isDir := strings.HasSuffix(name, "/") || mode.IsDir()
		if strings.HasPrefix(name, "/") || (len(name) >= 2 && name[1] == ':') || strings.ContainsRune(name, 0) {
			return nil, invalidf("Zip entry %q has an absolute path; every entry must be relative to the archive root", truncate(f.Name, 200))
		}
		clean := path.Clean(name)
		if clean == "." && isDir {
			continue
		}
		if clean == ".." || strings.HasPrefix(clean, "../") || !filepath.IsLocal(clean) {
			return nil, invalidf("Zip entry %q escapes the archive root", truncate(f.Name, 200))
		}
		e := zipEntry{f: f, name: clean}
		switch {
		case isDir:
			e.kind = fs.ModeDir
		case mode&fs.ModeSymlink != 0:
			e.kind = fs.ModeSymlink
		case mode.IsRegular():
			e.kind = 0
		default:
			return nil, invalidf("Zip entry %q is not a regular file, directory or symlink", truncate(f.Name, 200))
		}
		if prev, ok := seen[clean]; ok && (prev != fs.ModeDir || e.kind != fs.ModeDir) {
			return nil, invalidf("Zip entry %q appears more than once", truncate(f.Name, 200))
		}
		seen[clean] = e.kind
		total += f.UncompressedSize64
		if total > MaxUnzippedSize {
			return nil, invalidf("Unzipped size must be smaller than %d bytes", MaxUnzippedSize)
		}
		switch e.kind {
		case 0:
			e.perm = 0o644
			if hasUnixMode(f) && mode&0o111 != 0 {
				e.perm = 0o755
			}
		case fs.ModeSymlink:
			if f.UncompressedSize64 > maxSymlinkTarget {
				return nil, invalidf("Zip entry %q is a symlink with a target longer than %d bytes", truncate(f.Name, 200), maxSymlinkTarget)
			}
			rc, err := f.Open()
			if err != nil {
				return nil, errBadZip()
			}
			t, err := io.ReadAll(io.LimitReader(rc, maxSymlinkTarget+1))
			_ = rc.Close()
			if err != nil || len(t) == 0 || len(t) > maxSymlinkTarget {
				return nil, errBadZip()
			}
			e.target = string(t)
			links[clean] = e.target
		}
		entries = append(entries, e)
	}
	for _, e := range entries {
		for p := path.Dir(e.name); p != "."; p = path.Dir(p) {
			if _, ok := links[p]; ok {
				return nil, invalidf("Zip entry %q lies inside the symlink %q", truncate(e.f.Name, 200), p)
			}
		}
		if e.kind != fs.ModeSymlink {
			continue
		}
		switch via, v := resolveLink(e.name, links); v {
		case linkOutside:
			if via != e.name {
				// Another symlink of the archive, on the way, leaves it.
				return nil, invalidf("Zip entry %q is a symlink to %q, which leads through the symlink %q (to %q) outside the archive",
					truncate(e.f.Name, 200), truncate(e.target, 200), truncate(via, 200), truncate(links[via], 200))
			}
			return nil, invalidf("Zip entry %q is a symlink to %q, which is outside the archive", truncate(e.f.Name, 200), truncate(e.target, 200))
		case linkLoop:
			return nil, invalidf("Zip entry %q is a symlink to %q, which is a symlink loop (it leads back to itself, or through more than %d symlinks): "+
				"make it point at a file or directory in the archive", truncate(e.f.Name, 200), truncate(e.target, 200), maxLinkHops)
		}
	}
	boot := -1
	for i, e := range entries {
		if e.name == "bootstrap" {
			boot = i
		}
	}
	if boot < 0 {
		return nil, invalidf("The Zip package has no bootstrap file at its root. A Zip function needs an executable file named bootstrap at the archive root (Lambda's custom-runtime convention): build your handler as bootstrap and zip it without a parent directory")
	}
	b := &entries[boot]
	via := "" // the symlink bootstrap is, if it is one
	if b.kind == fs.ModeSymlink {
		// A bootstrap symlink to a regular file inside the archive (zip -y
		// keeps one) runs on Lambda, as it does here: the file it leads to
		// is the one checked. One leading outside was refused above.
		target, _ := resolveLink(b.name, links)
		via = fmt.Sprintf(" (bootstrap is a symlink to %s)", truncate(target, 200))
		i := slices.IndexFunc(entries, func(e zipEntry) bool { return e.name == target })
		if i < 0 {
			return nil, invalidf("bootstrap at the root of the Zip package is a symlink to %s, which is not in the archive: "+
				"zip the file it names too, or zip the executable itself as bootstrap", truncate(target, 200))
		}
		b = &entries[i]
	}
	if b.kind != 0 {
		return nil, invalidf("bootstrap at the root of the Zip package must be a regular executable file, not a directory%s", via)
	}
	if hasUnixMode(b.f) {
		if b.f.Mode()&0o111 == 0 {
			return nil, invalidf("bootstrap in the Zip package is not executable (mode %04o)%s: run `chmod +x %s` before zipping", b.f.Mode().Perm(), via, truncate(b.name, 200))
		}
	} else {
		b.perm = 0o755 // made where zips carry no Unix modes (Windows): trust it
	}
	sum := sha256.Sum256(data)
	return &zipPackage{
		data:    data,
		hexSum:  hex.EncodeToString(sum[:]),
		b64Sum:  base64.StdEncoding.EncodeToString(sum[:]),
		entries: entries,
	}, nil
}

// linkVerdict is what resolving a symlink of the archive found.
type linkVerdict int

const (
	linkInside  linkVerdict = iota // every step stays inside the archive root
	linkOutside                    // a step leaves the root (an absolute target, or ".." past it)
	linkLoop                       // more than maxLinkHops symlinks followed: a loop
)

// maxLinkHops is how many symlinks resolving one may follow (Linux's limit).
const maxLinkHops = 40

// linkStaysInside resolves the symlink at name, following the archive's other
// symlinks, and reports whether every step stays inside the archive root, or
// the resolution loops.
func linkStaysInside(name string, links map[string]string) linkVerdict {
	_, v := resolveLink(name, links)
	return v
}

// resolveLink resolves the symlink at name as linkStaysInside does and, when
// it stays inside, returns the clean archive path it leads to ("" for the
// root itself); when it leaves, the symlink whose target leaves (name itself,
// or another one it leads through).
func resolveLink(name string, links map[string]string) (string, linkVerdict) {
	// Resolve as a filesystem would: a stack of components, following a symlink
	// whenever the path walked so far is one. Each pending component keeps
	// the symlink whose target it came from.
	type component struct{ c, from string }
	split := func(target, from string) []component {
		var out []component
		for c := range strings.SplitSeq(target, "/") {
			out = append(out, component{c, from})
		}
		return out
	}
	if strings.HasPrefix(links[name], "/") {
		return name, linkOutside
	}
	pending := split(links[name], name)
	stack := strings.Split(path.Dir(name), "/")
	if stack[0] == "." {
		stack = nil
	}
	for hops := 0; len(pending) > 0; {
		c := pending[0]
		pending = pending[1:]
		switch c.c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return c.from, linkOutside
			}
			stack = stack[:len(stack)-1]
			continue
		}
		stack = append(stack, c.c)
		at := strings.Join(stack, "/")
		t, ok := links[at]
		if !ok {
			continue
		}
		if strings.HasPrefix(t, "/") {
			return at, linkOutside
		}
		if hops++; hops > maxLinkHops {
			return "", linkLoop
		}
		stack = stack[:len(stack)-1]
		pending = append(split(t, at), pending...)
	}
	return strings.Join(stack, "/"), linkInside
}

// ArtifactsDir is the data directory's subdirectory of code artifacts
// (content-addressed: <hex>.zip and its unpacked tree <hex>/); a backup
// (store.Backup) takes it with the store.
const ArtifactsDir = "code"

// codeRoot is the directory of the content-addressed code artifacts.
func (s *Service) codeRoot() string { return filepath.Join(s.st.Dir(), ArtifactsDir) }

// storeZip writes pkg's artifacts: the archive as code/<hex>.zip and its unpacked
// tree as code/<hex>/; existing ones are reused. Both are written as
// temporaries first and appear under their final names only once both are
// complete, so an upload refused on the way (a full disk) leaves nothing
// behind: not a tree whose archive did not fit, holding the space the retry
// needs until the code collection's grace runs out.
func (s *Service) storeZip(ctx context.Context, pkg *zipPackage) error {
	// Never the data directory itself: moved under the running server, it
	// is refused here (503) with nothing written, not made again.
	// Mode 0755: code is bind-mounted read-only into containers, whose users must read it.
	root, err := s.st.Mkdir(0o755, ArtifactsDir)
	if err != nil {
		return fmt.Errorf("code directory: %w", err)
	}
	dir, zipPath := filepath.Join(root, pkg.hexSum), filepath.Join(root, pkg.hexSum+".zip")
	s.publishMu.Lock()
	// A tree that is there but not whole (a restore cut short) is unpacked
	// again and replaces it.
	needTree, needZip := checkTree(dir, pkg) != treeWhole, !fileExists(zipPath)
	s.publishMu.Unlock()
	var tmpTree, tmpZip string
	defer func() { // whatever was not published
		if tmpTree != "" {
			_ = removeTree(tmpTree)
		}
		if tmpZip != "" {
			_ = os.Remove(tmpZip)
		}
	}()
	if needTree {
		if tmpTree, err = os.MkdirTemp(root, ".unpack-"+pkg.hexSum[:12]+"-"); err != nil {
			return fmt.Errorf("code directory: %w", err)
		}
		if err := unpack(ctx, tmpTree, pkg); err != nil {
			return err
		}
		if err := makeReadOnly(tmpTree); err != nil {
			return fmt.Errorf("code directory: %w", err)
		}
		// A tree that exists under its final name is taken as complete by
		// every later upload of the same code, so its files must be on disk
		// before the rename is.
		if err := syncTree(tmpTree); err != nil {
			return fmt.Errorf("code directory: %w", err)
		}
	}
	if needZip {
		if tmpZip, err = writeTemp(root, ".zip-"+pkg.hexSum[:12]+"-", pkg.data); err != nil {
			return fmt.Errorf("code archive: %w", err)
		}
	}
	return s.publishArtifacts(root, &tmpTree, dir, &tmpZip, zipPath, pkg)
}

// publishArtifacts renames the complete temporaries *tree and *archive (either
// may be "") to their final names, clearing each it renames, unless another
// upload of the same code got there first; if a rename or the sync fails, it removes what
// it renamed before returning. A tree at dir that is not pkg whole is
// replaced. It holds publishMu, as storeZip does to see which artifacts
// exist, so no upload ever takes an artifact that is then removed here as its
// upload's was refused.
func (s *Service) publishArtifacts(root string, tree *string, dir string, archive *string, zipPath string, pkg *zipPackage) error {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	var made []string
	err := error(nil)
	if *tree != "" && checkTree(dir, pkg) != treeWhole {
		if _, serr := os.Lstat(dir); serr == nil {
			// Out of the way under a temporary's name (a collection
			// removes it if the removal below does not happen).
			old := *tree + ".old"
			if err = os.Rename(dir, old); err == nil {
				defer func() { _ = removeTree(old) }()
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("code directory: %w", err)
	} else if *tree != "" && !isDir(dir) {
		if err = os.Rename(*tree, dir); err == nil {
			made, *tree = append(made, dir), ""
		} else {
			err = fmt.Errorf("code directory: %w", err)
		}
	}
	if err == nil && *archive != "" && !fileExists(zipPath) {
		if err = os.Rename(*archive, zipPath); err == nil {
			made, *archive = append(made, zipPath), ""
		} else {
			err = fmt.Errorf("code archive: %w", err)
		}
	}
	if err == nil {
		err = syncDir(root)
	}
	if err != nil {
		for _, p := range made {
			_ = removeTree(p)
		}
	}
	return err
}

// writeTemp writes data to a new temporary file in dir, durably and readable
// by all, and returns its name; it removes the file if it fails.
func writeTemp(dir, pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644) //nolint:gosec // G302: read-only code, readable by container users
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// syncDir makes renames inside dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// unpack extracts pkg into dir through an os.Root, so that no entry can be written
// outside dir even if validation missed something. Symlinks are created last.
func unpack(ctx context.Context, dir string, pkg *zipPackage) error {
	if err := os.Chmod(dir, 0o755); err != nil { //nolint:gosec // G302: the code directory must be traversable by container users
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	budget := int64(MaxUnzippedSize)
	for _, e := range pkg.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch e.kind {
		case fs.ModeDir:
			if err := root.MkdirAll(e.name, 0o755); err != nil {
				return invalidf("Could not unzip uploaded file: entry %q: %v", truncate(e.f.Name, 200), err)
			}
		case 0:
			n, err := unpackFile(root, e, budget)
			if err != nil {
				return err
			}
			budget -= n
		}
	}
	for _, e := range pkg.entries {
		if e.kind != fs.ModeSymlink {
			continue
		}
		if d := path.Dir(e.name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return invalidf("Could not unzip uploaded file: entry %q: %v", truncate(e.f.Name, 200), err)
			}
		}
		if err := root.Symlink(e.target, e.name); err != nil {
			return invalidf("Could not unzip uploaded file: entry %q: %v", truncate(e.f.Name, 200), err)
		}
	}
	return nil
}

func unpackFile(root *os.Root, e zipEntry, budget int64) (int64, error) {
	if d := path.Dir(e.name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return 0, invalidf("Could not unzip uploaded file: entry %q: %v", truncate(e.f.Name, 200), err)
		}
	}
	rc, err := e.f.Open()
	if err != nil {
		return 0, errBadZip()
	}
	defer func() { _ = rc.Close() }()
	out, err := root.OpenFile(e.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, e.perm)
	if err != nil {
		return 0, invalidf("Could not unzip uploaded file: entry %q: %v", truncate(e.f.Name, 200), err)
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil && cerr != nil {
		return n, fmt.Errorf("unpack %s: %w", e.name, cerr)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // a write failed: our problem, not the archive's
			return n, fmt.Errorf("unpack %s: %w", e.name, err)
		}
		return n, errBadZip()
	}
	if n > budget {
		return n, invalidf("Unzipped size must be smaller than %d bytes", MaxUnzippedSize)
	}
	if err := root.Chmod(e.name, e.perm); err != nil { // OpenFile's perm is subject to umask
		return n, fmt.Errorf("unpack %s: %w", e.name, err)
	}
	return n, nil
}
