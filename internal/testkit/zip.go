// Package testkit holds small helpers the tests of several packages share: Zip
// function packages, a buffer safe for concurrent use.
package testkit

import (
	"archive/zip"
	"bytes"
	"testing"
)

// IdleZip returns a Zip function package for functions a test creates,
// lists, configures or publishes but never invokes: a bootstrap script of a
// few bytes. The samples (apptest.ZipSample) are Go binaries of megabytes
// that the server unzips and hashes on every upload, most of the CPU of a
// test that creates many functions under -race; keep them for functions a
// test calls. Each call returns new bytes, the same ones every time.
func IdleZip(tb testing.TB) []byte {
	tb.Helper()
	return Bootstrap(tb, "#!/bin/sh\n# an idle test function: never invoked\nexit 0\n")
}

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
