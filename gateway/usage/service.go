package usage

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/throttle"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/store"
)

// Stages finds an API's stages, the API and its deployments; *apis.Service
// satisfies it. An unknown API, stage or deployment is errdefs.ErrNotFound.
type Stages interface {
	GetStage(ctx context.Context, apiID, name string) (*apis.Stage, error)
	Get(ctx context.Context, id string) (*apis.API, error)
	GetDeployment(ctx context.Context, apiID, depID string) (*apis.Deployment, error)
}

// Service manages API keys and usage plans. Every change is one store
// transaction, validated before anything is written; the index the key stage
// reads is replaced after each. Safe for concurrent use.
type Service struct {
	st     *store.Store
	stages Stages
	log    *slog.Logger
	clock  atomic.Pointer[func() time.Time]
	counts *Counts
	// counters count quotas for the key stage (counts unless replaced); lim
	// holds the plans' per-key token buckets.
	counters Counters
	lim      throttle.Limiter
	// account is what a plan throttle's values not set inherit: the account
	// throttle's rate (negative: none) and burst.
	account throttle.Limit

	mu    sync.Mutex // serialises index rebuilds
	index atomic.Pointer[index]

	// afterDelete, when set (tests), runs after DeletePlan's transaction has
	// committed and before the plan's counters are forgotten.
	afterDelete func()
}

// Options are a Service's optional parts.
type Options struct {
	// Stages checks the API stages plans name (nil: not checked).
	Stages Stages
	// Limiter holds the plans' token buckets (nil: in-process buckets).
	Limiter throttle.Limiter
	// Counters replaces the in-process quota counters for the key stage.
	Counters Counters
	// AccountBurst is the account throttle's bucket size, which a plan
	// throttle whose burst is not set inherits (0: throttle.DefaultBurstLimit).
	AccountBurst int
	// AccountRate is the account throttle's rate, which a plan throttle whose
	// rate is not set inherits (0: throttle.DefaultRateLimit; negative: the
	// account throttle is off, and such a plan's bucket has no rate limit).
	AccountRate float64
	Log         *slog.Logger
}

