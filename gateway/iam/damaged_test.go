package iam

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/portico-dev/portico/store"
)

// TestDamagedUserOrKeyDoesNotStopTheStart is the faults18 tester's: one IAM
// user or access key record that did not decode failed the index load ("iam:
// load:"), and with it the server's start. Now the record is left out with an
// ERROR naming it and what deletes it; leaving it out denies, never opens
// (a request signed with a key of a damaged user, or with a damaged key, finds
// no principal); and the deletes remove the records without reading them,
// a damaged user only once no access key names it.
func TestDamagedUserOrKeyDoesNotStopTheStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, st := open(t, dir)
	keys := map[string]string{}
	for _, u := range []string{"bob", "carol", "dave"} {
		if _, err := s.CreateUser(ctx, u, "/"); err != nil {
			t.Fatal(err)
		}
		if u == "dave" {
			continue
		}
		k, _, err := s.CreateAccessKey(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		keys[u] = k.AccessKeyID
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, "data", store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, rec := range [][2]string{{usersBucket, "carol"}, {usersBucket, "dave"}, {keysBucket, keys["bob"]}} {
			if err := tx.Bucket([]byte(rec[0])).Put([]byte(rec[1]), []byte(`{"garbage`)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sealer, err := OpenSealer(DefaultKeyFile(st.Dir()))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err = New(ctx, st, sealer, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("start with damaged IAM records: %v", err)
	}
	for _, want := range []string{"record=iam.users/carol", "record=iam.users/dave", "record=iam.keys/" + keys["bob"], "aws iam delete-user --user-name dave"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if _, ok := s.Lookup(keys["bob"]); ok {
		t.Error("the damaged key signs")
	}
	if _, ok := s.Lookup(keys["carol"]); ok {
		t.Error("a key of the damaged user signs")
	}
	if err := s.DeleteAccessKey(ctx, "bob", keys["bob"]); err != nil {
		t.Fatalf("delete the damaged key: %v", err)
	}
	if err := s.DeleteUser(ctx, "dave"); err != nil {
		t.Fatalf("delete the damaged user dave: %v", err)
	}
	if err := s.DeleteUser(ctx, "carol"); kind(err) != "DeleteConflict" {
		t.Fatalf("delete the damaged user carol, who has a key: %v, want DeleteConflict", err)
	}
	if err := s.DeleteAccessKey(ctx, "carol", keys["carol"]); err != nil {
		t.Fatalf("delete the (sound) key of the damaged user: %v", err)
	}
	if err := s.DeleteUser(ctx, "carol"); err != nil {
		t.Fatalf("delete the damaged user carol once keyless: %v", err)
	}
	if users, err := s.ListUsers(ctx, ""); err != nil || len(users) != 1 || users[0].UserName != "bob" {
		t.Fatalf("users after the deletes: %+v, %v, want bob alone", users, err)
	}
}
