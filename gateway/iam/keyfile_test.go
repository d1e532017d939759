package iam

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/store"
)

// TestRestoreWithoutKeyFileMakesNoKey is what the store3 tester found: a
// data directory restored from a backup without its IAM key file failed to
// start ("cannot unseal the secret"), but had already written a fresh random
// key file in the key's place, so that a later `cp -n` of the real key was
// skipped; and the error named no path. A store that holds sealed secrets
// is refused before any key is made, naming the path; a wrong key file is
// named too.
func TestRestoreWithoutKeyFileMakesNoKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, st := open(t, dir)
	if _, err := s.CreateUser(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateAccessKey(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	keyFile := DefaultKeyFile(filepath.Join(dir, "data"))
	if err := os.Rename(keyFile, keyFile+".kept"); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := Params{Store: st, Log: slog.New(slog.DiscardHandler)}
	_, err = NewFromParams(p)
	if err == nil || !strings.Contains(err.Error(), keyFile) || !strings.Contains(err.Error(), "1 access key(s)") {
		t.Fatalf("start without the key file = %v; want it refused, naming %s", err, keyFile)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a key file was made in the real one's place: %v", err)
	}

	// Another key file: refused, naming it.
	other := filepath.Join(dir, "other.key")
	if _, err := OpenSealer(other); err != nil {
		t.Fatal(err)
	}
	p.Config.KeyFile = other
	if _, err := NewFromParams(p); err == nil || !strings.Contains(err.Error(), other) {
		t.Fatalf("start with another key file = %v; want an error naming %s", err, other)
	}

	// The real one put back (as cp -n would): the start succeeds.
	if err := os.Rename(keyFile+".kept", keyFile); err != nil {
		t.Fatal(err)
	}
	p.Config.KeyFile = ""
	s, err = NewFromParams(p)
	if err != nil {
		t.Fatalf("start with the key file back: %v", err)
	}
	if _, ok := s.Lookup(""); ok {
		t.Fatal("an empty access key id found a principal")
	}
}

// TestNewStoreMakesKeyFile: a store with no access keys gets a new key file.
func TestNewStoreMakesKeyFile(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := NewFromParams(Params{Store: st, Log: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(DefaultKeyFile(st.Dir())); err != nil || fi.Size() != keySize {
		t.Fatalf("key file: %v %v", fi, err)
	}
}
