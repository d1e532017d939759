package docker

import (
	"archive/tar"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	pathpkg "path"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

// maxUserFile bounds what is read of an image's passwd or group file.
const maxUserFile = 1 << 20

// sandboxImage is what a sandbox takes from its image beyond what the daemon
// applies itself.
type sandboxImage struct {
	// user is the user ("uid:gid") the sandbox runs as, by
	// ctrbase.ResolveUser's rule: the image's USER unless it is root, else
	// sbx_user1051 (993:990). With Config.AllowRoot it is "": the image's own
	// USER, as the daemon resolves it.
	user string
	// env is the image's own ENV (for Spec.DefaultEnv).
	env []string
	// handlerEnv is the _HANDLER entry the sandbox gets (ctrbase.HandlerEnv),
	// from the image's CMD.
	handlerEnv []string
	// volumes are the paths the image declares as VOLUME, which the sandbox
	// gets read-only (containerConfig).
	volumes []string
}

// sandboxImage returns what a sandbox of spec takes from its image. An Image
// function's image is pulled here when it is not on the host.
func (r *Runtime) sandboxImage(ctx context.Context, spec runtimes.Spec, image string) (sandboxImage, error) {
	si, imageCmd, err := r.imageUser(ctx, spec, image)
	si.handlerEnv = ctrbase.HandlerEnv(spec, imageCmd)
	return si, err
}

// imageUser is sandboxImage without the _HANDLER, returning the image's CMD.
func (r *Runtime) imageUser(ctx context.Context, spec runtimes.Spec, image string) (sandboxImage, []string, error) {
	if spec.PackageType != "Image" {
		if r.cfg.AllowRoot {
			return sandboxImage{env: ctrbase.BaseEnv}, nil, nil
		}
		return sandboxImage{user: ctrbase.DefaultUser.String(), env: ctrbase.BaseEnv}, nil, nil // the Zip base image names no USER
	}
	// The image is inspected whatever the spec says: its VOLUMEs must be
	// known to be made read-only.
	ref := cmp.Or(spec.ImageRef, image) // as the function names it
	res, err := r.cli.ImageInspect(ctx, image)
	if cerrdefs.IsNotFound(err) {
		if ctrbase.IsImageID(image) {
			return sandboxImage{}, nil, &runtimes.ImageGoneError{Image: image, Function: spec.Function, Version: spec.Version}
		}
		if perr := r.pull(ctx, image); perr != nil {
			return sandboxImage{}, nil, perr
		}
		res, err = r.cli.ImageInspect(ctx, image)
	}
	if err != nil {
		return sandboxImage{}, nil, r.wrap("inspecting image "+image, err)
	}
	var si sandboxImage
	var imageCmd []string
	if res.Config != nil {
		si.env, imageCmd = res.Config.Env, res.Config.Cmd
		for v := range res.Config.Volumes {
			si.volumes = append(si.volumes, v)
		}
		slices.Sort(si.volumes)
	}
	if r.cfg.AllowRoot {
		return si, imageCmd, nil
	}
	userSpec := ""
	if res.Config != nil {
		userSpec = res.Config.User
	}
	key := res.ID + "\x00" + userSpec
	r.usersMu.Lock()
	u, ok := r.users[key]
	r.usersMu.Unlock()
	if ok {
		si.user = u
		return si, imageCmd, nil
	}
	files := &imageFiles{r: r, image: res.ID}
	defer files.close()
	user, err := ctrbase.ResolveUser(userSpec, func(path string) ([]byte, error) { return files.read(ctx, path) })
	if err != nil {
		if errors.Is(err, ctrbase.ErrUserUnknown) {
			return sandboxImage{}, nil, ctrbase.UserUnknown(ref, spec.Function, err)
		}
		if !errors.Is(err, errdefs.ErrUnavailable) {
			return sandboxImage{}, nil, errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
				fmt.Sprintf("image %s cannot run as function %s: %v", ref, spec.Function, err))
		}
		return sandboxImage{}, nil, err
	}
	u = user.String()
	r.usersMu.Lock()
	if len(r.users) >= 1024 {
		clear(r.users) // images come and go; a resolution is cheap to redo
	}
	r.users[key] = u
	r.usersMu.Unlock()
	si.user = u
	return si, imageCmd, nil
}

// imageFiles reads files of an image through a container created (never
// started) from it, made on the first read.
type imageFiles struct {
	r     *Runtime
	image string
	id    string
}

func (f *imageFiles) read(ctx context.Context, path string) ([]byte, error) {
	if f.id == "" {
		res, err := f.r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config: &container.Config{
				Image:      f.image,
				Entrypoint: []string{"/portico-never-started"}, // the image may have none
				Labels:     map[string]string{LabelPortico: "1", LabelInstance: f.r.cfg.Instance},
			},
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		})
		if err != nil {
			return nil, f.r.wrap("reading the user files of image "+f.image, err)
		}
		f.id = res.ID
	}
	for hops := 0; ; hops++ {
		data, link, err := f.copyFile(ctx, path)
		if err != nil || link == "" {
			return data, err
		}
		if hops == 8 {
			return nil, fmt.Errorf("%s of image %s: too many symbolic links", path, f.image)
		}
		if !pathpkg.IsAbs(link) {
			link = pathpkg.Join(pathpkg.Dir(path), link)
		}
		path = pathpkg.Clean(link)
	}
}

// copyFile reads one file of the container, or the target of the symbolic
// link it is.
func (f *imageFiles) copyFile(ctx context.Context, path string) (data []byte, link string, _ error) {
	res, err := f.r.cli.CopyFromContainer(ctx, f.id, client.CopyFromContainerOptions{SourcePath: path})
	if cerrdefs.IsNotFound(err) {
		return nil, "", fs.ErrNotExist
	}
	if err != nil {
		return nil, "", f.r.wrap("reading "+path+" of image "+f.image, err)
	}
	defer func() { _ = res.Content.Close() }()
	tr := tar.NewReader(res.Content)
	hdr, err := tr.Next()
	if err != nil {
		return nil, "", fmt.Errorf("reading %s of image %s: %w", path, f.image, err)
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		data, err = io.ReadAll(io.LimitReader(tr, maxUserFile))
		return data, "", err
	case tar.TypeSymlink:
		return nil, hdr.Linkname, nil
	}
	return nil, "", fmt.Errorf("%s of image %s is not a regular file", path, f.image)
}

// close removes the container, if one was made.
func (f *imageFiles) close() {
	if f.id != "" {
		f.r.removeContainer(f.id)
	}
}
