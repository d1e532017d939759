package usage

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// Counters keep the quota counts of each key in each plan. The in-process Counts
// is the default; a shared implementation (Redis with atomic scripts, for several
// gateway nodes) can replace it without touching the stage. Implementations are
// safe for concurrent use.
type Counters interface {
	// Counter returns the counter of a key in a plan, the same one for the same
	// pair for the Counters' lifetime.
	Counter(planID, keyID string) Counter
}

// Counter counts one key's requests in one plan.
type Counter interface {
	// Take counts one request at now and reports whether it was admitted: under
	// quota q (nil: no quota, always admitted), at most q.Limit requests are
	// admitted per period, however many arrive at once.
	Take(now time.Time, q *Quota) (bool, error)
}

// DayUsage is one key's usage on one day (UTC) as stored: the requests counted
// that day, and the counter as it stood after the day's last change (its period
// start and count), from which GetUsage tells the quota left at the end of the
// day under the plan's current quota. Records written before the counter was
// kept (they hold only the requests) have a zero PeriodStart.
type DayUsage struct {
	Used        int64     `json:"used"`
	PeriodStart time.Time `json:"periodStart,omitzero"`
	PeriodUsed  int64     `json:"periodUsed"`
}

// dayDelta is what changed on one day since the last flush: the requests
// counted (added to the stored count) and, when set, the counter after the
// day's last change (replacing the stored one).
type dayDelta struct {
	used        int64
	set         bool
	periodStart time.Time
	periodUsed  int64
}

// snapshot records the counter in d; c.mu is held.
func (c *counter) snapshot(d *dayDelta) {
	d.set, d.periodStart, d.periodUsed = true, c.periodStart, c.used
}

// countRecord is a counter as stored.
type countRecord struct {
	PeriodStart time.Time `json:"periodStart"`
	Used        int64     `json:"used"`
}

// Counts is the in-process Counters: counts in memory, written through to the
// store by Flush (every second under Run, and at shutdown), so that a crash
// loses at most the last second of counting and never resets a quota. Safe for
// concurrent use.
type Counts struct {
	st  *store.Store
	log *slog.Logger
	m   sync.Map // plan id + "/" + key id -> *counter
	// update is st.Update; tests put a seam here.
	update func(context.Context, func(*store.Tx) error) error
	// inflight is read-held by each flush from taking the counts until its
	// transaction has ended: a flush with nothing to write waits for those
	// (Lock), so that whoever flushed to read the store reads every count
	// taken before.
	inflight sync.RWMutex
}

var _ Counters = (*Counts)(nil)

// NewCounts returns counters persisted in st.
func NewCounts(st *store.Store, log *slog.Logger) *Counts {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Counts{st: st, log: log, update: st.Update}
}

// counter is one key's count in one plan.
type counter struct {
	c      *Counts
	planID string
	keyID  string

	mu          sync.Mutex
	loaded      bool
	periodStart time.Time
	used        int64
	dirty       bool
	// days holds what changed per day since the last flush.
	days map[string]*dayDelta
	// today caches the day key of the last request (from midnight UTC).
	todayStart time.Time
	todayKey   string
}

// Counter implements Counters.
func (cs *Counts) Counter(planID, keyID string) Counter { return cs.counter(planID, keyID) }

func (cs *Counts) counter(planID, keyID string) *counter {
	k := planID + "/" + keyID
	if v, ok := cs.m.Load(k); ok {
		return v.(*counter)
	}
	v, _ := cs.m.LoadOrStore(k, &counter{c: cs, planID: planID, keyID: keyID})
	return v.(*counter)
}

// load reads the stored count once; c.mu is held.
func (c *counter) load() error {
	if c.loaded {
		return nil
	}
	var rec countRecord
	err := c.c.st.View(context.Background(), func(tx *store.Tx) error {
		return tx.Get(bucketCounts, c.planID+"/"+c.keyID, &rec)
	})
	if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	c.periodStart, c.used, c.loaded = rec.PeriodStart, rec.Used, true
	return nil
}

// roll starts a new period when now is past the current one; c.mu is held.
func (c *counter) roll(now time.Time, q *Quota) {
	if q == nil {
		return
	}
	if ps := q.PeriodStart(now); !ps.Equal(c.periodStart) {
		c.periodStart, c.used, c.dirty = ps, 0, true
	}
}

func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Take implements Counter.
func (c *counter) Take(now time.Time, q *Quota) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(); err != nil {
		return false, err
	}
	c.roll(now, q)
	if q != nil && c.used >= q.Limit {
		return false, nil
	}
	c.used++
	c.dirty = true
	d := c.day(now)
	d.used++
	c.snapshot(d)
	return true, nil
}

// day returns the pending record of now's day; c.mu is held.
func (c *counter) day(now time.Time) *dayDelta {
	if c.days == nil {
		c.days = map[string]*dayDelta{}
	}
	if now.Before(c.todayStart) || !now.Before(c.todayStart.Add(24*time.Hour)) {
		u := now.UTC()
		c.todayStart, c.todayKey = time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC), dayOf(u)
	}
	key := c.todayKey
	d := c.days[key]
	if d == nil {
		d = &dayDelta{}
		c.days[key] = d
	}
	return d
}

