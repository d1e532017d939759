package apis

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/portico-dev/portico/store"
	"github.com/portico-dev/portico/store/storetest"
)

// v1Stage is a stage record as schema version 1 wrote it: every method
// setting holds both throttle numbers, 0/0 (or -1) for "not set".
const v1Stage = `{"apiId":"abcdefghij","name":"dev","deploymentId":"d1","history":[],
"createdAt":"2026-11-01T00:00:00Z","updatedAt":"2026-11-01T00:00:00Z",
"methodSettings":{
 "*/*":{"metricsEnabled":true,"dataTraceEnabled":false,"throttlingBurstLimit":0,"throttlingRateLimit":0,"cachingEnabled":false,"cacheTtlInSeconds":300,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":false},
 "/pets/GET":{"metricsEnabled":false,"dataTraceEnabled":false,"throttlingBurstLimit":-1,"throttlingRateLimit":-1,"cachingEnabled":true,"cacheTtlInSeconds":60,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":true},
 "/pets/POST":{"metricsEnabled":false,"dataTraceEnabled":false,"throttlingBurstLimit":5,"throttlingRateLimit":2,"cachingEnabled":false,"cacheTtlInSeconds":300,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":true},
 "/pets/PUT":{"metricsEnabled":false,"dataTraceEnabled":false,"throttlingBurstLimit":3,"throttlingRateLimit":0,"cachingEnabled":false,"cacheTtlInSeconds":300,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":true},
 "/pets/DELETE":{"metricsEnabled":false,"dataTraceEnabled":false,"throttlingBurstLimit":4,"throttlingRateLimit":-1,"cachingEnabled":false,"cacheTtlInSeconds":300,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":true}}}`

// writeV1Store makes a schema version 1 store in dir holding v1Stage.
func writeV1Store(t *testing.T, dir string) {
	t.Helper()
	writeStore(t, dir, "1", v1Stage)
}

