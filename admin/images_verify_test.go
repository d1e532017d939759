package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
	"github.com/portico-dev/portico/runtimes"
)

// headImporter is a runtime that imports an archive from its first bytes and
// reads no further, as an importer that stops at a tar's end marker does.
type headImporter struct {
	runtimes.Runtime
	imported [][]byte
}

func (*headImporter) Name() string { return "fake" }

func (h *headImporter) ImportImage(_ context.Context, archive io.Reader) ([]string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(archive, b); err != nil {
		return nil, err
	}
	h.imported = append(h.imported, b)
	return []string{"img:" + string(b)}, nil
}

// TestImageImportHeldToSignedHash checks that an image archive streamed under
// a SigV4 signature over its declared X-Amz-Content-Sha256 is imported only if
// all of it hashes to what was signed, though the importer reads only its
// head: an archive changed after signing is refused with 403
// InvalidSignatureException and nothing is imported.
func TestImageImportHeldToSignedHash(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	signedArchive := []byte("GOODHEAD and the rest of the archive")
	send := func(body []byte) (*httptest.ResponseRecorder, *headImporter) {
		imp := &headImporter{}
		s := &Server{cfg: Config{Token: "tok"}, mux: http.NewServeMux(), stopping: make(chan struct{}), now: func() time.Time { return now }}
		s.log = slog.New(slog.DiscardHandler)
		s.registerImageRoutes(ImageDeps{Runtime: imp})
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9090/portico/v1/images/import", bytes.NewReader(signedArchive))
		hash := sigv4.HashHex(signedArchive)
		req.Header.Set("X-Amz-Content-Sha256", hash)
		sigv4test.Sign(t, req, aws.Credentials{AccessKeyID: TokenAccessKeyID, SecretAccessKey: "tok"}, hash, "lambda", sigv4test.Region, now)
		req.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec, imp
	}
	if rec, imp := send(signedArchive); rec.Code != http.StatusOK || len(imp.imported) != 1 {
		t.Fatalf("signed archive: status %d, imported %q: %s", rec.Code, imp.imported, rec.Body)
	}
	tampered := append([]byte("EVILHEAD"), signedArchive[8:]...)
	rec, imp := send(tampered)
	var b map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &b)
	if rec.Code != http.StatusForbidden || rec.Header().Get("x-amzn-ErrorType") != "InvalidSignatureException" || len(imp.imported) != 0 {
		t.Fatalf("archive changed after signing: status %d, type %q, imported %q: %s", rec.Code, rec.Header().Get("x-amzn-ErrorType"), imp.imported, rec.Body)
	}
}
