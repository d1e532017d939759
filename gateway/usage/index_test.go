package usage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// liveStages is a Stages with StageEvents over a set of stages of REST APIs
// api1 and api2 (each on a deployment with GET /pets) that a test deletes and
// creates again, with the hook and the news of apis.Service.
type liveStages struct {
	mu    sync.Mutex
	live  map[string]bool // "apiId/stage"
	hooks []apis.StageDeleteHook
	subs  []func(string)
}

var _ StageEvents = (*liveStages)(nil)

func (l *liveStages) has(apiID, name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.live[apiID+"/"+name]
}

func (l *liveStages) GetStage(_ context.Context, apiID, name string) (*apis.Stage, error) {
	if !l.has(apiID, name) {
		return nil, errdefs.ErrNotFound
	}
	return &apis.Stage{APIID: apiID, Name: name, DeploymentID: "d1"}, nil
}

func (l *liveStages) Get(_ context.Context, id string) (*apis.API, error) {
	return &apis.API{ID: id, Protocol: apis.ProtocolREST}, nil
}

func (l *liveStages) GetDeployment(_ context.Context, apiID, depID string) (*apis.Deployment, error) {
	return &apis.Deployment{ID: depID, APIID: apiID, API: apis.API{ID: apiID, Protocol: apis.ProtocolREST,
		Definition: apis.Definition{Routes: []apis.Route{{Method: "GET", Path: "/pets"}}}}}, nil
}

func (l *liveStages) OnDeleteStage(h apis.StageDeleteHook) { l.hooks = append(l.hooks, h) }
func (l *liveStages) Subscribe(fn func(string))            { l.subs = append(l.subs, fn) }
func (l *liveStages) HasStage(_ *store.Tx, apiID, name string) bool {
	return l.has(apiID, name)
}

// deleteStage deletes a stage as apis.Service.DeleteStage does: the hooks in
// the deleting transaction, then the news.
func (l *liveStages) deleteStage(t *testing.T, st *store.Store, apiID, name string) {
	t.Helper()
	err := st.Update(context.Background(), func(tx *store.Tx) error {
		for _, h := range l.hooks {
			if err := h(tx, apiID, name); err != nil {
				return err
			}
		}
		l.mu.Lock()
		delete(l.live, apiID+"/"+name)
		l.mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range l.subs {
		fn(apiID)
	}
}

// checkIndex fails t when the index the service publishes differs from one
// rebuilt from the store now: the same keys by hash and id, the same entries
// (the same plan contents, limits, buckets and counter), plans, damaged
// records, APIs and overlap.
func checkIndex(t *testing.T, s *Service, step string) {
	t.Helper()
	live := s.index.Load()
	fresh, err := s.load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fail := func(what string, got, want any) {
		t.Helper()
		t.Fatalf("after %s: the index's %s differ from a rebuild's:\n got  %v\n want %v", step, what, got, want)
	}
	if !reflect.DeepEqual(live.byHash, fresh.byHash) {
		fail("keys by hash", live.byHash, fresh.byHash)
	}
	if !reflect.DeepEqual(live.byID, fresh.byID) {
		fail("keys by id", live.byID, fresh.byID)
	}
	for id, k := range live.byID {
		if live.byHash[hashValue(k.Value)] != k {
			t.Fatalf("after %s: key %s is not the one its hash finds", step, id)
		}
	}
	if !reflect.DeepEqual(live.planByID, fresh.planByID) {
		fail("plans", live.planByID, fresh.planByID)
	}
	if !reflect.DeepEqual(live.damaged, fresh.damaged) {
		fail("damaged records", live.damaged, fresh.damaged)
	}
	if !reflect.DeepEqual(live.apiIDs, fresh.apiIDs) {
		fail("APIs", live.apiIDs, fresh.apiIDs)
	}
	if live.overlap != fresh.overlap {
		fail("overlap", live.overlap, fresh.overlap)
	}
	refs := func(ix *index) []string {
		var out []string
		for r := range ix.plans {
			out = append(out, r.keyID+" "+r.apiID+"/"+r.stage)
		}
		slices.Sort(out)
		return out
	}
	if a, b := refs(live), refs(fresh); !slices.Equal(a, b) {
		fail("entries", a, b)
	}
	for ref, want := range fresh.plans {
		got := live.plans[ref]
		if !reflect.DeepEqual(got.plan, want.plan) || got.plan != live.planByID[got.plan.ID] {
			fail(fmt.Sprint("plan of ", ref), got.plan, want.plan)
		}
		// Buckets and counters are the limiter's and the counters' by name:
		// the same objects, their state kept.
		if got.bucket != want.bucket || got.limit != want.limit || got.counter != want.counter {
			fail(fmt.Sprint("bucket, limit or counter of ", ref), *got, *want)
		}
		if len(got.methods) != len(want.methods) {
			fail(fmt.Sprint("method throttles of ", ref), got.methods, want.methods)
		}
		for m, w := range want.methods {
			if g, ok := got.methods[m]; !ok || g != w {
				fail(fmt.Sprint("method throttle ", m, " of ", ref), got.methods, want.methods)
			}
		}
	}
}

// TestIndexPatchesAsARebuild runs random sequences of the admin writes (keys
// created, changed, tagged, enabled, disabled and deleted; plans created,
// changed, given and relieved of stages, throttles, method throttles and
// quotas, and deleted; keys added to and removed from plans; CSV imports;
// stages deleted and created again; records damaged, and two plans made to
// cover one key on one stage, as an older build's store may hold) and checks
// after each that the index, which each write patches, is the one a rebuild
// reads from the store.
func TestIndexPatchesAsARebuild(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runIndexOps(t, seed, 200) })
	}
}

