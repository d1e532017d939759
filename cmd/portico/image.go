package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/runtimes/docker"
)

// newImageCmds returns `portico build` and `portico image`.
func newImageCmds(g *globalFlags) []*cobra.Command {
	img := &cobra.Command{Use: "image", Short: "Load container images into the server's runtime"}
	img.AddCommand(imageImport(g))
	return []*cobra.Command{newBuildCmd(g), img}
}

func newBuildCmd(g *globalFlags) *cobra.Command {
	var ref, host string
	var load bool
	cmd := &cobra.Command{
		Use:   "build DIR -t REF",
		Short: "Build an image from a directory with a Dockerfile",
		Long: `Build the Dockerfile in DIR into an image tagged REF through the Docker Engine API
(DOCKER_HOST, or --docker-host; the default socket otherwise), showing the build's
output as it runs, and print the image id. The image is then usable by Image
functions on the docker runtime of a server that shares this daemon.

With --import the image is also streamed to the server's runtime through the admin
API (as 'portico image import' would), which is how a containerd runtime, or a
docker runtime on another host, gets a rebuilt tag.

  portico build bin/images/hello -t portico-samples/hello:latest   # laid out by make images
  portico build ./fn -t fn:2 --import`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ref == "" {
				return fmt.Errorf("give the image reference with -t REF (e.g. -t portico-samples/hello:latest)")
			}
			var c *client.Client
			if load {
				var err error
				if c, err = g.client(); err != nil {
					return err
				}
			}
			progress := &linePrefixer{w: cmd.ErrOrStderr()}
			id, err := docker.BuildImage(cmd.Context(), host, args[0], ref, progress)
			progress.flush()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "built", ref, id)
			if load {
				rc, err := docker.SaveImage(cmd.Context(), host, ref)
				if err != nil {
					return err
				}
				defer func() { _ = rc.Close() }()
				res, err := importImages(cmd.Context(), c, rc)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "imported into the server's %s runtime: %s\n", res.Runtime, strings.Join(res.Images, ", "))
			}
			if g.json() {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"Image": ref, "ImageId": id})
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	cmd.Flags().StringVarP(&ref, "tag", "t", "", "image reference to tag the build with (required)")
	cmd.Flags().StringVar(&host, "docker-host", "", "Docker daemon to build with (default: DOCKER_HOST, else unix:///var/run/docker.sock)")
	cmd.Flags().BoolVar(&load, "import", false, "also import the built image into the server's runtime through the admin API")
	return cmd
}

func imageImport(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Import a `docker save` or OCI layout tarball into the server's runtime",
		Long: `Stream FILE (- for stdin), a 'docker save' archive or an OCI image layout tarball,
to the server's runtime through the admin API, and print the references it tagged.
The docker and containerd runtimes can import images; the process runtime cannot.

  docker save fn:1 | portico image import -
  portico image import fn.tar`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer func() { _ = f.Close() }()
				in = f
			}
			res, err := importImages(cmd.Context(), c, in)
			if err != nil {
				return err
			}
			if g.json() {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			for _, ref := range res.Images {
				fmt.Fprintln(cmd.OutOrStdout(), ref)
			}
			return nil
		},
	}
}

// importResult is the admin API's answer to an image import.
type importResult struct {
	Runtime string   `json:"Runtime"`
	Images  []string `json:"Images"`
}

// maskedURLError returns err without the URL a *url.Error quotes (the
// endpoint's, whose secrets the caller names masked), else err.
func maskedURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// importImages streams archive to POST /portico/v1/images/import. The client's Do
// buffers bodies, so this sends the request itself.
func importImages(ctx context.Context, c *client.Client, archive io.Reader) (*importResult, error) {
	const path = "/portico/v1/images/import"
	//nolint:gosec // G704: the endpoint is the operator's --endpoint, by design
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+path, archive)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", c.ShownEndpoint(), maskedURLError(err))
	}
	req.Header.Set("Content-Type", "application/x-tar")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req) //nolint:gosec // G704: as above
	if err != nil {
		return nil, fmt.Errorf("POST %s%s: %w (is `portico serve` running at --endpoint / PORTICO_ENDPOINT?)", c.ShownEndpoint(), path, maskedURLError(err))
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("POST %s: reading the answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &client.APIError{Status: resp.StatusCode, Type: resp.Header.Get("X-Amzn-ErrorType")}
		var body struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &body) == nil && body.Message != "" {
			e.Message = body.Message
		} else {
			e.Message = strings.TrimSpace(string(data))
		}
		return nil, e
	}
	var res importResult
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("POST %s: answer %q: %w", path, data, err)
	}
	return &res, nil
}

// linePrefixer writes the builder's output line by line (it arrives in pieces),
// each prefixed so that it stands apart from Portico's own messages.
type linePrefixer struct {
	w   io.Writer
	buf []byte
}

func (p *linePrefixer) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			return len(b), nil
		}
		line := strings.TrimRight(string(p.buf[:i]), "\r")
		p.buf = p.buf[i+1:]
		if strings.TrimSpace(line) != "" {
			if _, err := fmt.Fprintln(p.w, "  | "+line); err != nil {
				return len(b), err
			}
		}
	}
}

// flush writes a last line that had no newline.
func (p *linePrefixer) flush() {
	if strings.TrimSpace(string(p.buf)) != "" {
		_, _ = fmt.Fprintln(p.w, "  | "+string(p.buf))
	}
	p.buf = nil
}
