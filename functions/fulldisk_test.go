package functions

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/internal/tmpfstest"
)

// codeEntries lists the code directory of e's data directory.
func (e *env) codeEntries(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.dir, ArtifactsDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range entries {
		names = append(names, d.Name())
	}
	return names
}

// TestUploadThatDoesNotFitLeavesNothing is the durable10 tester's: an upload
// whose unpacked tree fitted on the disk but whose archive did not was
// refused, yet left the tree in code/ under its final name, taking the space
// the retry needed until the code collection's grace ran out. Whichever of
// its files does not fit, a refused upload leaves the code directory as it
// was, and the same upload works once there is space.
func TestUploadThatDoesNotFitLeavesNothing(t *testing.T) {
	const size = 1536 << 10 // incompressible: the archive and the tree are each this large
	for _, tc := range []struct {
		name string
		free int64 // bytes left free on the disk before the upload
	}{
		{"the tree does not fit", size / 2},
		{"the tree fits, the archive does not", size * 3 / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk := tmpfstest.Mount(t, "8m")
			e := &env{dir: filepath.Join(disk, "data")}
			e.open(t)
			t.Cleanup(func() { _ = e.st.Close() })
			e.create(t, "fn", false)
			before := e.codeEntries(t)

			body := make([]byte, size)
			_, _ = rand.Read(body)
			big := makeZip(t, testEntry{name: "bootstrap", body: "#!/bin/sh\n", mode: exe}, testEntry{name: "blob", body: string(body)})

			filler := filepath.Join(disk, "filler")
			tmpfstest.Fill(t, filler)
			fi, err := os.Stat(filler)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(filler, max(fi.Size()-tc.free, 0)); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.UpdateCode(context.Background(), "fn", CodeInput{ZipFile: big})
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("an upload larger than the free space: %v, want ENOSPC", err)
			}
			if after := e.codeEntries(t); !slices.Equal(after, before) {
				t.Errorf("a refused upload changed the code directory from %v to %v", before, after)
			}

			if err := os.Truncate(filler, 0); err != nil {
				t.Fatal(err)
			}
			c, err := e.svc.UpdateCode(context.Background(), "fn", CodeInput{ZipFile: big})
			if err != nil {
				t.Fatalf("the same upload once there is space: %v", err)
			}
			for _, p := range []string{c.CodeHash + ".zip", filepath.Join(c.CodeHash, "blob")} {
				if _, err := os.Stat(filepath.Join(e.dir, ArtifactsDir, p)); err != nil {
					t.Errorf("after the upload that fitted: %v", err)
				}
			}
		})
	}
}
