package edge

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

// TestDamagedDomainOrMappingDoesNotStopTheStart is the faults18 tester's: one
// domain name or API mapping record that did not decode (damage inside a
// sound page) failed the routing table's build, and with it the server's
// start, so the admin API whose DELETE would remove the record never came up.
// Now the table is built without the record, with an ERROR naming it and its
// DELETE; the other domains and mappings are served; and the DELETEs remove
// the damaged records without reading them.
func TestDamagedDomainOrMappingDoesNotStopTheStart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx *store.Tx) error {
		for _, name := range []string{"good.example.com", "bad.example.com"} {
			if err := tx.Put(bucketDomains, name, &Domain{Name: name}); err != nil {
				return err
			}
		}
		for _, k := range []string{"v1", "v2"} {
			if err := tx.Put(bucketMappings, mappingKey("good.example.com", k), &Mapping{ID: "m" + k, Domain: "good.example.com", Key: k, APIID: "abc123", Stage: "s"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// The damage: a value that does not decode, in an otherwise sound file.
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte(bucketDomains)).Put([]byte("bad.example.com"), []byte(`{"garbage`)); err != nil {
			return err
		}
		return tx.Bucket([]byte(bucketMappings)).Put([]byte("good.example.com/v2"), []byte(`{"garbage`))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var logs bytes.Buffer
	e, err := New(ctx, Config{DataDir: dir}, st, nil, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("start with a damaged domain and mapping: %v", err)
	}
	for _, want := range []string{
		"record=domainnames/bad.example.com", "DELETE /domainnames/bad.example.com",
		"record=apimappings/good.example.com/v2", "DELETE /domainnames/good.example.com/basepathmappings/v2",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	tbl := e.table.Load()
	if tbl.lookup("bad.example.com") != nil {
		t.Error("the damaged domain is in the routing table")
	}
	good := tbl.lookup("good.example.com")
	if good == nil || len(good.mappings) != 1 || good.mappings[0].Key != "v1" {
		t.Fatalf("good.example.com: %+v, want its sound mapping v1 alone", good)
	}
	if _, err := e.ListMappings(ctx, "good.example.com"); err == nil || !strings.Contains(err.Error(), "apimappings/good.example.com/v2") {
		t.Fatalf("listing the mappings that meet the damaged one: %v, want the error naming it", err)
	}
	if err := e.DeleteDomain(ctx, "bad.example.com"); err != nil {
		t.Fatalf("delete the damaged domain: %v", err)
	}
	if err := e.DeleteMapping(ctx, "good.example.com", "v2", true); err != nil {
		t.Fatalf("delete the damaged mapping: %v", err)
	}
	ms, err := e.ListMappings(ctx, "good.example.com")
	if err != nil || len(ms) != 1 || ms[0].Key != "v1" {
		t.Fatalf("after the deletes: %+v, %v, want v1 alone", ms, err)
	}
	if err := st.View(ctx, func(tx *store.Tx) error {
		if tx.Has(bucketDomains, "bad.example.com") {
			t.Error("the damaged domain record is still stored")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