// SetRemaining sets the remaining quota of a key in a plan for the current
// period (UpdateUsage) and writes it through at once.
func (cs *Counts) SetRemaining(ctx context.Context, planID, keyID string, q *Quota, remaining int64, now time.Time) error {
	c := cs.counter(planID, keyID)
	c.mu.Lock()
	if err := c.load(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.roll(now, q)
	// A remaining above the limit is AWS's "temporary extension": the count
	// goes below zero, and the next period starts from the limit again.
	c.used = subSat(q.Limit, remaining)
	c.dirty = true
	c.snapshot(c.day(now))
	c.mu.Unlock()
	return cs.Flush(ctx)
}

// Remaining returns the quota left for a key in a plan at now: the limit less
// the count the next request is admitted against (below zero when the limit was
// lowered under the count).
func (cs *Counts) Remaining(planID, keyID string, q *Quota, now time.Time) (int64, error) {
	c := cs.counter(planID, keyID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(); err != nil {
		return 0, err
	}
	c.roll(now, q)
	return subSat(q.Limit, c.used), nil
}

// subSat is a - b, held at the bounds of int64 rather than wrapped: limits
// and counts written before they were bounded to 32 bits may be anything.
func subSat(a, b int64) int64 {
	d := a - b
	if (b > 0 && d > a) || (b < 0 && d < a) {
		if b > 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return d
}

// pending is one counter's unflushed state.
type pending struct {
	c    *counter
	rec  countRecord
	days map[string]*dayDelta
}

// Flush writes every changed count to the store in one transaction. On failure
// the changes stay pending for the next Flush.
//
// The changes are taken inside the store's write transaction, whose lock orders
// flushes: two flushes at once commit in the order they took their changes, so
// an older count never overwrites a newer one.
//
// A flush that finds nothing to write still waits for the flushes that have
// taken changes and not yet ended their transaction: when it returns, every
// count taken before it is in the store (or pending again, if that write
// failed).
func (cs *Counts) Flush(ctx context.Context) error {
	if !cs.anyPending() {
		// No write transaction (and no sync) when nothing changed; but a
		// flush under way may hold what changed, not yet committed.
		cs.inflight.Lock()
		cs.inflight.Unlock() //nolint:staticcheck // SA2001: waiting for the flushes in flight is the point
		return nil
	}
	var ps []pending
	held := false
	defer func() {
		if held {
			cs.inflight.RUnlock()
		}
	}()
	err := cs.update(ctx, func(tx *store.Tx) error {
		if !held {
			cs.inflight.RLock()
			held = true
		}
		ps = cs.takePending()
		for _, p := range ps {
			base := p.c.planID + "/" + p.c.keyID
			if err := tx.Put(bucketCounts, base, p.rec); err != nil {
				return err
			}
			for day, d := range p.days {
				var cur DayUsage
				if err := tx.Get(bucketDays, base+"/"+day, &cur); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
					return err
				}
				cur.Used += d.used
				if d.set {
					cur.PeriodStart, cur.PeriodUsed = d.periodStart, d.periodUsed
				}
				if err := tx.Put(bucketDays, base+"/"+day, cur); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		for _, p := range ps { // keep the changes for the next flush
			p.c.mu.Lock()
			p.c.dirty = true
			for day, d := range p.days {
				cur := p.c.day(mustParseDay(day))
				cur.used += d.used
				if !cur.set { // a newer change of the day keeps its counter
					cur.set, cur.periodStart, cur.periodUsed = d.set, d.periodStart, d.periodUsed
				}
			}
			p.c.mu.Unlock()
		}
		return err
	}
	return nil
}

// anyPending reports whether a counter has changes to write.
func (cs *Counts) anyPending() bool {
	found := false
	cs.m.Range(func(_, v any) bool {
		c := v.(*counter)
		c.mu.Lock()
		found = c.dirty || len(c.days) > 0
		c.mu.Unlock()
		return !found
	})
	return found
}

// takePending takes every counter's changes, leaving them clean.
func (cs *Counts) takePending() []pending {
	var ps []pending
	cs.m.Range(func(_, v any) bool {
		c := v.(*counter)
		c.mu.Lock()
		if c.dirty || len(c.days) > 0 {
			ps = append(ps, pending{c: c, rec: countRecord{PeriodStart: c.periodStart, Used: c.used}, days: c.days})
			c.dirty, c.days = false, nil
		}
		c.mu.Unlock()
		return true
	})
	return ps
}

func mustParseDay(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return t
}

// Run flushes every interval until ctx ends, then once more.
func (cs *Counts) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := cs.Flush(context.WithoutCancel(ctx)); err != nil {
				cs.log.Error("usage counts not written at stop", "err", err)
			}
			return
		case <-t.C:
			if err := cs.Flush(ctx); err != nil && ctx.Err() == nil {
				cs.log.Error("usage counts not written; retrying in a second", "err", err)
			}
		}
	}
}

// days returns the stored usage of a key in a plan by day.
func (cs *Counts) days(ctx context.Context, planID, keyID string) (map[string]DayUsage, error) {
	out := map[string]DayUsage{}
	prefix := planID + "/" + keyID + "/"
	err := cs.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucketDays, prefix, func(k string, raw []byte) error {
			var d DayUsage
			if err := json.Unmarshal(raw, &d); err != nil {
				return err
			}
			out[k[len(prefix):]] = d
			return nil
		})
	})
	return out, err
}

// forgetPlan drops the in-memory counters of a deleted plan.
func (cs *Counts) forgetPlan(planID string) {
	cs.m.Range(func(k, v any) bool {
		if c := v.(*counter); c.planID == planID {
			cs.m.Delete(k)
		}
		return true
	})
}
