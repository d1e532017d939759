package ctrbase

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInstanceForResolvesLinks checks that a data directory reached through a
// symbolic link is the same instance as by its own path, so that a server
// started either way cleans up what the other left (r-rt27 #2), and that the
// instance an earlier Portico gave the link's spelling is named as the former
// one, for Cleanup.
func TestInstanceForResolvesLinks(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir) // base itself may be under a link
	if err != nil {
		t.Fatal(err)
	}
	if got, want := InstanceFor(link), InstanceFor(dir); got != want {
		t.Errorf("InstanceFor(link) = %s, InstanceFor(dir) = %s: want the same", got, want)
	}
	if got, want := InstanceFor(link), digest(real); got != want {
		t.Errorf("InstanceFor(link) = %s, want the digest of the resolved path %s", got, want)
	}
	if got, want := FormerInstanceFor(link), digest(link); got != want {
		t.Errorf("FormerInstanceFor(link) = %q, want %q (the path as spelt)", got, want)
	}
	if got := FormerInstanceFor(real); got != "" {
		t.Errorf("FormerInstanceFor of a resolved path = %q, want none", got)
	}
	// A path that does not exist (a test's instance name) is digested as given.
	if got, want := InstanceFor("/no/such/dir"), digest("/no/such/dir"); got != want {
		t.Errorf("InstanceFor of a missing path = %s, want %s", got, want)
	}
}
