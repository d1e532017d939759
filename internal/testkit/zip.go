// Package testkit holds small helpers the tests of several packages share: Zip
// function packages, a buffer safe for concurrent use.
package testkit

import (
	"archive/zip"
	"bytes"
	"testing"
)

// Bootstrap returns a zip archive that holds one executable file, bootstrap,
// with the given content.
func Bootstrap(tb testing.TB, content string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
