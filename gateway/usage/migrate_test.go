package usage

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/portico-dev/portico/store"
	"github.com/portico-dev/portico/store/storetest"
)

// TestMigrateZeroBurstReports: the migration to schema 3 keeps a schema 2
// plan's numbers (API Gateway reads the burst back as 0) and reports each
// throttle whose burst of 0 beside a rate is now read as not set; 0/0 and
// whole throttles are not reported.
func TestMigrateZeroBurstReports(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	db, err := bbolt.Open(filepath.Join(dir, "portico.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("2")); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists([]byte(bucketPlans))
		if err != nil {
			return err
		}
		return b.Put([]byte("p1"), []byte(`{"id":"p1","name":"plan1","apiStages":[{"apiId":"a1","stage":"dev",
"throttle":{"/pets/GET":{"burstLimit":0,"rateLimit":5},"/pets/POST":{"burstLimit":0,"rateLimit":0}}}],
"throttle":{"burstLimit":0,"rateLimit":50},"createdAt":"2026-11-01T00:00:00Z","updatedAt":"2026-11-01T00:00:00Z"}`))
	}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	st, err = store.Open(dir, append(Migrations(), storetest.MigrationsFrom(3)...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	var got []string
	for _, m := range st.Migrated() {
		for _, c := range m.Changes {
			if !strings.Contains(c.How, "read as not set") {
				t.Errorf("%s: %s", c.Record, c.How)
			}
			got = append(got, c.Record)
		}
	}
	want := []string{"usage plan p1 (plan1) throttle", "usage plan p1 (plan1) stage a1:dev method /pets/GET"}
	if !slices.Equal(got, want) {
		t.Fatalf("reported %q, want %q", got, want)
	}
}

// TestMigrateZeroBurstSkipsADamagedPlan: a schema 2 store with one sound plan
// and one whose record does not decode (a NUL inside a JSON string, as bit rot
// leaves it) upgrades: the migration reports the sound plan's throttle as
// before and the damaged record by its id (the store logs each reported record
// at WARN), instead of failing the whole upgrade and with it the server's
// start. The service then starts, leaving the damaged plan out as it does at
// any load.
func TestMigrateZeroBurstSkipsADamagedPlan(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	db, err := bbolt.Open(filepath.Join(dir, "portico.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("2")); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists([]byte(bucketPlans))
		if err != nil {
			return err
		}
		if err := b.Put([]byte("good"), []byte(`{"id":"good","name":"sound","throttle":{"burstLimit":0,"rateLimit":50},`+
			`"createdAt":"2026-11-01T00:00:00Z","updatedAt":"2026-11-01T00:00:00Z"}`)); err != nil {
			return err
		}
		return b.Put([]byte("bad"), []byte("{\"id\":\"bad\",\"name\":\"da\x00\x00ged\",\"throttle\":{\"burstLimit\":0,\"rateLimit\":5}}"))
	}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	st, err = store.Open(dir, append(Migrations(), storetest.MigrationsFrom(3)...)...)
	if err != nil {
		t.Fatalf("upgrade with a damaged plan record: %v", err)
	}
	defer func() { _ = st.Close() }()
	var got []string
	for _, m := range st.Migrated() {
		for _, c := range m.Changes {
			got = append(got, c.Record+": "+c.How)
		}
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "usage plan bad: its record does not decode") ||
		!strings.Contains(got[0], "DELETE /usageplans/bad") || !strings.HasPrefix(got[1], "usage plan good (sound) throttle: ") {
		t.Fatalf("reported %q, want the damaged plan by id (and its DELETE), then the sound plan's throttle", got)
	}
	s, err := NewService(st, Options{Stages: fakeStages{}})
	if err != nil {
		t.Fatalf("the service on the upgraded store: %v", err)
	}
	if p, err := s.GetPlan(t.Context(), "good"); err != nil || p.Name != "sound" {
		t.Fatalf("GetPlan(good): %v %v", p, err)
	}
}
