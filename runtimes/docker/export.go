package docker

import (
	"context"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/internal/errdefs"
)

// SaveImage streams `docker save` of ref from the daemon at host (empty: the
// environment's), for runtimes that copy images out of the local Docker daemon.
// The caller closes the stream. A missing image wraps errdefs.ErrNotFound and a
// daemon that does not answer errdefs.ErrUnavailable.
func SaveImage(ctx context.Context, host, ref string) (io.ReadCloser, error) {
	cli, err := newClient(host)
	if err != nil {
		return nil, err
	}
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		defer func() { _ = cli.Close() }()
		if cerrdefs.IsNotFound(err) {
			return nil, errdefsNotFound(ref)
		}
		if isConnErr(err) {
			return nil, unavailable(cli, "inspecting image "+ref, err)
		}
		return nil, err
	}
	rc, err := cli.ImageSave(ctx, []string{ref})
	if err != nil {
		defer func() { _ = cli.Close() }()
		if isConnErr(err) {
			return nil, unavailable(cli, "saving image "+ref, err)
		}
		return nil, err
	}
	return &closeBoth{ReadCloser: rc, cli: cli}, nil
}

// Images is the image store of the Docker daemon at Host (empty: the
// environment's). It satisfies the containerd runtime's ImageSource, so that
// containerd copies images only Docker has without importing Docker's SDK.
type Images struct {
	Host string
}

// SaveImage streams `docker save` of ref; see the function SaveImage.
func (i Images) SaveImage(ctx context.Context, ref string) (io.ReadCloser, error) {
	return SaveImage(ctx, i.Host, ref)
}

// ImageID returns the id (sha256:..., the digest of its configuration) of the
// image ref names in the Docker daemon, without copying it: the containerd
// runtime's ImageIdentifier.
func (i Images) ImageID(ctx context.Context, ref string) (string, error) {
	cli, err := newClient(i.Host)
	if err != nil {
		return "", err
	}
	defer func() { _ = cli.Close() }()
	img, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", errdefsNotFound(ref)
		}
		if isConnErr(err) {
			return "", unavailable(cli, "inspecting image "+ref, err)
		}
		return "", err
	}
	return img.ID, nil
}

func errdefsNotFound(ref string) error {
	return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException", "image "+ref+" is not in the Docker daemon")
}

type closeBoth struct {
	io.ReadCloser
	cli *client.Client
}

func (c *closeBoth) Close() error {
	err := c.ReadCloser.Close()
	_ = c.cli.Close()
	return err
}
