package admin_test

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestBootstrapSymlinkInsideThePackageRuns: a Zip package whose bootstrap is
// a symlink (zip -y) to an executable inside the package, bin/hello, is
// taken and runs, as on Lambda; one leading out of the package is still
// refused.
func TestBootstrapSymlinkInsideThePackageRuns(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	linked := relinkBootstrap(t, apptest.ZipSample(t, "hello"), "bin/hello")
	createZip(t, ctx, c, "linked", "linked hi", linked)
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("linked"), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.FunctionError != nil {
		t.Fatalf("function error %s: %s", *out.FunctionError, out.Payload)
	}
	if g := decodeHello(t, out.Payload); g.Greeting != "linked hi" {
		t.Errorf("greeting %q, want linked hi", g.Greeting)
	}

	_, err = c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("linked"),
		ZipFile: relinkBootstrap(t, apptest.ZipSample(t, "hello"), "../outside")})
	apiError(t, err, "InvalidParameterValueException", 400)
}

// relinkBootstrap rewrites the Zip package data so that its bootstrap file is
// at target and bootstrap is a symlink to it.
func relinkBootstrap(t *testing.T, data []byte, target string) []byte {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	add := func(h *zip.FileHeader, body []byte) {
		fw, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		h := f.FileHeader
		if f.Name == "bootstrap" {
			h = zip.FileHeader{Name: target, Method: zip.Deflate}
			h.SetMode(0o755)
			if target[0] == '.' { // a link out: leave the file where it was
				h.Name = "real-bootstrap"
			}
		}
		add(&h, body)
	}
	link := &zip.FileHeader{Name: "bootstrap", Method: zip.Store}
	link.SetMode(fs.ModeSymlink | 0o777)
	add(link, []byte(target))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
