package client

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestZipLevelKeepsTheArchive: ZipDir at another deflate level (ZipLevel,
// which cmd/portico's tests set to flate.BestSpeed) still makes a Deflate zip
// of the same files, modes and contents, the same bytes each time (so that
// zipping unchanged code again gives the same CodeSha256); only its size
// differs from the default level's.
func TestZipLevelKeepsTheArchive(t *testing.T) {
	dir := t.TempDir()
	text := bytes.Repeat([]byte("portico deflates this line again and again\n"), 4096)
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), text, 0o700); err != nil { //nolint:gosec // G306: an executable bootstrap
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	def, err := ZipDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func(l int) { ZipLevel = l }(ZipLevel)
	ZipLevel = flate.BestSpeed
	fast, err := ZipDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ZipDir(dir)
	if err != nil || !bytes.Equal(fast, again) {
		t.Errorf("ZipDir at BestSpeed twice: different bytes (%v)", err)
	}
	if bytes.Equal(fast, def) {
		t.Errorf("ZipDir at BestSpeed made the default level's bytes: ZipLevel is not used")
	}
	// ZipDirLevel takes its level from its caller, not from ZipLevel.
	if z, err := ZipDirLevel(dir, flate.DefaultCompression); err != nil || !bytes.Equal(z, def) {
		t.Errorf("ZipDirLevel at the default level with ZipLevel BestSpeed: not the default level's bytes (%v)", err)
	}
	ZipLevel = flate.DefaultCompression
	if z, err := ZipDirLevel(dir, flate.BestSpeed); err != nil || !bytes.Equal(z, fast) {
		t.Errorf("ZipDirLevel at BestSpeed: not ZipDir's bytes at BestSpeed (%v)", err)
	}
	for name, z := range map[string][]byte{"default": def, "BestSpeed": fast} {
		zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := map[string]struct {
			body []byte
			mode os.FileMode
		}{"bootstrap": {text, 0o755}, "data.txt": {[]byte("data"), 0o644}}
		if len(zr.File) != len(want) {
			t.Errorf("%s: %d entries, want %d", name, len(zr.File), len(want))
		}
		for _, f := range zr.File {
			w, ok := want[f.Name]
			if !ok || f.Method != zip.Deflate || f.Mode() != w.mode {
				t.Errorf("%s: entry %s, method %d, mode %v", name, f.Name, f.Method, f.Mode())
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil || !bytes.Equal(body, w.body) {
				t.Errorf("%s: %s reads back %d bytes (%v), want %d", name, f.Name, len(body), err, len(w.body))
			}
		}
	}
}