func runIndexOps(t *testing.T, seed uint64, n int) {
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(seed, 29))
	stageNames := []string{"api1/a", "api1/b", "api1/c", "api2/a", "api2/x"}
	l := &liveStages{live: map[string]bool{}}
	for _, n := range stageNames {
		l.live[n] = true
	}
	st := gwtest.Store(t, "")
	s, err := NewService(st, Options{Stages: l})
	if err != nil {
		t.Fatal(err)
	}
	var keyIDs, planIDs []string
	ids := func(bucket string) []string {
		var out []string
		if err := st.View(ctx, func(tx *store.Tx) error {
			return tx.ForEach(bucket, "", func(k string, _ []byte) error { out = append(out, k); return nil })
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	pick := func(from []string) string {
		if len(from) == 0 {
			return "none"
		}
		return from[rnd.IntN(len(from))]
	}
	stage := func() APIStage {
		api, name, _ := strings.Cut(pick(stageNames), "/")
		as := APIStage{APIID: api, Stage: name}
		if rnd.IntN(3) == 0 {
			as.Throttle = map[string]Throttle{"/pets/GET": {RateLimit: float64(rnd.IntN(5)), BurstLimit: rnd.IntN(5)}}
		}
		return as
	}
	throttle := func() *Throttle {
		if rnd.IntN(3) == 0 {
			return nil
		}
		return &Throttle{RateLimit: float64(1 + rnd.IntN(3)), BurstLimit: rnd.IntN(4)}
	}
	quota := func() *Quota {
		if rnd.IntN(2) == 0 {
			return nil
		}
		return &Quota{Limit: int64(1 + rnd.IntN(100)), Period: PeriodDay}
	}
	editPlan := func(edit func(p *Plan)) (string, error) {
		_, err := s.UpdatePlan(ctx, pick(planIDs), func(p *Plan) error { edit(p); return nil })
		return "update-usage-plan", err
	}
	ops := []func() (string, error){
		func() (string, error) {
			_, err := s.CreateKey(ctx, KeyInput{Enabled: ptr(rnd.IntN(3) > 0)})
			return "create-api-key", err
		},
		func() (string, error) {
			_, err := s.UpdateKey(ctx, pick(keyIDs), KeyPatch{Enabled: ptr(rnd.IntN(2) == 0), Name: ptr(fmt.Sprint("n", rnd.IntN(9)))})
			return "update-api-key", err
		},
		func() (string, error) {
			_, err := s.TagKey(ctx, pick(keyIDs), map[string]string{"t": fmt.Sprint(rnd.IntN(3))}, nil)
			return "tag-resource (key)", err
		},
		func() (string, error) { return "delete-api-key", s.DeleteKey(ctx, pick(keyIDs)) },
		func() (string, error) {
			p := Plan{Name: "p", Throttle: throttle(), Quota: quota()}
			for range rnd.IntN(3) {
				as := stage()
				if !slices.ContainsFunc(p.APIStages, func(b APIStage) bool { return b.APIID == as.APIID && b.Stage == as.Stage }) {
					p.APIStages = append(p.APIStages, as)
				}
			}
			_, err := s.CreatePlan(ctx, p)
			return "create-usage-plan", err
		},
		func() (string, error) {
			return editPlan(func(p *Plan) {
				as := stage()
				if !slices.ContainsFunc(p.APIStages, func(b APIStage) bool { return b.APIID == as.APIID && b.Stage == as.Stage }) {
					p.APIStages = append(p.APIStages, as)
				}
			})
		},
		func() (string, error) {
			return editPlan(func(p *Plan) {
				if len(p.APIStages) > 0 {
					p.APIStages = slices.Delete(p.APIStages, 0, 1)
				}
			})
		},
		func() (string, error) { return editPlan(func(p *Plan) { p.Throttle = throttle() }) },
		func() (string, error) { return editPlan(func(p *Plan) { p.Quota = quota() }) },
		func() (string, error) {
			return editPlan(func(p *Plan) {
				for i := range p.APIStages {
					p.APIStages[i].Throttle = stage().Throttle
				}
			})
		},
		func() (string, error) { return editPlan(func(p *Plan) { p.Name = fmt.Sprint("p", rnd.IntN(9)) }) },
		func() (string, error) { return "delete-usage-plan", s.DeletePlan(ctx, pick(planIDs)) },
		func() (string, error) {
			_, err := s.AddPlanKey(ctx, pick(planIDs), pick(keyIDs))
			return "create-usage-plan-key", err
		},
		func() (string, error) {
			_, err := s.AddPlanKey(ctx, pick(planIDs), pick(keyIDs))
			return "create-usage-plan-key", err
		},
		func() (string, error) {
			return "delete-usage-plan-key", s.RemovePlanKey(ctx, pick(planIDs), pick(keyIDs))
		},
		func() (string, error) {
			_, err := s.ImportKeys(ctx, importCSV(fmt.Sprint("imp", rnd.Uint32()), 1+rnd.IntN(4), pick(planIDs)))
			return "import-api-keys", err
		},
		func() (string, error) {
			api, name, _ := strings.Cut(pick(stageNames), "/")
			l.deleteStage(t, st, api, name)
			return "delete-stage " + api + "/" + name, nil
		},
		func() (string, error) {
			l.mu.Lock()
			l.live[pick(stageNames)] = true
			l.mu.Unlock()
			return "create-stage", nil
		},
		func() (string, error) {
			// A record that does not decode (damage on disk, written here
			// through the service's own path).
			bucket, id := bucketKeys, pick(keyIDs)
			if rnd.IntN(2) == 0 {
				bucket, id = bucketPlans, pick(planIDs)
			}
			return "damage " + bucket + "/" + id, s.update(ctx, func(tx *store.Tx) error {
				if !tx.Has(bucket, id) {
					return nil
				}
				return tx.Put(bucket, id, []int{1})
			})
		},
		func() (string, error) {
			// Two plans covering one key on one stage, which the checks
			// refuse and an older build's store may hold.
			a, b := pick(planIDs), pick(planIDs)
			return "overlap " + a + " " + b, s.update(ctx, func(tx *store.Tx) error {
				var p, q Plan
				if a == b || tx.Get(bucketPlans, a, &p) != nil || tx.Get(bucketPlans, b, &q) != nil || len(p.KeyIDs) == 0 || len(p.APIStages) == 0 {
					return nil
				}
				q.KeyIDs = append(q.KeyIDs, p.KeyIDs[0])
				q.APIStages = append(q.APIStages, p.APIStages[0])
				return tx.Put(bucketPlans, q.ID, &q)
			})
		},
	}
	// How often each op is drawn, in the order of ops: memberships grow,
	// and damage and overlaps stay rare enough not to take every plan.
	// (An overlap makes every write rebuild until it is gone: only odd seeds
	// make one.)
	weights := []int{4, 2, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 5, 5, 2, 2, 1, 1, 1, int(seed % 2)}
	var draw []int
	for i, w := range weights {
		for range w {
			draw = append(draw, i)
		}
	}
	for i := range n {
		keyIDs, planIDs = ids(bucketKeys), ids(bucketPlans)
		prev := s.index.Load()
		was := shallowCopy(prev)
		op := ops[draw[rnd.IntN(len(draw))]]
		if i < 10 {
			op = ops[[]int{0, 0, 0, 4, 4, 12, 12, 13, 0, 12}[i]]
		}
		name, err := op()
		step := fmt.Sprintf("op %d, %s", i, name)
		if err != nil && !slices.ContainsFunc([]error{errdefs.ErrNotFound, errdefs.ErrConflict, errdefs.ErrInvalid, store.ErrCorrupt}, func(e error) bool { return errors.Is(err, e) }) {
			t.Fatalf("%s: %v", step, err)
		}
		checkIndex(t, s, step)
		if !sameIndex(prev, was) {
			t.Fatalf("%s changed the index published before it (the key stage reads it without a lock)", step)
		}
	}
}

// shallowCopy returns a copy of ix and of its maps.
func shallowCopy(ix *index) *index {
	c := *ix
	c.byHash, c.byID, c.plans, c.planByID = maps.Clone(ix.byHash), maps.Clone(ix.byID), maps.Clone(ix.plans), maps.Clone(ix.planByID)
	c.damaged, c.apiIDs = maps.Clone(ix.damaged), maps.Clone(ix.apiIDs)
	return &c
}

// sameIndex reports whether a and b hold the same keys, entries, plans,
// damaged records and APIs (the same pointers).
func sameIndex(a, b *index) bool {
	return maps.Equal(a.byHash, b.byHash) && maps.Equal(a.byID, b.byID) && maps.Equal(a.plans, b.plans) &&
		maps.Equal(a.planByID, b.planByID) && maps.Equal(a.damaged, b.damaged) && maps.Equal(a.apiIDs, b.apiIDs) && a.overlap == b.overlap
}

// TestKeyStageSeesEachWriteAtOnce: a key disabled, taken out of its plan or
// deleted is refused by the key stage as soon as the admin call has
// returned, and let in again as soon as it is enabled or added back, in a
// store whose index each write patches (not rebuilds); a write to another
// key or plan keeps the key's token bucket as it was (a patch does not
// refill it).
func TestKeyStageSeesEachWriteAtOnce(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	p, err := s.CreatePlan(ctx, Plan{Name: "p", Throttle: &Throttle{RateLimit: 0.001, BurstLimit: 2},
		APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreatePlan(ctx, Plan{Name: "other", APIStages: []APIStage{{APIID: "api1", Stage: "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportKeys(ctx, importCSV("many", 300, p.ID)); err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	hs := newStageHarness(t, s, "", nil)
	want := func(step string, wantType pipeline.ResponseType) {
		t.Helper()
		if got := hs.call(0, k.Value); got != wantType {
			t.Fatalf("%s: %q, want %q", step, got, wantType)
		}
	}
	want("key in no plan", pipeline.InvalidAPIKey)
	// Each write below patches the index: a rebuild would decode every key
	// again, a patch keeps the other keys as they were.
	patched := func(step string, write func() error) {
		t.Helper()
		h := hashValue(importValue("many", 1))
		before := s.index.Load().byHash[h]
		if before == nil {
			t.Fatalf("before %s: imported key many-1 is not in the index", step)
		}
		if err := write(); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if after := s.index.Load().byHash[h]; after == nil || after != before {
			t.Fatalf("%s: the index was rebuilt, not patched", step)
		}
	}
	patched("create-usage-plan-key", func() error { _, err := s.AddPlanKey(ctx, p.ID, k.ID); return err })
	want("key added to the plan", "")
	patched("update-api-key enabled=false", func() error { _, err := s.UpdateKey(ctx, k.ID, KeyPatch{Enabled: ptr(false)}); return err })
	want("key disabled", pipeline.InvalidAPIKey)
	patched("update-api-key enabled=true", func() error { _, err := s.UpdateKey(ctx, k.ID, KeyPatch{Enabled: ptr(true)}); return err })
	want("key enabled again", "") // the bucket's second token
	// Writes to other keys and plans leave the key's bucket empty.
	patched("create-api-key", func() error { _, err := s.CreateKey(ctx, KeyInput{}); return err })
	patched("update-usage-plan (other)", func() error {
		_, err := s.UpdatePlan(ctx, other.ID, func(p *Plan) error { p.Name = "renamed"; return nil })
		return err
	})
	patched("create-usage-plan-key (another key)", func() error {
		_, err := s.AddPlanKey(ctx, other.ID, s.index.Load().byHash[hashValue(importValue("many", 0))].ID)
		return err
	})
	want("bucket used up before the other writes", pipeline.Throttled)
	patched("delete-usage-plan-key", func() error { return s.RemovePlanKey(ctx, p.ID, k.ID) })
	want("key taken out of the plan", pipeline.InvalidAPIKey)
	patched("create-usage-plan-key again", func() error { _, err := s.AddPlanKey(ctx, p.ID, k.ID); return err })
	want("key back in the plan, its bucket as it was", pipeline.Throttled)
	patched("delete-api-key", func() error { return s.DeleteKey(ctx, k.ID) })
	want("key deleted", pipeline.InvalidAPIKey)
	checkIndex(t, s, "the writes")
}

// importValue is the value importCSV gives key i of prefix.
func importValue(prefix string, i int) string { return fmt.Sprintf("%s-value-%020d", prefix, i) }

// TestIndexOverlapRebuilds: two plans covering one key on one API stage (an
// older build's store) are read as a rebuild reads them, the later plan by id
// winning; when the key leaves the winner, the other plan covers it again,
// which only a rebuild can tell: a patch of such an index rebuilds it.
func TestIndexOverlapRebuilds(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	k, err := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	var plans []*Plan
	for _, name := range []string{"a", "b"} {
		p, err := s.CreatePlan(ctx, Plan{Name: name, APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
	}
	slices.SortFunc(plans, func(a, b *Plan) int { return strings.Compare(a.ID, b.ID) })
	// Both plans hold the key, written past the one-plan-per-stage check.
	if err := s.update(ctx, func(tx *store.Tx) error {
		for _, p := range plans {
			p.KeyIDs = []string{k.ID}
			if err := tx.Put(bucketPlans, p.ID, p); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s, "the overlap")
	ref := planRef{k.ID, "api1", "dev"}
	if kp := s.index.Load().plans[ref]; kp == nil || kp.plan.ID != plans[1].ID || !s.index.Load().overlap {
		t.Fatalf("entry %+v, want plan %s's, with the overlap seen", kp, plans[1].ID)
	}
	if err := s.RemovePlanKey(ctx, plans[1].ID, k.ID); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s, "delete-usage-plan-key from the winner")
	if kp := s.index.Load().plans[ref]; kp == nil || kp.plan.ID != plans[0].ID || s.index.Load().overlap {
		t.Fatalf("entry %+v, want plan %s's, the overlap gone", kp, plans[0].ID)
	}
}

// TestIndexPatchesOfConcurrentWrites: writes from several goroutines, while
// the index is read as the key stage reads it, never change an index once
// published (run with -race) and leave it as a rebuild reads the store, whatever
// order their patches ran in.
func TestIndexPatchesOfConcurrentWrites(t *testing.T) {
	s, _ := newDay0Service(t)
	ctx := context.Background()
	dev, err := s.CreatePlan(ctx, Plan{Name: "dev", APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.ImportKeys(ctx, importCSV("k", 40, dev.ID))
	if err != nil {
		t.Fatal(err)
	}
	prod, err := s.CreatePlan(ctx, Plan{Name: "prod", APIStages: []APIStage{{APIID: "api1", Stage: "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// What the key stage reads, and nothing that takes a lock a
			// writer takes too (which would hide a write to a published
			// index from the race detector).
			k := keys[i%len(keys)]
			ix := s.index.Load()
			_, _ = ix.lookup(k.Value), ix.plans[planRef{k.ID, "api1", "dev"}]
			_ = s.KeyStages(k.ID)
		}
	}()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 15 {
				k := keys[(w*10+i)%len(keys)]
				switch i % 3 {
				case 0:
					_, _ = s.UpdateKey(ctx, k.ID, KeyPatch{Enabled: ptr(i%2 == 0)})
				case 1:
					_, _ = s.AddPlanKey(ctx, prod.ID, k.ID)
				case 2:
					_ = s.RemovePlanKey(ctx, dev.ID, k.ID)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-read
	checkIndex(t, s, "the concurrent writes")
}
