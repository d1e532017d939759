package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/runtimes"
)

// ImageDeps are what the image routes need: the sandbox runtime. Optional; without
// it (or with a runtime that cannot load images) the routes answer with an error
// that says so.
type ImageDeps struct {
	fx.In

	Runtime runtimes.Runtime `optional:"true"`
}

// ImportResult is the answer of POST /portico/v1/images/import.
type ImportResult struct {
	// Runtime is the runtime that loaded the images ("docker", "containerd").
	Runtime string `json:"Runtime"`
	// Images are the references the archive tagged (or, for untagged images, their
	// ids).
	Images []string `json:"Images"`
}

// ResolveRequest is the body of POST /portico/v1/images/resolve.
type ResolveRequest struct {
	ImageURI string `json:"ImageUri"`
	// Local resolves from the images on the server's host alone, pulling
	// none: an image the host does not have is 404 (resolving it would pull
	// it). portico deploy --dry-run sets it.
	Local bool `json:"Local,omitempty"`
}

// ResolveResult is the answer of POST /portico/v1/images/resolve: what an
// Image function's code would be, were it updated to ImageUri now.
type ResolveResult struct {
	// Runtime is the runtime that resolved the reference ("" without one).
	Runtime  string `json:"Runtime,omitempty"`
	ImageURI string `json:"ImageUri"`
	// ResolvedImage is the image id the reference names now (the
	// ResolvedImageUri GetFunction reports once pinned to it).
	ResolvedImage string `json:"ResolvedImage"`
	// CodeSha256 is its digest, as the function would report it.
	CodeSha256 string `json:"CodeSha256,omitempty"`
}

// registerImageRoutes registers
//
//	POST /portico/v1/images/import   (body = a `docker save` or OCI layout tarball)
//	POST /portico/v1/images/resolve  (body = {"ImageUri": REF, "Local": BOOL})
//
// The first streams the archive to the runtime's ImageImporter, so that images
// reach the runtime where the server runs (containerd's store, or the Docker
// daemon) without a registry. The second resolves a reference through the
// runtime as UpdateFunctionCode would (pulling a missing image where the
// runtime pulls; with Local, from the host's images alone) and changes no
// function: portico deploy compares the answer
// with a function's pinned image to notice an image rebuilt under its tag.
func (s *Server) registerImageRoutes(d ImageDeps) {
	s.Handle("POST /portico/v1/images/resolve", func(w http.ResponseWriter, r *http.Request) error {
		var req ResolveRequest
		if err := decodeJSON(w, r, porticoBody, &req); err != nil {
			return err
		}
		if req.ImageURI == "" {
			return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", "ImageUri is required")
		}
		resolve := s.fns.ResolveImageCode
		if req.Local {
			resolve = s.fns.ResolveLocalImageCode
		}
		code, err := resolve(r.Context(), req.ImageURI)
		if err != nil {
			return err
		}
		out := ResolveResult{ImageURI: code.ImageURI, ResolvedImage: code.ResolvedImage, CodeSha256: code.CodeSha256}
		if d.Runtime != nil {
			out.Runtime = d.Runtime.Name()
		}
		return writeJSON(w, http.StatusOK, out)
	})
	s.Handle("POST /portico/v1/images/import", func(w http.ResponseWriter, r *http.Request) error {
		imp, ok := d.Runtime.(runtimes.ImageImporter)
		if !ok {
			name := "no"
			if d.Runtime != nil {
				name = "the " + d.Runtime.Name()
			}
			return errdefs.New(errdefs.ErrInvalid, "InvalidRuntimeException", fmt.Sprintf(
				"%s runtime cannot import images: run portico serve with --runtime docker or containerd", name))
		}
		archive, done, err := s.verifiedBody(r)
		if err != nil {
			return err
		}
		defer done()
		refs, err := imp.ImportImage(r.Context(), archive)
		if err != nil {
			return fmt.Errorf("importing images into the %s runtime: %w", d.Runtime.Name(), err)
		}
		if len(refs) == 0 {
			return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
				"the archive holds no image: give `docker save` output or an OCI image layout tarball")
		}
		s.log.Info("imported images", "runtime", d.Runtime.Name(), "images", refs)
		return writeJSON(w, http.StatusOK, ImportResult{Runtime: d.Runtime.Name(), Images: refs})
	})
}

// verifiedBody returns r's body for a handler that may stop reading it before
// its end (an image importer stops at the archive's end marker). A body
// streamed under a SigV4 signature over its declared X-Amz-Content-Sha256
// (authenticate) is checked against that hash only once read to its end, so
// it is first spooled to a temporary file and read to the end there: bytes
// changed after signing are refused before any of them is used. Other bodies
// are returned as they are. done removes the file.
func (s *Server) verifiedBody(r *http.Request) (body io.Reader, done func(), err error) {
	if _, ok := r.Body.(*signedBody); !ok {
		return r.Body, func() {}, nil
	}
	f, err := os.CreateTemp("", "portico-upload-*")
	if err != nil {
		return nil, nil, fmt.Errorf("spool the request body: %w", err)
	}
	done = func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	if _, err := io.Copy(f, r.Body); err != nil {
		done()
		if errors.Is(err, sigv4.ErrMismatch) {
			return nil, nil, err // the request's signature error (signedBody)
		}
		return nil, nil, fmt.Errorf("read request body: %w: %w", err, errdefs.ErrInvalid)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		done()
		return nil, nil, fmt.Errorf("spool the request body: %w", err)
	}
	return f, done, nil
}
