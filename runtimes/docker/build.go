package docker

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

	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/internal/errdefs"
)

// BuildImage builds the Dockerfile in dir into an image tagged ref through the
// Engine API (the classic builder, which Docker 20.10 runs without BuildKit), for
// `portico build DIR -t REF`. The build's output goes to progress as it runs; the
// image id is returned. A directory without a Dockerfile or a reference that does
// not parse is ErrInvalid; a failed step is an error carrying the builder's message.
func BuildImage(ctx context.Context, host, dir, ref string, progress io.Writer) (string, error) {
	if err := checkRef(ref); err != nil {
		return "", err
	}
	invalid := func(what string) error {
		return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", dir+" "+what)
	}
	switch st, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return "", invalid("does not exist: give the directory that holds the Dockerfile")
	case err != nil:
		return "", invalid(fmt.Sprintf("cannot be read: %v", err))
	case !st.IsDir():
		return "", invalid("is not a directory: give the directory that holds the Dockerfile")
	}
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		return "", invalid("has no Dockerfile: put one in it (samples/hello/Dockerfile is the shape for a Go function's static bootstrap; `make images` lays one out in bin/images/hello)")
	}
	cli, err := newClient(host)
	if err != nil {
		return "", err
	}
	defer func() { _ = cli.Close() }()
	pr, pw := io.Pipe()
	go func() { _ = pw.CloseWithError(tarDir(dir, pw)) }()
	defer func() { _ = pr.Close() }()
	res, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{Tags: []string{ref}, Remove: true, ForceRemove: true, Dockerfile: "Dockerfile"})
	if err != nil {
		if isConnErr(err) {
			return "", unavailable(cli, "building "+ref, err)
		}
		return "", fmt.Errorf("docker: building %s: %w", ref, err)
	}
	defer func() { _ = res.Body.Close() }()
	if progress == nil {
		progress = io.Discard
	}
	if err := decodeStream(res.Body, func(m streamMessage) {
		if m.Stream != "" {
			_, _ = io.WriteString(progress, m.Stream)
		} else if m.Status != "" {
			_, _ = io.WriteString(progress, m.Status+"\n")
		}
	}); err != nil {
		return "", fmt.Errorf("docker: building %s: %w", ref, err)
	}
	img, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("docker: building %s: %w", ref, err)
	}
	return img.ID, nil
}

// tarDir writes dir as a build context, skipping what .dockerignore's plain
// entries (no patterns) name.
func tarDir(dir string, w io.Writer) error {
	ignore := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(dir, ".dockerignore")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				ignore[filepath.Clean(l)] = true
			}
		}
	}
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		if ignore[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.OpenInRoot(dir, rel) // no escape through symlinks swapped in meanwhile
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