// NewService returns a Service over st and loads the index of keys and plans.
func NewService(st *store.Store, o Options) (*Service, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: st, stages: o.Stages, log: log, lim: o.Limiter, counters: o.Counters,
		account: throttle.Limit{Rate: o.AccountRate, Burst: o.AccountBurst}}
	if s.account.Burst <= 0 {
		s.account.Burst = throttle.DefaultBurstLimit
	}
	switch {
	case s.account.Rate == 0:
		s.account.Rate = throttle.DefaultRateLimit
	case s.account.Rate < 0:
		s.account.Rate = -1
	}
	s.SetClock(func() time.Time { return time.Now().UTC() })
	s.counts = NewCounts(st, log)
	s.counts.live = func(tx *store.Tx, planID string) bool { return tx.Has(bucketPlans, planID) }
	if s.lim == nil {
		s.lim = throttle.NewBuckets()
	}
	if s.counters == nil {
		s.counters = s.counts
	}
	if ev, ok := o.Stages.(StageEvents); ok {
		if err := s.dropGoneStages(ev); err != nil {
			return nil, err
		}
		ev.OnDeleteStage(s.dropStage)
		ev.Subscribe(s.apiChanged)
	}
	if err := s.reindex(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// SetClock replaces the service's clock (for tests).
func (s *Service) SetClock(now func() time.Time) { s.clock.Store(&now) }

func (s *Service) now() time.Time { return (*s.clock.Load())() }

// Counts returns the quota counters.
func (s *Service) Counts() *Counts { return s.counts }

// index is what the key stage reads per request: keys by the hash of their
// value, and the plan of each key on each API stage. A published index is
// never changed: a write builds a new one (see patch) and publishes it.
type index struct {
	byHash map[[32]byte]*APIKey
	// byID holds the keys that decode by the id they are stored under.
	byID map[string]*APIKey
	// plans maps a key on an API stage to the plan covering it.
	plans map[planRef]*keyPlan
	// planByID holds the plans that decode by the id they are stored under.
	planByID map[string]*Plan
	// damaged holds the key and plan records ("bucket/id") left out because
	// they do not decode.
	damaged map[string]bool
	// apiIDs counts the plans' stages of each API.
	apiIDs map[string]int
	// overlap says that two keys have one value's hash, or two plans cover
	// one key on one API stage (records no write of this build makes, but an
	// older build's store may hold): the later by id wins, as the rebuild
	// reads them in that order, and a patch could not tell what to restore
	// when the winner goes, so that every write rebuilds while it is set.
	overlap bool
}

func newIndex() *index {
	return &index{byHash: map[[32]byte]*APIKey{}, byID: map[string]*APIKey{}, plans: map[planRef]*keyPlan{},
		planByID: map[string]*Plan{}, damaged: map[string]bool{}, apiIDs: map[string]int{}}
}

// planRef names a key on an API stage.
type planRef struct{ keyID, apiID, stage string }

// keyPlan is one key in the plan that covers one API stage: the plan, its
// token buckets for the key and the key's quota counter.
type keyPlan struct {
	plan    *Plan
	bucket  throttle.Bucket // nil without a plan throttle
	limit   throttle.Limit
	methods map[string]limitedBucket
	counter Counter
}

type limitedBucket struct {
	b throttle.Bucket
	l throttle.Limit
}

func hashValue(v string) [32]byte { return sha256.Sum256([]byte(v)) }

// keyPlanFor builds the entry of key kid in plan p on API stage as, as of at.
func (s *Service) keyPlanFor(p *Plan, as *APIStage, kid string, at time.Time) *keyPlan {
	kp := &keyPlan{plan: p, counter: s.counters.Counter(p.ID, kid)}
	base := "plan/" + p.ID + "/" + kid
	// The plan's limit, its values not set inherited from the account's; a
	// method's, from the plan's (see PlanLimit).
	// A changed limit applies from now, the time of the change (the index is
	// rebuilt after every write), not from the key's next request.
	planLimit := s.account
	if p.Throttle != nil {
		planLimit = PlanLimit(*p.Throttle).Inherit(s.account)
		kp.bucket, kp.limit = s.lim.Bucket(base), planLimit
		throttle.SetLimit(kp.bucket, at, planLimit)
	}
	for m, t := range as.Throttle {
		if kp.methods == nil {
			kp.methods = map[string]limitedBucket{}
		}
		lb := limitedBucket{s.lim.Bucket(base + "/" + as.APIID + "/" + as.Stage + m), PlanLimit(t).Inherit(planLimit)}
		throttle.SetLimit(lb.b, at, lb.l)
		kp.methods[m] = lb
	}
	return kp
}

// PlanLimit is the token bucket of a usage plan's throttle (or a method's in
// it) as set: a burst of 0 with a rate above 0 is a burst that is not set, and
// a rate of 0 with a burst above 0 a rate that is not set (negative), which
// throttle.Limit.Inherit fills from the level above. API Gateway's burstLimit
// is an integer whose absence is 0 and its rateLimit a double whose absence is
// 0.0: the SDKs send neither for 0, create-usage-plan --throttle rateLimit=50
// reads back burstLimit 0 and --throttle burstLimit=3 rateLimit 0, so a 0
// beside the other value cannot be told from one left out. Taken as a limit,
// a burst of 0 throttled every request of a plan that builds before c118483
// served, and a rate of 0 let each key burstLimit requests per process
// lifetime and then none. 0/0 is a limit: it admits nothing.
func PlanLimit(t Throttle) throttle.Limit {
	l := throttle.Limit{Rate: t.RateLimit, Burst: t.BurstLimit}
	if l.Burst == 0 && l.Rate > 0 {
		l.Burst = -1
	}
	if l.Rate == 0 && l.Burst > 0 {
		l.Rate = -1
	}
	return l
}

// reindex rebuilds the index from the store. A key or plan whose stored
// record does not decode is left out of it, so that one damaged record does
// not stop the server (nor every other key) from working: a request with that
// key, or with a key in that plan, is refused as one with a key that is not
// known or in no plan of the stage, never let through unmetered. Each such
// record is logged at error level, naming it and the delete that removes it,
// when a rebuild (or a patch) first finds it.
func (s *Service) reindex(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rebuildLocked(ctx)
}

// rebuildLocked is reindex with s.mu held.
func (s *Service) rebuildLocked(ctx context.Context) error {
	ix, err := s.load(ctx)
	if err != nil {
		return err
	}
	s.publish(ix)
	return nil
}

// load reads a new index from the store.
func (s *Service) load(ctx context.Context) (*index, error) {
	ix := newIndex()
	at := s.now()
	err := s.st.View(ctx, func(tx *store.Tx) error {
		if err := tx.ForEach(bucketKeys, "", func(id string, raw []byte) error {
			ix.setKey(id, raw)
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEach(bucketPlans, "", func(id string, raw []byte) error {
			s.setPlan(ix, nil, id, raw, at)
			return nil
		})
	})
	return ix, err
}

// setKey adds the key stored as id, raw (nil: none), to ix.
func (ix *index) setKey(id string, raw []byte) {
	if raw == nil {
		return
	}
	k := new(APIKey)
	if jsonUnmarshal(raw, k) != nil {
		ix.damaged[bucketKeys+"/"+id] = true
		return
	}
	h := hashValue(k.Value)
	if ix.byHash[h] != nil {
		ix.overlap = true
	}
	ix.byHash[h], ix.byID[id] = k, k
}

// dropKey takes the key stored as id out of ix.
func (ix *index) dropKey(id string) {
	delete(ix.damaged, bucketKeys+"/"+id)
	k := ix.byID[id]
	if k == nil {
		return
	}
	delete(ix.byID, id)
	if h := hashValue(k.Value); ix.byHash[h] == k {
		delete(ix.byHash, h)
	}
}

// setPlan adds the plan stored as id, raw (nil: none), to ix. old is the
// index ix was copied from (nil in a rebuild): an entry of a key whose plan
// and stage limits are as old has them keeps old's buckets and counter
// without asking the limiter and counters again (which would return the
// same), so that a plan's write costs one small allocation per key.
func (s *Service) setPlan(ix, old *index, id string, raw []byte, at time.Time) {
	if raw == nil {
		return
	}
	p := new(Plan)
	if jsonUnmarshal(raw, p) != nil {
		ix.damaged[bucketPlans+"/"+id] = true
		return
	}
	ix.planByID[id] = p
	var was *Plan
	if old != nil {
		was = old.planByID[id]
	}
	for i := range p.APIStages {
		as := &p.APIStages[i]
		ix.apiIDs[as.APIID]++
		same := was != nil && was.ID == p.ID && reflect.DeepEqual(was.Throttle, p.Throttle) &&
			slices.ContainsFunc(was.APIStages, func(w APIStage) bool {
				return w.APIID == as.APIID && w.Stage == as.Stage && reflect.DeepEqual(w.Throttle, as.Throttle)
			})
		for _, kid := range p.KeyIDs {
			ref := planRef{kid, as.APIID, as.Stage}
			if cur := ix.plans[ref]; cur != nil && cur.plan != p {
				ix.overlap = true
			}
			if kp := old.entry(ref); same && kp != nil && kp.plan == was {
				e := *kp
				e.plan = p
				ix.plans[ref] = &e
				continue
			}
			ix.plans[ref] = s.keyPlanFor(p, as, kid, at)
		}
	}
}

// entry returns ix's entry of ref; nil for a nil ix.
func (ix *index) entry(ref planRef) *keyPlan {
	if ix == nil {
		return nil
	}
	return ix.plans[ref]
}

// dropPlan takes the plan stored as id out of ix.
func (ix *index) dropPlan(id string) {
	delete(ix.damaged, bucketPlans+"/"+id)
	p := ix.planByID[id]
	if p == nil {
		return
	}
	delete(ix.planByID, id)
	for _, as := range p.APIStages {
		if ix.apiIDs[as.APIID]--; ix.apiIDs[as.APIID] <= 0 {
			delete(ix.apiIDs, as.APIID)
		}
		for _, kid := range p.KeyIDs {
			ref := planRef{kid, as.APIID, as.Stage}
			if kp := ix.plans[ref]; kp != nil && kp.plan == p {
				delete(ix.plans, ref)
			}
		}
	}
}

// publish logs the damaged records ix finds that the index before it did not
// and makes ix the index.
func (s *Service) publish(ix *index) {
	var before map[string]bool
	if old := s.index.Load(); old != nil {
		before = old.damaged
	}
	for rec := range ix.damaged {
		if !before[rec] {
			bucket, id, _ := strings.Cut(rec, "/")
			s.log.Error("a stored API key or usage plan record is damaged (it does not decode): it is left out, and requests with its key, or with the keys of its plan, are refused with 403; delete it, or restore portico.db from a backup (docs/operations.md#backups)",
				"record", rec, "delete", DamagedDelete(bucket, id))
		}
	}
	s.index.Store(ix)
}

// maxPatch is the number of key and plan records a write may change beyond
// which the index is rebuilt rather than patched (an import of many keys):
// past it, copying the index and patching each costs about a rebuild.
func maxPatch(ix *index) int { return 64 + (len(ix.byID)+len(ix.planByID))/4 }

// patch brings the index up to date with the key records keyIDs and plan
// records planIDs, which a committed transaction wrote or deleted: it
// reads only those, in a View begun now, and publishes a copy of the index
// with them replaced. Every write in this package is followed by one, under
// s.mu, so that whatever order two writes' patches run in, each reads a
// record as of after its own write, and the last to read a record reads it
// as the last write to it left it: the index ends as the committed state,
// which a rebuild would read. An index with an overlap, or a write of more
// records than maxPatch, is rebuilt.
func (s *Service) patch(ctx context.Context, keyIDs, planIDs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.index.Load()
	if len(keyIDs) == 0 && len(planIDs) == 0 {
		return nil
	}
	if old.overlap || len(keyIDs)+len(planIDs) > maxPatch(old) {
		return s.rebuildLocked(ctx)
	}
	keys, plans := make([][]byte, len(keyIDs)), make([][]byte, len(planIDs))
	err := s.st.View(ctx, func(tx *store.Tx) error {
		for i, id := range keyIDs {
			if keys[i] = getRaw(tx, bucketKeys, id); keys[i] == nil && tx.Has(bucketKeys, id) {
				keys[i] = []byte("damaged")
			}
		}
		for i, id := range planIDs {
			if plans[i] = getRaw(tx, bucketPlans, id); plans[i] == nil && tx.Has(bucketPlans, id) {
				plans[i] = []byte("damaged")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A copy of old: the maps a write does not change are shared.
	ix := *old
	ix.damaged = maps.Clone(old.damaged)
	if len(keyIDs) > 0 {
		ix.byHash, ix.byID = maps.Clone(old.byHash), maps.Clone(old.byID)
		for i, id := range keyIDs {
			ix.dropKey(id)
			ix.setKey(id, keys[i])
		}
	}
	if len(planIDs) > 0 {
		ix.plans, ix.planByID, ix.apiIDs = maps.Clone(old.plans), maps.Clone(old.planByID), maps.Clone(old.apiIDs)
		for _, id := range planIDs {
			ix.dropPlan(id)
		}
		at := s.now()
		for i, id := range planIDs {
			s.setPlan(&ix, old, id, plans[i], at)
		}
	}
	if ix.overlap {
		// Which of the overlapping records wins is the rebuild's to say.
		return s.rebuildLocked(ctx)
	}
	s.publish(&ix)
	return nil
}

// getRaw returns the stored JSON of bucket/id, nil when there is none or it
// is not JSON (which Has tells apart).
func getRaw(tx *store.Tx, bucket, id string) []byte {
	var raw json.RawMessage
	if tx.Get(bucket, id, &raw) != nil {
		return nil
	}
	return raw
}

// DamagedDelete is the admin API request that removes the key or plan whose
// stored record bucket/id (a *store.RecordError's Bucket and Key) does not
// decode, without reading it; "" for a record of any other bucket.
func DamagedDelete(bucket, id string) string {
	switch bucket {
	case bucketKeys:
		return "DELETE /apikeys/" + id + " (aws apigateway delete-api-key --api-key " + id + ")"
	case bucketPlans:
		return "DELETE /usageplans/" + id + " (aws apigateway delete-usage-plan --usage-plan-id " + id + ")"
	case bucketCounts, bucketDays:
		// plan id + "/" + key id [+ "/" + day]: only the plan's delete
		// removes its counts
		plan, _, _ := strings.Cut(id, "/")
		return "DELETE /usageplans/" + plan + " (aws apigateway delete-usage-plan --usage-plan-id " + plan +
			"), which removes the plan with its counts (create it again after)"
	}
	return ""
}

// forEachSound is forEach for the index: a record that does not decode is
// added to damaged ("bucket/key") and skipped.
func forEachSound[T any](tx *store.Tx, bucket string, damaged map[string]bool, fn func(*T)) error {
	return tx.ForEach(bucket, "", func(key string, raw []byte) error {
		v := new(T)
		if err := jsonUnmarshal(raw, v); err != nil {
			damaged[bucket+"/"+key] = true
			return nil
		}
		fn(v)
		return nil
	})
}

func forEach[T any](tx *store.Tx, bucket string, fn func(*T)) error {
	return tx.ForEach(bucket, "", func(_ string, raw []byte) error {
		v := new(T)
		if err := jsonUnmarshal(raw, v); err != nil {
			return err
		}
		fn(v)
		return nil
	})
}

// update runs fn in a write transaction and, once it has committed, patches
// the index with the key and plan records it wrote (the store records each
// Put and Delete: no write of fn can be missed). The index is brought up to
// date even when the caller has gone (ctx done) or the write is not
// acknowledged (the store's file moved after it committed): the key stage
// must not go on admitting a key the store says is disabled or out of its
// plan.
func (s *Service) update(ctx context.Context, fn func(tx *store.Tx) error) error {
	var wrote *store.Tx
	committed := false
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		tx.Track(bucketKeys, bucketPlans)
		wrote = tx
		tx.OnCommit(func() { committed = true })
		return fn(tx)
	})
	if !committed {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	if perr := s.patch(ctx, wrote.Written(bucketKeys), wrote.Written(bucketPlans)); perr != nil {
		s.log.Error("usage index update failed; rebuilding it", "err", perr)
		if rerr := s.reindex(ctx); rerr != nil {
			s.log.Error("usage index rebuild failed; the key stage reads the previous one", "err", rerr)
			return cmp.Or(err, rerr)
		}
	}
	return err
}

const idAlphabet = ids.Lowercase36
const valueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int, alphabet string) string { return ids.FromAlphabet(alphabet, n) }

// KeyInput creates a key. A nil Value generates one (CreateKey generates one
// for an empty Value too, as create-api-key does: Terraform's
// aws_api_gateway_api_key without a value sends ""); a nil Enabled makes a
// disabled key, as AWS does.
type KeyInput struct {
	Name        string
	Description string
	Value       *string
	Enabled     *bool
	CustomerID  string
	Tags        map[string]string
}

func validKeyValue(v string) error {
	if len(v) < MinKeyValue || len(v) > MaxKeyValue {
		return invalid("API Key value should be at least %d characters and at most %d", MinKeyValue, MaxKeyValue)
	}
	for _, r := range v {
		if r <= ' ' || r > '~' || r == ',' {
			return invalid("API Key value must be printable ASCII without spaces or commas")
		}
	}
	return nil
}

// checkKeyText refuses a key's name, description or customerId over its
// limit: each is stored whole and returned in every listing of the keys.
func checkKeyText(name, description, customerID string) error {
	if len(name) > MaxName || len(description) > MaxDescription {
		return invalid("API Key name or description is too long")
	}
	if len(customerID) > MaxCustomerID {
		return invalid("API Key customerId is too long: at most %d characters", MaxCustomerID)
	}
	return nil
}

// newKey validates in and returns the key it makes.
func (s *Service) newKey(in KeyInput) (*APIKey, error) {
	if err := checkKeyText(in.Name, in.Description, in.CustomerID); err != nil {
		return nil, err
	}
	if err := apis.ValidateTags(in.Tags); err != nil {
		return nil, err
	}
	k := &APIKey{ID: randomString(10, idAlphabet), Name: in.Name, Description: in.Description, CustomerID: in.CustomerID,
		Tags: nilIfEmpty(maps.Clone(in.Tags))}
	if in.Value != nil {
		if err := validKeyValue(*in.Value); err != nil {
			return nil, err
		}
		k.Value = *in.Value
	} else {
		k.Value = randomString(GeneratedKeyValue, valueAlphabet)
	}
	if k.Name == "" {
		k.Name = k.ID
	}
	if in.Enabled != nil {
		k.Enabled = *in.Enabled
	}
	k.CreatedAt = s.now()
	k.UpdatedAt = k.CreatedAt
	return k, nil
}

// putNewKey stores k, refusing a value another key has.
func putNewKey(tx *store.Tx, k *APIKey) error {
	h := hashValue(k.Value)
	hk := hex.EncodeToString(h[:])
	if tx.Has(bucketValues, hk) {
		return conflict("API Key already exists")
	}
	if err := tx.Put(bucketValues, hk, k.ID); err != nil {
		return err
	}
	return tx.Put(bucketKeys, k.ID, k)
}

// CreateKey creates an API key.
func (s *Service) CreateKey(ctx context.Context, in KeyInput) (*APIKey, error) {
	if in.Value != nil && *in.Value == "" {
		in.Value = nil
	}
	k, err := s.newKey(in)
	if err != nil {
		return nil, err
	}
	if err := s.update(ctx, func(tx *store.Tx) error { return putNewKey(tx, k) }); err != nil {
		return nil, err
	}
	return k, nil
}

func getKey(tx *store.Tx, id string, k *APIKey) error {
	return get(tx, bucketKeys, id, k, "Invalid API Key identifier specified")
}

// GetKey returns a key.
func (s *Service) GetKey(ctx context.Context, id string) (*APIKey, error) {
	var k APIKey
	if err := s.st.View(ctx, func(tx *store.Tx) error { return getKey(tx, id, &k) }); err != nil {
		return nil, err
	}
	return &k, nil
}

// ListKeys returns the keys whose name starts with nameQuery (all when empty)
// and, when customerID is set, whose customer id is it, sorted by name then id.
func (s *Service) ListKeys(ctx context.Context, nameQuery, customerID string) ([]*APIKey, error) {
	var out []*APIKey
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return forEach(tx, bucketKeys, func(k *APIKey) {
			if strings.HasPrefix(k.Name, nameQuery) && (customerID == "" || k.CustomerID == customerID) {
				out = append(out, k)
			}
		})
	})
	slices.SortFunc(out, func(a, b *APIKey) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) })
	return out, err
}

// KeyPatch changes a key; nil fields stay.
type KeyPatch struct {
	Name, Description, CustomerID *string
	Enabled                       *bool
}

// UpdateKey applies p to a key.
func (s *Service) UpdateKey(ctx context.Context, id string, p KeyPatch) (*APIKey, error) {
	var k APIKey
	err := s.update(ctx, func(tx *store.Tx) error {
		if err := getKey(tx, id, &k); err != nil {
			return err
		}
		if p.Name != nil {
			k.Name = *p.Name
		}
		if p.Description != nil {
			k.Description = *p.Description
		}
		if p.CustomerID != nil {
			k.CustomerID = *p.CustomerID
		}
		if p.Enabled != nil {
			k.Enabled = *p.Enabled
		}
		if err := checkKeyText(k.Name, k.Description, k.CustomerID); err != nil {
			return err
		}
		k.UpdatedAt = s.now()
		return tx.Put(bucketKeys, k.ID, &k)
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// TagKey adds the tags in set to key id and removes those named in unset, in
// one transaction.
func (s *Service) TagKey(ctx context.Context, id string, set map[string]string, unset []string) (*APIKey, error) {
	var k APIKey
	err := s.update(ctx, func(tx *store.Tx) error {
		if err := getKey(tx, id, &k); err != nil {
			return err
		}
		t, err := apis.MergeTags(k.Tags, set, unset)
		if err != nil {
			return err
		}
		k.Tags = t
		return tx.Put(bucketKeys, k.ID, &k)
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// TagPlan adds the tags in set to plan id and removes those named in unset,
// in one transaction.
func (s *Service) TagPlan(ctx context.Context, id string, set map[string]string, unset []string) (*Plan, error) {
	return s.UpdatePlan(ctx, id, func(p *Plan) error {
		t, err := apis.MergeTags(p.Tags, set, unset)
		p.Tags = t
		return err
	})
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// DeleteKey deletes a key and detaches it from its plans.
func (s *Service) DeleteKey(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *store.Tx) error {
		var k APIKey
		if err := getKey(tx, id, &k); err != nil {
			if !isDamaged(err, bucketKeys, id) {
				return err
			}
			// Its record does not decode: it is deleted without reading
			// it, its value's entry found by the id it holds, so that one
			// damaged record can be got rid of without a restore.
			s.log.Warn("deleting an API key whose stored record is damaged, without reading it", "key", id, "err", err)
			if err := deleteValueOf(tx, id); err != nil {
				return err
			}
		} else {
			h := hashValue(k.Value)
			if err := tx.Delete(bucketValues, hex.EncodeToString(h[:])); err != nil {
				return err
			}
		}
		// A plan whose record does not decode is passed over: it admits
		// no key, and its own DELETE removes it.
		var plans []*Plan
		if err := forEachSound(tx, bucketPlans, map[string]bool{}, func(p *Plan) {
			if slices.Contains(p.KeyIDs, id) {
				plans = append(plans, p)
			}
		}); err != nil {
			return err
		}
		for _, p := range plans {
			p.KeyIDs = slices.DeleteFunc(p.KeyIDs, func(x string) bool { return x == id })
			if err := tx.Put(bucketPlans, p.ID, p); err != nil {
				return err
			}
		}
		return tx.Delete(bucketKeys, id)
	})
}

// deleteValueOf deletes the value entries that point at key id.
func deleteValueOf(tx *store.Tx, id string) error {
	var hashes []string
	if err := tx.ForEach(bucketValues, "", func(h string, raw []byte) error {
		var kid string
		if jsonUnmarshal(raw, &kid) == nil && kid == id {
			hashes = append(hashes, h)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, h := range hashes {
		if err := tx.Delete(bucketValues, h); err != nil {
			return err
		}
	}
	return nil
}

// isDamaged reports whether err is the read of bucket/key's own stored record
// that does not decode.
func isDamaged(err error, bucket, key string) bool {
	var d *store.RecordError
	return errors.As(err, &d) && d.Bucket == bucket && d.Key == key
}

// KeyStages returns "apiId/stage" of every stage a key's plans cover, sorted.
func (s *Service) KeyStages(keyID string) []string {
	ix := s.index.Load()
	var out []string
	for ref := range ix.plans {
		if ref.keyID == keyID {
			out = append(out, ref.apiID+"/"+ref.stage)
		}
	}
	sort.Strings(out)
	return out
}

// lookup finds the key whose value is v, comparing in constant time.
func (ix *index) lookup(v string) *APIKey {
	if len(v) > MaxKeyValue {
		return nil
	}
	var buf [MaxKeyValue]byte // hashed from the stack: no allocation per request
	n := copy(buf[:], v)
	k := ix.byHash[sha256.Sum256(buf[:n])]
	if k == nil || !constantTimeEqual(k.Value, v) {
		return nil
	}
	return k
}
