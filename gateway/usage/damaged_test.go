package usage

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
	"go.etcd.io/bbolt"
)

// damageStore zeroes bytes inside each of names wherever dir's portico.db
// holds it (the bbolt file is closed): damage inside a value that the
// consistency check at open cannot see, as the store3 and durable10 testers
// made by hand.
func damageStore(t *testing.T, dir string, names ...string) {
	t.Helper()
	path := filepath.Join(dir, store.FileName)
	raw, err := os.ReadFile(path) //nolint:gosec // G304: the test's own file
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		n := 0
		for i := bytes.Index(raw, []byte(name)); i >= 0; i = bytes.Index(raw, []byte(name)) {
			copy(raw[i+2:i+len(name)], make([]byte, len(name)-2))
			n++
		}
		if n == 0 {
			t.Fatalf("%s is not in the file", name)
		}
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedKeyOrPlanDoesNotStopTheServer is the durable10 tester's: one
// usage_keys or usage_plans record that did not decode failed the index load,
// and with it the server's start, with no way out but a restore. Now the
// service starts with the record left out and an ERROR naming it and its
// DELETE; a request with the damaged key, or with a key of the damaged plan,
// is refused as a key the gateway cannot admit (never let through unmetered);
// other keys are admitted and counted; reads that meet the record fail naming
// it; and the DELETEs remove the records without reading them.
func TestDamagedKeyOrPlanDoesNotStopTheServer(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	clk := &fakeClock{t: day0}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewService(st, Options{Stages: fakeStages{}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(clk.now)
	const badKeyName, badPlanName = "damaged-key-name-xxxxxxxx", "damaged-plan-name-xxxxxxx"
	values := map[string]string{"bad": strings.Repeat("b", 24), "good": strings.Repeat("g", 24), "inBadPlan": strings.Repeat("p", 24)}
	keys := map[string]*APIKey{}
	for name, v := range values {
		kn := name
		if name == "bad" {
			kn = badKeyName
		}
		if keys[name], err = s.CreateKey(ctx, KeyInput{Name: kn, Value: &v, Enabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
	}
	quota := &Quota{Limit: 100, Period: PeriodDay}
	sound, err := s.CreatePlan(ctx, Plan{Name: "sound", APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}, Quota: quota})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := s.CreatePlan(ctx, Plan{Name: badPlanName, APIStages: []APIStage{{APIID: "api1", Stage: "prod"}}, Quota: quota})
	if err != nil {
		t.Fatal(err)
	}
	for _, pk := range []struct{ plan, key string }{{sound.ID, "good"}, {sound.ID, "bad"}, {bad.ID, "inBadPlan"}} {
		if _, err := s.AddPlanKey(ctx, pk.plan, keys[pk.key].ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	damageStore(t, dir, badKeyName, badPlanName)

	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var logs bytes.Buffer
	s, err = NewService(st, Options{Stages: fakeStages{}, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("the service over a store with one damaged key and one damaged plan: %v", err)
	}
	s.SetClock(clk.now)
	keyRec, planRec := "usage_keys/"+keys["bad"].ID, "usage_plans/"+bad.ID
	for _, want := range []string{keyRec, "DELETE /apikeys/" + keys["bad"].ID, planRec, "DELETE /usageplans/" + bad.ID} {
		if !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("the log does not say %q at error level:\n%s", want, logs.String())
		}
	}

	admit := func(key, stage string) error {
		return s.admit(&pipeline.Context{}, values[key], "api1", stage, "GET /pets")
	}
	for _, tc := range []struct{ key, stage string }{{"bad", "dev"}, {"inBadPlan", "prod"}} {
		var pe *pipeline.Error
		if err := admit(tc.key, tc.stage); !errors.As(err, &pe) || pe.Type != pipeline.InvalidAPIKey {
			t.Errorf("a request with key %s on %s: %v, want it refused as an invalid key (403)", tc.key, tc.stage, err)
		}
	}
	for range 3 {
		if err := admit("good", "dev"); err != nil {
			t.Fatalf("a request with a sound key: %v", err)
		}
	}
	if left, err := s.Counts().Remaining(sound.ID, keys["good"].ID, quota, clk.now()); err != nil || left != quota.Limit-3 {
		t.Errorf("the sound key's quota: %d left (%v), want %d", left, err, quota.Limit-3)
	}

	_, err = s.GetKey(ctx, keys["bad"].ID)
	var rec *store.RecordError
	if !errors.As(err, &rec) || rec.Bucket+"/"+rec.Key != keyRec {
		t.Errorf("get of the damaged key: %v, want the record error naming %s", err, keyRec)
	}
	if _, err := s.ListPlans(ctx, ""); !errors.As(err, &rec) || rec.Bucket+"/"+rec.Key != planRec {
		t.Errorf("list of plans: %v, want the record error naming %s", err, planRec)
	}

	if err := s.DeleteKey(ctx, keys["bad"].ID); err != nil {
		t.Fatalf("delete of the damaged key: %v", err)
	}
	if err := s.DeletePlan(ctx, bad.ID); err != nil {
		t.Fatalf("delete of the damaged plan: %v", err)
	}
	if _, err := s.GetKey(ctx, keys["bad"].ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("get of the deleted key: %v, want not found", err)
	}
	if _, err := s.ListKeys(ctx, "", ""); err != nil {
		t.Errorf("list of keys after the delete: %v", err)
	}
	plans, err := s.ListPlans(ctx, "")
	if err != nil || len(plans) != 1 || plans[0].ID != sound.ID || len(plans[0].KeyIDs) != 1 {
		t.Errorf("plans after the deletes: %+v (%v), want the sound plan with the sound key alone", plans, err)
	}
	// The deleted key's value is free again: its value entry went with it.
	v := values["bad"]
	if _, err := s.CreateKey(ctx, KeyInput{Name: "again", Value: &v}); err != nil {
		t.Errorf("a new key with the deleted damaged key's value: %v", err)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 2 {
		t.Errorf("%d error lines, want one per damaged record, at the rebuild that first found it:\n%s", n, logs.String())
	}
}

// TestDamagedDayDoesNotStopTheCounts is the faults18 tester's: a usage_days
// record that did not decode failed every flush, so that no count (of any
// plan) was written again and the log got "usage counts not written;
// retrying in a second" every second, forever, naming nothing that clears
// it. The damaged day is now left as it is and logged once with the DELETE
// that clears it; the quota's count is still written.
func TestDamagedDayDoesNotStopTheCounts(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	q := &Quota{Limit: 100, Period: PeriodDay}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cs := NewCounts(st, nil)
	for range 2 {
		if _, err := cs.Counter("p", "k").Take(day0, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	db, err := bbolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucketDays)).Put([]byte("p/k/"+dayOf(day0)), []byte(`{"garbage`))
	}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	var logged bytes.Buffer
	cs = NewCounts(st, slog.New(slog.NewTextHandler(&logged, nil)))
	for range 2 {
		if _, err := cs.Counter("p", "k").Take(day0, q); err != nil {
			t.Fatal(err)
		}
		if err := cs.Flush(ctx); err != nil {
			t.Fatalf("flush with a damaged day: %v", err)
		}
	}
	var rec countRecord
	if err := st.View(ctx, func(tx *store.Tx) error { return tx.Get(bucketCounts, "p/k", &rec) }); err != nil {
		t.Fatal(err)
	}
	if rec.Used != 4 {
		t.Errorf("stored count %d after 4 requests, want 4", rec.Used)
	}
	if n := strings.Count(logged.String(), "level=ERROR"); n != 1 || !strings.Contains(logged.String(), "DELETE /usageplans/p ") {
		t.Errorf("%d errors logged, want one naming DELETE /usageplans/p:\n%s", n, logged.String())
	}
}
