package docker

import (
	"context"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/internal/errdefs"
)

// BaseRootfs returns the file system of the Zip base image as an uncompressed
// tar: the directories of a Lambda environment, passwd and group files and the
// host's CA bundle. The containerd runtime builds its Zip base image from it.
func BaseRootfs() ([]byte, error) { return baseRootfs() }

// BaseEntrypoint, BaseWorkdir and BaseEnv are the Zip base image's configuration.
var (
	BaseEntrypoint = []string{"/var/task/bootstrap"}
	BaseWorkdir    = "/var/task"
	BaseEnv        = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin", "LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime"}
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
