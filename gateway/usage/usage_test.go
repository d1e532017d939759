package usage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// fakeStages knows the stages api1/dev and api1/prod of a REST API, both on
// deployment d1 with GET /pets, and stage ws1/s1 of a WebSocket API on
// deployment d2 with route $connect.
type fakeStages struct{}

func (fakeStages) GetStage(_ context.Context, apiID, name string) (*apis.Stage, error) {
	if apiID == "api1" && (name == "dev" || name == "prod") {
		return &apis.Stage{APIID: apiID, Name: name, DeploymentID: "d1"}, nil
	}
	if apiID == "ws1" && name == "s1" {
		return &apis.Stage{APIID: apiID, Name: name, DeploymentID: "d2"}, nil
	}
	return nil, errdefs.ErrNotFound
}

func (fakeStages) Get(_ context.Context, id string) (*apis.API, error) {
	switch id {
	case "api1":
		return &apis.API{ID: id, Protocol: apis.ProtocolREST}, nil
	case "ws1":
		return &apis.API{ID: id, Protocol: apis.ProtocolWebSocket}, nil
	}
	return nil, errdefs.ErrNotFound
}

func (fakeStages) GetDeployment(_ context.Context, apiID, depID string) (*apis.Deployment, error) {
	if apiID == "api1" && depID == "d1" {
		return &apis.Deployment{ID: depID, APIID: apiID, API: apis.API{ID: apiID, Protocol: apis.ProtocolREST,
			Definition: apis.Definition{Routes: []apis.Route{{Method: "GET", Path: "/pets"}}}}}, nil
	}
	if apiID == "ws1" && depID == "d2" {
		return &apis.Deployment{ID: depID, APIID: apiID, API: apis.API{ID: apiID, Protocol: apis.ProtocolWebSocket,
			Definition: apis.Definition{Routes: []apis.Route{{RouteKey: "$connect"}}}}}, nil
	}
	return nil, errdefs.ErrNotFound
}

// newDay0Service returns a service in a new directory on a fake clock at day0.
func newDay0Service(t *testing.T) (*Service, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: day0}
	return newService(t, t.TempDir(), clk), clk
}

func newService(t *testing.T, dir string, clk *fakeClock) *Service {
	t.Helper()
	s, err := NewService(gwtest.Store(t, dir), Options{Stages: fakeStages{}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(clk.now)
	return s
}

func ptr[T any](v T) *T { return &v }

func wantKind(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err %v, want %v", err, kind)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Fatalf("err %q does not say %q", err, msg)
	}
}

var day0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) // a Wednesday

func TestPeriodStart(t *testing.T) {
	for _, tc := range []struct {
		q    Quota
		now  time.Time
		want time.Time
	}{
		{Quota{Period: PeriodDay}, day0, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{Quota{Period: PeriodWeek}, day0, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)},            // Sunday
		{Quota{Period: PeriodWeek, Offset: 1}, day0, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}, // Monday
		{Quota{Period: PeriodWeek, Offset: 3}, day0, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}, // today
		{Quota{Period: PeriodWeek, Offset: 4}, day0, time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)}, // last Thursday
		{Quota{Period: PeriodMonth}, day0, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{Quota{Period: PeriodMonth, Offset: 27}, day0, time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)},
		{Quota{Period: PeriodMonth, Offset: 27}, time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 28, 0, 0, 0, 0, time.UTC)},
		{Quota{Period: PeriodDay}, time.Date(2026, 11, 25, 23, 30, 0, 0, time.FixedZone("x", -5*3600)), time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)},
	} {
		if got := tc.q.PeriodStart(tc.now); !got.Equal(tc.want) {
			t.Errorf("%+v at %v: %v, want %v", tc.q, tc.now, got, tc.want)
		}
	}
}

