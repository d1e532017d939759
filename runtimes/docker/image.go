package docker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

// baseImageChanges configure the Zip base image: the code's bootstrap is the
// entrypoint, as in Lambda's provided runtimes.
var baseImageChanges = []string{
	`ENTRYPOINT ["/var/task/bootstrap"]`,
	`WORKDIR /var/task`,
	`ENV PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime`,
}

// baseImage returns the Zip base image's reference, importing it into the daemon
// the first time. Its tag is a digest of its content, so a changed base image
// never collides with an older one.
func (r *Runtime) baseImage(ctx context.Context) (string, error) {
	r.baseMu.Lock()
	defer r.baseMu.Unlock()
	if r.baseRef != "" {
		return r.baseRef, nil
	}
	rootfs, err := ctrbase.BaseRootfs()
	if err != nil {
		return "", fmt.Errorf("docker: building the Zip base image: %w", err)
	}
	h := sha256.New()
	h.Write(rootfs)
	for _, c := range baseImageChanges {
		h.Write([]byte(c))
	}
	ref := ctrbase.BaseImageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:12]
	if _, err := r.cli.ImageInspect(ctx, ref); err == nil {
		r.baseRef = ref
		return ref, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", r.wrap("inspecting the Zip base image", err)
	}
	r.log.Info("importing the Zip base image", "image", ref)
	res, err := r.cli.ImageImport(ctx, client.ImageImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: baseImageChanges, Message: "Portico's base image for Zip functions"})
	if err != nil {
		return "", r.wrap("importing the Zip base image", err)
	}
	err = decodeStream(res, func(streamMessage) {})
	_ = res.Close()
	if err != nil {
		return "", fmt.Errorf("docker: importing the Zip base image: %w", err)
	}
	r.baseRef = ref
	return ref, nil
}

// dockerLoad says how to bring an image into the Docker daemon.
const dockerLoad = "load a `docker save` archive with `docker load -i FILE` or `portico image import FILE`"

// dockerPrivate says how to use an image a registry serves only with
// credentials: the daemon pulls with those `docker login` stored.
const dockerPrivate = "after `docker login` for a private one"

// pull pulls ref, logging its progress: a line per layer and status change.
func (r *Runtime) pull(ctx context.Context, ref string) error {
	r.log.Info("pulling image", "image", ref)
	res, err := r.cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err == nil {
		defer func() { _ = res.Close() }()
		last := map[string]string{}
		err = decodeStream(res, func(m streamMessage) {
			if m.Status == "" || last[m.ID] == m.Status {
				return
			}
			last[m.ID] = m.Status
			r.log.Info("pulling image", "image", ref, "layer", m.ID, "status", m.Status)
		})
	}
	if err != nil {
		if isConnErr(err) && !strings.Contains(err.Error(), "registry") {
			return r.wrap("pulling image "+ref, err)
		}
		return ctrbase.ImageUnavailable(ref, err, dockerLoad, dockerPrivate)
	}
	r.log.Info("pulled image", "image", ref)
	return nil
}

// streamMessage is one line of the daemon's JSON progress streams.
type streamMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	ID          string `json:"id"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Error string `json:"error"`
}

// streamError is an error message the daemon put in a progress stream: the
// daemon answered, and the work it was given failed (a bad archive, a failed
// build step), as opposed to the stream itself breaking.
type streamError struct{ msg string }

func (e *streamError) Error() string { return e.msg }

// decodeStream reads a JSON progress stream to its end, calling fn for each
// message, and returns the first error message the daemon put in it (a
// *streamError).
func decodeStream(r io.Reader, fn func(streamMessage)) error {
	dec := json.NewDecoder(r)
	for {
		var m streamMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return &streamError{m.ErrorDetail.Message}
		}
		if m.Error != "" {
			return &streamError{m.Error}
		}
		fn(m)
	}
}