// writeStore makes a store of schema version schema in dir holding stage as
// the record of abcdefghij/dev.
func writeStore(t *testing.T, dir, schema, stage string) {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	db, err := bbolt.Open(filepath.Join(dir, "portico.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte(schema)); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists([]byte(bucketStages))
		if err != nil {
			return err
		}
		return b.Put([]byte("abcdefghij/dev"), []byte(stage))
	}); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateThrottleUnset: a version 1 record's 0/0 and -1 throttles, which
// meant "not set", are not set after the migration (not a throttle of 0
// requests); the throttles version 1 enforced are kept; the result survives
// a reopen.
func TestMigrateThrottleUnset(t *testing.T) {
	dir := t.TempDir()
	writeV1Store(t, dir)
	st, err := store.Open(dir, append(Migrations(), storetest.MigrationsFrom(3)...)...)
	if err != nil {
		t.Fatal(err)
	}
	check := func(st *store.Store) {
		t.Helper()
		var got Stage
		if err := st.View(context.Background(), func(tx *store.Tx) error { return tx.Get(bucketStages, "abcdefghij/dev", &got) }); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string][2]float64{
			"*/*":          {-1, -1}, // 0/0: not set
			"/pets/GET":    {-1, -1}, // -1/-1: not set
			"/pets/POST":   {5, 2},
			"/pets/PUT":    {3, 0}, // enforced by version 1 (3 requests, no refill): kept
			"/pets/DELETE": {4, -1},
		} {
			ms := got.MethodSettings[key]
			if b, r := float64(burstOf(ms)), rateOf(ms); b != want[0] || r != want[1] {
				t.Errorf("%s: burst %v rate %v, want %v", key, b, r, want)
			}
		}
		if all := got.MethodSettings["*/*"]; !all.MetricsEnabled || all.CacheTTLInSeconds != 300 {
			t.Errorf("the other settings changed: %+v", all)
		}
		if g := got.MethodSettings["/pets/GET"]; !g.CachingEnabled || g.CacheTTLInSeconds != 60 {
			t.Errorf("the other settings changed: %+v", g)
		}
	}
	check(st)
	// The record as stored leaves the unset throttle out.
	var raw struct {
		MethodSettings map[string]map[string]any `json:"methodSettings"`
	}
	if err := st.View(context.Background(), func(tx *store.Tx) error {
		return tx.ForEach(bucketStages, "", func(_ string, b []byte) error { return json.Unmarshal(b, &raw) })
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.MethodSettings["*/*"]["throttlingBurstLimit"]; ok {
		t.Errorf("*/* still stores a throttle: %v", raw.MethodSettings["*/*"])
	}
	_ = st.Close()
	st, err = store.Open(dir, append(Migrations(), storetest.MigrationsFrom(3)...)...)
	if err != nil {
		t.Fatal(err)
	}
	check(st)
	// 0/0 written by this build stays 0/0 (a throttle) across a reopen.
	if err := st.Update(context.Background(), func(tx *store.Tx) error {
		var cur Stage
		if err := tx.Get(bucketStages, "abcdefghij/dev", &cur); err != nil {
			return err
		}
		if err := applyMethodSetting(cur.MethodSettings, MethodSettingPatch{Key: "*/*", ThrottlingRateLimit: ptr(0.0), ThrottlingBurstLimit: ptr(0)}, false); err != nil {
			return err
		}
		return tx.Put(bucketStages, "abcdefghij/dev", &cur)
	}); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	st, err = store.Open(dir, append(Migrations(), storetest.MigrationsFrom(3)...)...)
	if err != nil {
		t.Fatal(err)
	}
	var got Stage
	if err := st.View(context.Background(), func(tx *store.Tx) error { return tx.Get(bucketStages, "abcdefghij/dev", &got) }); err != nil {
		t.Fatal(err)
	}
	if ms := got.MethodSettings["*/*"]; ms.ThrottlingRateLimit == nil || *ms.ThrottlingRateLimit != 0 || ms.ThrottlingBurstLimit == nil || *ms.ThrottlingBurstLimit != 0 {
		t.Fatalf("*/* after 0/0 and a reopen: %+v, want 0/0 set", ms)
	}
	_ = st.Close()
}

// TestThrottlePatchZeroAndUnset: a patch of 0 sets 0; -1 takes the value off.
func TestThrottlePatchZeroAndUnset(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, helloAPI())
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.UpdateStage(ctx, a.ID, "dev", StagePatch{MethodSettings: []MethodSettingPatch{
		{Key: "~1hello/GET", ThrottlingRateLimit: ptr(0.0), ThrottlingBurstLimit: ptr(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if ms := st.MethodSettings["~1hello/GET"]; rateOf(ms) != 0 || burstOf(ms) != 0 || ms.ThrottlingRateLimit == nil || ms.ThrottlingBurstLimit == nil {
		t.Fatalf("after 0/0: %+v", ms)
	}
	st, err = s.UpdateStage(ctx, a.ID, "dev", StagePatch{MethodSettings: []MethodSettingPatch{
		{Key: "~1hello/GET", ThrottlingRateLimit: ptr(-1.0), ThrottlingBurstLimit: ptr(-1)}}})
	if err != nil {
		t.Fatal(err)
	}
	if ms := st.MethodSettings["~1hello/GET"]; ms.ThrottlingRateLimit != nil || ms.ThrottlingBurstLimit != nil {
		t.Fatalf("after -1/-1: %+v, want not set", ms)
	}
}

// v2Stage is a stage record as schema version 2 wrote it (b4f2244, or main
// before schema 3): a burst of 0 beside a rate, which b4f2244 served with a
// burst of the rate and main then read as "admit nothing".
const v2Stage = `{"apiId":"abcdefghij","name":"dev","deploymentId":"d1","history":[],
"createdAt":"2026-11-01T00:00:00Z","updatedAt":"2026-11-01T00:00:00Z",
"methodSettings":{
 "*/*":{"metricsEnabled":false,"dataTraceEnabled":false,"throttlingBurstLimit":0,"throttlingRateLimit":0,"cachingEnabled":false,"cacheTtlInSeconds":300,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":true},
 "~1mock/GET":{"metricsEnabled":false,"dataTraceEnabled":false,"throttlingBurstLimit":0,"throttlingRateLimit":100,"cachingEnabled":false,"cacheTtlInSeconds":300,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":true},
 "~1only/GET":{"metricsEnabled":false,"dataTraceEnabled":false,"throttlingRateLimit":100,"cachingEnabled":false,"cacheTtlInSeconds":300,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":true},
 "~1rate0/GET":{"metricsEnabled":false,"dataTraceEnabled":false,"throttlingBurstLimit":3,"throttlingRateLimit":0,"cachingEnabled":false,"cacheTtlInSeconds":300,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":true},
 "GET /a":{"metricsEnabled":false,"dataTraceEnabled":false,"throttlingBurstLimit":0,"throttlingRateLimit":50,"cachingEnabled":false,"cacheTtlInSeconds":0,"cacheDataEncrypted":false,"requireAuthorizationForCacheControl":false}}}`

// TestMigrateZeroBurst: a schema 2 record's burst of 0 beside a rate above 0
// is left out (inherited) by the migration to 3, which reports each entry it
// changed; 0/0, rate 0 with a burst and a rate alone are kept.
func TestMigrateZeroBurst(t *testing.T) {
	dir := t.TempDir()
	writeStore(t, dir, "2", v2Stage)
	st, err := store.Open(dir, append(Migrations(), storetest.MigrationsFrom(3)...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	var got Stage
	if err := st.View(context.Background(), func(tx *store.Tx) error { return tx.Get(bucketStages, "abcdefghij/dev", &got) }); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][2]float64{
		"*/*":         {0, 0},
		"~1mock/GET":  {-1, 100},
		"~1only/GET":  {-1, 100},
		"~1rate0/GET": {3, 0},
		"GET /a":      {-1, 50},
	} {
		ms := got.MethodSettings[key]
		if b, r := float64(burstOf(ms)), rateOf(ms); b != want[0] || r != want[1] {
			t.Errorf("%s: burst %v rate %v, want %v", key, b, r, want)
		}
	}
	var changed []string
	for _, m := range st.Migrated() {
		for _, c := range m.Changes {
			changed = append(changed, c.Record)
		}
	}
	want := []string{`stage abcdefghij/dev method settings "GET /a"`, `stage abcdefghij/dev method settings "~1mock/GET"`}
	if !slices.Equal(changed, want) {
		t.Fatalf("reported %q, want %q", changed, want)
	}
}