func TestKeys(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	gen, err := s.CreateKey(ctx, KeyInput{Name: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.Value) != GeneratedKeyValue || gen.Enabled {
		t.Fatalf("generated key %d chars, enabled %v: want 40 and disabled", len(gen.Value), gen.Enabled)
	}
	given := strings.Repeat("k", 20)
	if _, err := s.CreateKey(ctx, KeyInput{Name: "given", Value: &given, Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateKey(ctx, KeyInput{Name: "dup", Value: &given})
	wantKind(t, err, errdefs.ErrConflict, "already exists")
	_, err = s.CreateKey(ctx, KeyInput{Name: "short", Value: ptr("tooshort")})
	wantKind(t, err, errdefs.ErrInvalid, "at least 20")
	keys, _ := s.ListKeys(ctx, "", "")
	if len(keys) != 2 {
		t.Fatalf("%d keys, want 2 (nothing half-applied)", len(keys))
	}
	if keys, _ := s.ListKeys(ctx, "gi", ""); len(keys) != 1 || keys[0].Name != "given" {
		t.Fatalf("name query: %+v", keys)
	}
	up, err := s.UpdateKey(ctx, gen.ID, KeyPatch{Name: ptr("renamed"), Enabled: ptr(true)})
	if err != nil || up.Name != "renamed" || !up.Enabled {
		t.Fatalf("update: %+v %v", up, err)
	}
	_, err = s.UpdateKey(ctx, "nope", KeyPatch{})
	wantKind(t, err, errdefs.ErrNotFound, "Invalid API Key identifier")
	if err := s.DeleteKey(ctx, gen.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetKey(ctx, gen.ID)
	wantKind(t, err, errdefs.ErrNotFound, "")
	// The deleted key's value is free again.
	if _, err := s.CreateKey(ctx, KeyInput{Value: &gen.Value}); err != nil {
		t.Fatalf("reuse of a deleted key's value: %v", err)
	}
}

func TestPlans(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	k, _ := s.CreateKey(ctx, KeyInput{Name: "k", Enabled: ptr(true)})
	for _, tc := range []struct {
		name string
		p    Plan
		kind error
		msg  string
	}{
		{"no name", Plan{}, errdefs.ErrInvalid, "name"},
		{"bad period", Plan{Name: "p", Quota: &Quota{Limit: 5, Period: "YEAR"}}, errdefs.ErrInvalid, "DAY, WEEK or MONTH"},
		{"zero limit", Plan{Name: "p", Quota: &Quota{Limit: 0, Period: PeriodDay}}, errdefs.ErrInvalid, "limit"},
		{"bad offset", Plan{Name: "p", Quota: &Quota{Limit: 5, Period: PeriodWeek, Offset: 7}}, errdefs.ErrInvalid, "offset"},
		{"negative throttle", Plan{Name: "p", Throttle: &Throttle{RateLimit: -1}}, errdefs.ErrInvalid, "throttle"},
		{"unknown stage", Plan{Name: "p", APIStages: []APIStage{{APIID: "api1", Stage: "nope"}}}, errdefs.ErrNotFound, "stage"},
		{"bad method key", Plan{Name: "p", APIStages: []APIStage{{APIID: "api1", Stage: "dev", Throttle: map[string]Throttle{"pets": {}}}}}, errdefs.ErrInvalid, "pets"},
		// Per-method throttles that would never be enforced, refused as API
		// Gateway refuses them.
		{"method throttle without plan throttle", Plan{Name: "p", APIStages: []APIStage{{APIID: "api1", Stage: "dev", Throttle: map[string]Throttle{"/pets/GET": {RateLimit: 1, BurstLimit: 1}}}}},
			errdefs.ErrInvalid, "Can not define fine grain throttling if usage plan throttle is not defined."},
		{"method the stage lacks", Plan{Name: "p", Throttle: &Throttle{RateLimit: 1, BurstLimit: 1}, APIStages: []APIStage{{APIID: "api1", Stage: "dev", Throttle: map[string]Throttle{"/nope/GET": {RateLimit: 1, BurstLimit: 1}}}}},
			errdefs.ErrNotFound, "Invalid method /nope/GET in API stage api1:dev"},
	} {
		_, err := s.CreatePlan(ctx, tc.p)
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if plans, _ := s.ListPlans(ctx, ""); len(plans) != 0 {
		t.Fatalf("%d plans stored by failed creates", len(plans))
	}
	p1, err := s.CreatePlan(ctx, Plan{Name: "p1", APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := s.CreatePlan(ctx, Plan{Name: "p2", APIStages: []APIStage{{APIID: "api1", Stage: "dev"}, {APIID: "api1", Stage: "prod"}}})
	p3, _ := s.CreatePlan(ctx, Plan{Name: "p3", APIStages: []APIStage{{APIID: "api1", Stage: "prod"}}})
	if _, err := s.AddPlanKey(ctx, p1.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.AddPlanKey(ctx, p2.ID, k.ID)
	wantKind(t, err, errdefs.ErrConflict, "already in usage plan")
	_, err = s.AddPlanKey(ctx, p1.ID, k.ID)
	wantKind(t, err, errdefs.ErrConflict, "already has")
	_, err = s.AddPlanKey(ctx, p1.ID, "nokey")
	wantKind(t, err, errdefs.ErrNotFound, "")
	if _, err := s.AddPlanKey(ctx, p3.ID, k.ID); err != nil {
		t.Fatalf("another stage's plan: %v", err)
	}
	// Giving p3 the stage of p1 would put the key in two plans on api1/dev.
	_, err = s.UpdatePlan(ctx, p3.ID, func(p *Plan) error {
		p.APIStages = append(p.APIStages, APIStage{APIID: "api1", Stage: "dev"})
		return nil
	})
	wantKind(t, err, errdefs.ErrConflict, "")
	if got, _ := s.GetPlan(ctx, p3.ID); len(got.APIStages) != 1 {
		t.Fatalf("refused update left %d stages", len(got.APIStages))
	}
	if st := s.KeyStages(k.ID); strings.Join(st, ",") != "api1/dev,api1/prod" {
		t.Fatalf("key stages %v", st)
	}
	if plans, _ := s.ListPlans(ctx, k.ID); len(plans) != 2 {
		t.Fatalf("plans of key: %d", len(plans))
	}
	if err := s.RemovePlanKey(ctx, p1.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.RemovePlanKey(ctx, p1.ID, k.ID), errdefs.ErrNotFound, "")
	if err := s.DeleteKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetPlan(ctx, p3.ID); len(got.KeyIDs) != 0 {
		t.Fatalf("deleted key still in plan: %v", got.KeyIDs)
	}
	wantKind(t, s.DeletePlan(ctx, "nope"), errdefs.ErrNotFound, "Usage Plan")
}

func TestImportKeys(t *testing.T) {
	s := newService(t, t.TempDir(), &fakeClock{t: day0})
	ctx := context.Background()
	p, _ := s.CreatePlan(ctx, Plan{Name: "p", APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	csv := "Name,Key,Description,Enabled,UsagePlanIds\n" +
		"one,aaaaaaaaaaaaaaaaaaaaaaaa,first,TRUE," + p.ID + "\n" +
		"two,bbbbbbbbbbbbbbbbbbbbbbbb,,false,\n"
	keys, err := s.ImportKeys(ctx, []byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !keys[0].Enabled || keys[1].Enabled {
		t.Fatalf("imported %+v", keys)
	}
	if got, _ := s.PlanKeys(ctx, p.ID); len(got) != 1 || got[0].Name != "one" {
		t.Fatalf("plan keys %+v", got)
	}
	for name, bad := range map[string]string{
		"no header":      "",
		"no key column":  "Name,Enabled\nx,true\n",
		"short value":    "Key\nshort\n",
		"bad enabled":    "Key,Enabled\ncccccccccccccccccccccccc,maybe\n",
		"duplicate":      "Key\ndddddddddddddddddddddddd\naaaaaaaaaaaaaaaaaaaaaaaa\n",
		"unknown plan":   "Key,UsagePlanIds\neeeeeeeeeeeeeeeeeeeeeeee,nope\n",
		"unknown column": "Key,Colour\neeeeeeeeeeeeeeeeeeeeeeee,red\n",
	} {
		if _, err := s.ImportKeys(ctx, []byte(bad)); err == nil {
			t.Errorf("%s: imported", name)
		}
	}
	if all, _ := s.ListKeys(ctx, "", ""); len(all) != 2 {
		t.Fatalf("%d keys after refused imports, want 2 (nothing half-applied)", len(all))
	}
}

// TestImportKeysRefusesCellsBeyondTheHeader: a row with more cells than the
// header has columns was imported, its extra cells dropped without a word;
// an unquoted comma in a description ("First, customer") saved "First". It is
// refused now, naming the line, and nothing is imported; a row with fewer
// cells (its last columns empty) is still taken.
func TestImportKeysRefusesCellsBeyondTheHeader(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	_, err := s.ImportKeys(ctx, []byte("Name,Key,Description\nok,ffffffffffffffffffffffff,fine\na,gggggggggggggggggggggggg,First, customer\n"))
	wantKind(t, err, errdefs.ErrInvalid, "line 3")
	if err != nil && !strings.Contains(err.Error(), "double quotes") {
		t.Errorf("error %q does not say how to write a comma in a value", err)
	}
	if all, _ := s.ListKeys(ctx, "", ""); len(all) != 0 {
		t.Fatalf("%d keys after a refused import, want none", len(all))
	}
	keys, err := s.ImportKeys(ctx, []byte("Name,Key,Description\na,hhhhhhhhhhhhhhhhhhhhhhhh,\"First, customer\"\nb,iiiiiiiiiiiiiiiiiiiiiiii\n"))
	if err != nil || len(keys) != 2 || keys[0].Description != "First, customer" {
		t.Fatalf("import of a quoted comma and a short row: %+v %v", keys, err)
	}
}

func TestQuotaAdmitsExactlyNConcurrently(t *testing.T) {
	cs := NewCounts(gwtest.Store(t, t.TempDir()), nil)
	q := &Quota{Limit: 50, Period: PeriodDay}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := cs.Counter("p", "k").Take(day0, q)
			if err != nil {
				t.Error(err)
			}
			if ok {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n != 50 {
		t.Fatalf("admitted %d, want 50", n)
	}
}

func TestCountsSurviveRestartAndRollOver(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	q := &Quota{Limit: 3, Period: PeriodDay}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cs := NewCounts(st, nil)
	for range 2 {
		if ok, _ := cs.Counter("p", "k").Take(day0, q); !ok {
			t.Fatal("refused under quota")
		}
	}
	if err := cs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	// A new process: one left today.
	cs = NewCounts(gwtest.Store(t, dir), nil)
	c := cs.Counter("p", "k")
	if ok, _ := c.Take(day0, q); !ok {
		t.Fatal("third refused")
	}
	if ok, _ := c.Take(day0, q); ok {
		t.Fatal("fourth admitted after a restart: the quota was reset")
	}
	// Tomorrow (UTC) is a new period.
	if ok, _ := c.Take(day0.Add(14*time.Hour), q); !ok {
		t.Fatal("refused in a new period")
	}
	if err := cs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	days, _ := cs.days(ctx, "p", "k")
	if d := days["2026-11-25"]; d.Used != 3 || d.PeriodUsed != 3 {
		t.Fatalf("day 1 %+v", d)
	}
	if d := days["2026-11-26"]; d.Used != 1 || d.PeriodUsed != 1 {
		t.Fatalf("day 2 %+v", d)
	}
}

func TestGetAndUpdateUsage(t *testing.T) {
	s, clk := newDay0Service(t)
	ctx := context.Background()
	k, _ := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	p, _ := s.CreatePlan(ctx, Plan{Name: "p", Quota: &Quota{Limit: 10, Period: PeriodWeek}, APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	if _, err := s.AddPlanKey(ctx, p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	c := s.counters.Counter(p.ID, k.ID)
	for range 4 {
		_, _ = c.Take(clk.now(), p.Quota)
	}
	u, err := s.GetUsage(ctx, p.ID, "", "2026-11-24", "2026-11-26")
	if err != nil {
		t.Fatal(err)
	}
	got := u.Items[k.ID]
	want := [][2]int64{{0, 10}, {4, 6}, {0, 6}}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("usage %v, want %v", got, want)
	}
	if err := s.UpdateUsage(ctx, p.ID, k.ID, 10); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.counts.Remaining(p.ID, k.ID, p.Quota, clk.now()); r != 10 {
		t.Fatalf("remaining after reset %d", r)
	}
	// update-usage grants a temporary extension: above the limit for this
	// period, taken request by request, and the limit again in the next.
	if err := s.UpdateUsage(ctx, p.ID, k.ID, 25); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Take(clk.now(), p.Quota); !ok {
		t.Fatal("a request within the extension was refused")
	}
	if r, _ := s.counts.Remaining(p.ID, k.ID, p.Quota, clk.now()); r != 24 {
		t.Fatalf("remaining after an extension to 25 and a request: %d, want 24", r)
	}
	clk.advance(7 * 24 * time.Hour)
	if r, _ := s.counts.Remaining(p.ID, k.ID, p.Quota, clk.now()); r != 10 {
		t.Fatalf("remaining in the next period: %d, want the limit, 10", r)
	}
	_, err = s.GetUsage(ctx, p.ID, "", "2026-11-26", "2026-11-24")
	wantKind(t, err, errdefs.ErrInvalid, "endDate")
	_, err = s.GetUsage(ctx, p.ID, "", "yesterday", "2026-11-24")
	wantKind(t, err, errdefs.ErrInvalid, "startDate")
	_, err = s.GetUsage(ctx, "nope", "", "2026-11-24", "2026-11-24")
	wantKind(t, err, errdefs.ErrNotFound, "")
	wantKind(t, s.UpdateUsage(ctx, p.ID, "nokey", 1), errdefs.ErrNotFound, "")
}

// TestGetUsageDaysUnderTheCurrentQuota: each day's remaining is what the
// plan's current quota leaves of the count at the end of the day (an
// update-usage included), today's is what the next request is admitted
// against, and a day of the next period has the whole limit. The remaining
// recorded when a request was admitted went stale when the quota changed.
func TestGetUsageDaysUnderTheCurrentQuota(t *testing.T) {
	s, clk := newDay0Service(t) // Wednesday 2026-11-25; the week starts on Sunday the 22nd
	ctx := context.Background()
	k, _ := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	p, _ := s.CreatePlan(ctx, Plan{Name: "p", Quota: &Quota{Limit: 10, Period: PeriodWeek}, APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	if _, err := s.AddPlanKey(ctx, p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	c := s.counters.Counter(p.ID, k.ID)
	take := func(n int, want bool) {
		t.Helper()
		p, err := s.GetPlan(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if ok, err := c.Take(clk.now(), p.Quota); ok != want || err != nil {
				t.Fatalf("request %d on %s: admitted %v (%v), want %v", i, dayOf(clk.now()), ok, err, want)
			}
		}
	}
	setQuota := func(q Quota) {
		t.Helper()
		if _, err := s.UpdatePlan(ctx, p.ID, func(p *Plan) error { p.Quota = &q; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	wantUsage := func(step string, want ...[2]int64) {
		t.Helper()
		u, err := s.GetUsage(ctx, p.ID, k.ID, "2026-11-24", "2026-11-29")
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Items[k.ID]; !slices.Equal(got, want) {
			t.Fatalf("%s: usage %v, want %v", step, got, want)
		}
	}
	take(4, true)
	clk.advance(24 * time.Hour) // Thursday
	take(3, true)
	if err := s.UpdateUsage(ctx, p.ID, k.ID, 10); err != nil {
		t.Fatal(err)
	}
	take(1, true)
	clk.advance(24 * time.Hour) // Friday: no requests
	//           Tue      Wed     Thu     Fri (today) Sat     Sun (next week)
	wantUsage("limit 10", [2]int64{0, 10}, [2]int64{4, 6}, [2]int64{4, 9}, [2]int64{0, 9}, [2]int64{0, 9}, [2]int64{0, 10})
	setQuota(Quota{Limit: 5, Period: PeriodWeek})
	wantUsage("limit 5", [2]int64{0, 5}, [2]int64{4, 1}, [2]int64{4, 4}, [2]int64{0, 4}, [2]int64{0, 4}, [2]int64{0, 5})
	setQuota(Quota{Limit: 3, Period: PeriodWeek})
	wantUsage("limit 3", [2]int64{0, 3}, [2]int64{4, 0}, [2]int64{4, 2}, [2]int64{0, 2}, [2]int64{0, 2}, [2]int64{0, 3})
	take(2, true)
	take(1, false)
	wantUsage("limit 3 used up", [2]int64{0, 3}, [2]int64{4, 0}, [2]int64{4, 2}, [2]int64{2, 0}, [2]int64{0, 0}, [2]int64{0, 3})
	// A daily quota: a new period today, as the gateway counts it; the days
	// before are each their own period.
	setQuota(Quota{Limit: 3, Period: PeriodDay})
	wantUsage("daily 3", [2]int64{0, 3}, [2]int64{4, 0}, [2]int64{4, 0}, [2]int64{2, 3}, [2]int64{0, 3}, [2]int64{0, 3})
	take(3, true)
	take(1, false)
	wantUsage("daily 3 used up", [2]int64{0, 3}, [2]int64{4, 0}, [2]int64{4, 0}, [2]int64{5, 0}, [2]int64{0, 3}, [2]int64{0, 3})
	// Without a quota nothing is left to report.
	if _, err := s.UpdatePlan(ctx, p.ID, func(p *Plan) error { p.Quota = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	wantUsage("no quota", [2]int64{0, 0}, [2]int64{4, 0}, [2]int64{4, 0}, [2]int64{5, 0}, [2]int64{0, 0}, [2]int64{0, 0})
	// Requests without a quota count in the period the plan lost it in: a
	// quota given back in it starts from that count, one given back in a
	// later period from 0.
	take(2, true)
	setQuota(Quota{Limit: 3, Period: PeriodDay})
	wantUsage("daily 3 back on Friday", [2]int64{0, 3}, [2]int64{4, 0}, [2]int64{4, 0}, [2]int64{7, 0}, [2]int64{0, 3}, [2]int64{0, 3})
	take(1, false)
	clk.advance(24 * time.Hour) // Saturday
	if _, err := s.UpdatePlan(ctx, p.ID, func(p *Plan) error { p.Quota = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	take(1, true)
	setQuota(Quota{Limit: 3, Period: PeriodDay})
	wantUsage("daily 3 back on Saturday", [2]int64{0, 3}, [2]int64{4, 0}, [2]int64{4, 0}, [2]int64{7, 0}, [2]int64{1, 3}, [2]int64{0, 3})
	take(3, true)
	take(1, false)
}

// stageHarness compiles the key stages for a deployment of api1/dev whose
// route 0 (GET /pets) requires a key and route 1 (GET /open) does not.
type stageHarness struct {
	t     *testing.T
	d     *pipeline.Deployed
	h     pipeline.Handler
	calls int
	ids   []string
}

func newStageHarness(t *testing.T, s *Service, source string, before pipeline.Middleware) *stageHarness {
	t.Helper()
	dep := &apis.Deployment{ID: "d1", APIID: "api1", API: apis.API{ID: "api1", Protocol: apis.ProtocolREST, Definition: apis.Definition{
		APIKeySource: source,
		Routes: []apis.Route{
			{Method: "GET", Path: "/pets", RouteKey: "GET /pets", APIKeyRequired: true},
			{Method: "GET", Path: "/open", RouteKey: "GET /open"},
		}}}}
	hs := &stageHarness{t: t, d: &pipeline.Deployed{Stage: &apis.Stage{APIID: "api1", Name: "dev"}, Deployment: dep, API: &dep.API}}
	hs.h = pipeline.HandlerFunc(func(_ http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
		hs.calls++
		hs.ids = append(hs.ids, c.Identity.APIKeyID)
		return nil
	})
	for _, st := range []pipeline.Stage{NewAuthorizerKeyStage(s), NewKeyStage(s)} {
		mw, err := st.Compile(hs.d)
		if err != nil {
			t.Fatal(err)
		}
		if mw != nil {
			hs.h = mw(hs.h)
		}
	}
	if before != nil {
		hs.h = before(hs.h)
	}
	return hs
}

// call serves route i with header key (when not empty) and returns the error
// type (or "" when it passed).
func (hs *stageHarness) call(i int, key string) pipeline.ResponseType {
	hs.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if key != "" {
		r.Header.Set("x-api-key", key)
	}
	c := &pipeline.Context{APIID: "api1", Stage: "dev", Route: &hs.d.API.Routes[i]}
	err := hs.h.ServeRequest(httptest.NewRecorder(), r, c)
	if err == nil {
		return ""
	}
	e, ok := pipeline.AsError(err)
	if !ok {
		hs.t.Fatalf("error %v is not a pipeline error", err)
	}
	if strings.Contains(e.Error(), key) && key != "" {
		hs.t.Fatalf("error %q names the key value", e.Error())
	}
	return e.Type
}

func TestKeyStage(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	good, _ := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	disabled, _ := s.CreateKey(ctx, KeyInput{})
	stray, _ := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)}) // in no plan
	p, _ := s.CreatePlan(ctx, Plan{Name: "p", APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	for _, k := range []*APIKey{good, disabled} {
		if _, err := s.AddPlanKey(ctx, p.ID, k.ID); err != nil {
			t.Fatal(err)
		}
	}
	hs := newStageHarness(t, s, "", nil)
	for _, tc := range []struct {
		name  string
		route int
		key   string
		want  pipeline.ResponseType
	}{
		{"no key", 0, "", pipeline.InvalidAPIKey},
		{"wrong key", 0, strings.Repeat("x", 40), pipeline.InvalidAPIKey},
		{"key with the right hash prefix but other text", 0, good.Value[:39] + "!", pipeline.InvalidAPIKey},
		{"disabled key", 0, disabled.Value, pipeline.InvalidAPIKey},
		{"key in no plan of the stage", 0, stray.Value, pipeline.InvalidAPIKey},
		{"good key", 0, good.Value, ""},
		{"open route without key", 1, "", ""},
	} {
		if got := hs.call(tc.route, tc.key); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if hs.ids[0] != good.ID {
		t.Fatalf("identity.apiKeyId %q, want %q", hs.ids[0], good.ID)
	}
	// Disabling the key takes effect on the next request.
	if _, err := s.UpdateKey(ctx, good.ID, KeyPatch{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if got := hs.call(0, good.Value); got != pipeline.InvalidAPIKey {
		t.Fatalf("disabled good key: %q", got)
	}
}

func TestKeyStagePlanThrottlesAndQuota(t *testing.T) {
	s, clk := newDay0Service(t)
	ctx := context.Background()
	k, _ := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	p, _ := s.CreatePlan(ctx, Plan{Name: "p", Throttle: &Throttle{RateLimit: 1, BurstLimit: 5},
		APIStages: []APIStage{{APIID: "api1", Stage: "dev", Throttle: map[string]Throttle{"/pets/GET": {RateLimit: 1, BurstLimit: 3}}}}})
	_, _ = s.AddPlanKey(ctx, p.ID, k.ID)
	hs := newStageHarness(t, s, "", nil)
	count := func(n int) (passed int, last pipeline.ResponseType) {
		for range n {
			if last = hs.call(0, k.Value); last == "" {
				passed++
			}
		}
		return passed, last
	}
	if n, last := count(10); n != 3 || last != pipeline.Throttled {
		t.Fatalf("method throttle: %d passed, last %q; want 3, THROTTLED", n, last)
	}
	// Without the method throttle, the plan's burst of 5 applies (3 taken).
	if _, err := s.UpdatePlan(ctx, p.ID, func(p *Plan) error {
		p.APIStages[0].Throttle = nil
		p.Quota = &Quota{Limit: 4, Period: PeriodDay}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, last := count(10); n != 2 || last != pipeline.Throttled {
		t.Fatalf("plan throttle: %d passed, last %q; want 2", n, last)
	}
	clk.advance(time.Minute) // the buckets refill; the quota (4 a day, 2 counted) does not
	if n, last := count(4); n != 2 || last != pipeline.QuotaExceeded {
		t.Fatalf("quota: %d passed, last %q; want 2, QUOTA_EXCEEDED", n, last)
	}
	clk.advance(24 * time.Hour)
	if n, _ := count(4); n != 4 {
		t.Fatalf("next day: %d passed, want 4", n)
	}
}

// TestRaisedPlanThrottleAppliesFromTheChange: a plan throttle (and a
// per-method one) raised by update-usage-plan refills the key's bucket at the
// new rate, up to the new burst, from the update on; the first request after
// it was measured with the old rate and burst for all the time since the
// key's last request (rate 0.01 burst 2, spent, raised to rate 100: 2 s
// later the first request was still refused).
func TestRaisedPlanThrottleAppliesFromTheChange(t *testing.T) {
	s, clk := newDay0Service(t)
	ctx := context.Background()
	k, _ := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	p, err := s.CreatePlan(ctx, Plan{Name: "p", Throttle: &Throttle{RateLimit: 0.01, BurstLimit: 2},
		APIStages: []APIStage{{APIID: "api1", Stage: "dev", Throttle: map[string]Throttle{"/pets/GET": {RateLimit: 0.01, BurstLimit: 1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPlanKey(ctx, p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	hs := newStageHarness(t, s, "", nil)
	count := func(n int) (passed int) {
		for range n {
			if hs.call(0, k.Value) == "" {
				passed++
			}
		}
		return passed
	}
	if n := count(5); n != 1 {
		t.Fatalf("method burst 1: %d passed", n)
	}
	if _, err := s.UpdatePlan(ctx, p.ID, func(p *Plan) error {
		p.Throttle = &Throttle{RateLimit: 10, BurstLimit: 20}
		p.APIStages[0].Throttle = map[string]Throttle{"/pets/GET": {RateLimit: 10, BurstLimit: 20}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	clk.advance(3 * time.Second) // 30 tokens at the new rates, capped at 20 (the plan's bucket holds 1 + 30)
	if n := count(25); n != 20 {
		t.Fatalf("raised to rate 10 burst 20, 3 s later: %d passed, want 20", n)
	}
}

// TestWebSocketStageMethodThrottleRefused: a per-method throttle on a
// WebSocket API's stage in a usage plan is refused saying that such a stage
// takes none and what to use instead; the advice was "use
// /{resourcePath}/{METHOD}", which no form of a WebSocket route can follow.
func TestWebSocketStageMethodThrottleRefused(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	for _, key := range []string{"$connect", "/$connect/ANY", "/ping/MESSAGE"} {
		_, err := s.CreatePlan(ctx, Plan{Name: "p", Throttle: &Throttle{RateLimit: 100, BurstLimit: 100},
			APIStages: []APIStage{{APIID: "ws1", Stage: "s1", Throttle: map[string]Throttle{key: {RateLimit: 1, BurstLimit: 1}}}}})
		wantKind(t, err, errdefs.ErrInvalid, "update-stage --route-settings")
	}
	// The stage alone is taken, and the method throttle refused when added.
	p, err := s.CreatePlan(ctx, Plan{Name: "p", Throttle: &Throttle{RateLimit: 100, BurstLimit: 100}, APIStages: []APIStage{{APIID: "ws1", Stage: "s1"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdatePlan(ctx, p.ID, func(p *Plan) error {
		p.APIStages[0].Throttle = map[string]Throttle{"/$connect/ANY": {RateLimit: 1, BurstLimit: 1}}
		return nil
	})
	wantKind(t, err, errdefs.ErrInvalid, "it is a WebSocket API's stage, which takes no per-method throttles in a usage plan")
}

func TestAuthorizerKeySource(t *testing.T) {
	s := newService(t, t.TempDir(), &fakeClock{t: day0})
	ctx := context.Background()
	k, _ := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	p, _ := s.CreatePlan(ctx, Plan{Name: "p", APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	_, _ = s.AddPlanKey(ctx, p.ID, k.ID)
	var usageKey string
	// A fake authorizer that runs before the key stages and names the key.
	authorizer := func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			c.Authorizer.UsageIdentifierKey = usageKey
			return next.ServeRequest(w, r, c)
		})
	}
	hs := newStageHarness(t, s, SourceAuthorizer, authorizer)
	if got := hs.call(0, k.Value); got != pipeline.InvalidAPIKey {
		t.Fatalf("header key under AUTHORIZER source: %q, want refused", got)
	}
	usageKey = k.Value
	if got := hs.call(0, ""); got != "" {
		t.Fatalf("authorizer's usageIdentifierKey: %q, want admitted", got)
	}
	if hs.ids[len(hs.ids)-1] != k.ID {
		t.Fatalf("identity.apiKeyId %q", hs.ids[len(hs.ids)-1])
	}
}

func TestUnknownKeySourceRefusesTheDeployment(t *testing.T) {
	s := newService(t, t.TempDir(), &fakeClock{t: day0})
	dep := &apis.Deployment{API: apis.API{Definition: apis.Definition{APIKeySource: "COOKIE", Routes: []apis.Route{{Method: "GET", Path: "/", APIKeyRequired: true}}}}}
	if _, err := NewKeyStage(s).Compile(&pipeline.Deployed{Stage: &apis.Stage{}, Deployment: dep, API: &dep.API}); err == nil {
		t.Fatal("COOKIE key source compiled")
	}
	// Without a route that requires a key, the source does not matter.
	dep.API.Routes[0].APIKeyRequired = false
	if mw, err := NewKeyStage(s).Compile(&pipeline.Deployed{Stage: &apis.Stage{}, Deployment: dep, API: &dep.API}); err != nil || mw != nil {
		t.Fatalf("no key required: middleware %v, err %v", mw != nil, err)
	}
}

// TestCustomerIDIsBounded is keys18's finding 7: a key's customerId had no
// limit (5 MB was stored and returned in every listing), in create, update and
// import. It is capped like the name, with a 400 that says so.
func TestCustomerIDIsBounded(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	long := strings.Repeat("c", MaxCustomerID+1)
	_, err := s.CreateKey(ctx, KeyInput{Name: "big", CustomerID: long})
	wantKind(t, err, errdefs.ErrInvalid, "customerId is too long")
	k, err := s.CreateKey(ctx, KeyInput{Name: "ok", CustomerID: long[:MaxCustomerID]})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateKey(ctx, k.ID, KeyPatch{CustomerID: &long})
	wantKind(t, err, errdefs.ErrInvalid, "customerId is too long")
	_, err = s.ImportKeys(ctx, []byte("Name,Key,CustomerId\nbc,bigcust-value-0123456789abc,"+long+"\n"))
	wantKind(t, err, errdefs.ErrInvalid, "line 2: API Key customerId is too long")
	if got, _ := s.GetKey(ctx, k.ID); got == nil || got.CustomerID != long[:MaxCustomerID] {
		t.Fatalf("key after a refused update: %+v", got)
	}
}

// TestImportKeysRefusesPaddedValues is keys18's finding 6: import-api-keys
// trimmed a quoted space off a Key value that create-api-key refuses; it is a
// 400 naming the line now. Blanks before an unquoted cell are still skipped.
func TestImportKeysRefusesPaddedValues(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	for _, bad := range []string{"Name,Key\na,\" qpadded-value-0123456789abcdef\"\n", "Name,Key\na,tpadded-value-0123456789abcdef \n"} {
		_, err := s.ImportKeys(ctx, []byte(bad))
		wantKind(t, err, errdefs.ErrInvalid, "line 2: API Key value must be printable ASCII without spaces")
	}
	keys, err := s.ImportKeys(ctx, []byte("Name, Key\na, spaced-value-0123456789abcdef\n"))
	if err != nil || len(keys) != 1 || keys[0].Value != "spaced-value-0123456789abcdef" {
		t.Fatalf("import with blanks after the commas: %+v %v", keys, err)
	}
}
