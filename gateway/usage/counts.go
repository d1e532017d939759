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

// countRecord is a counter as stored. Reserved is the count reserved ahead
// of use for the period (see Counts): at most that many requests of it were
// admitted, however many Used says were written; ReservedDay is the day (UTC,
// YYYY-MM-DD) of the last reservation, to which a recovery counts the
// difference. Epoch is the generation of the count: each exact write (an
// update-usage reset, a graceful stop) starts a new one, and a reservation
// made in an older generation (from a count since replaced) is not stored.
type countRecord struct {
	PeriodStart time.Time `json:"periodStart"`
	Used        int64     `json:"used"`
	Reserved    int64     `json:"reserved,omitempty"`
	ReservedDay string    `json:"reservedDay,omitempty"`
	Epoch       int64     `json:"epoch,omitempty"`
}

// maxBlock caps how many requests one reservation covers ahead of use (what a
// crash can count that was never admitted).
const maxBlock = 4096

// Counts is the in-process Counters: counts in memory, written through to the
// store by Flush (every second under Run, and exactly at shutdown).
//
// No admitted request's count is lost to a crash: before a counter admits
// requests N+1..N+B of a period, the store durably holds "at most N+B were
// admitted" (a reservation, written ahead and asynchronously when the reserved
// headroom falls below half a block, in a write shared with other counters';
// a request waits only when the reservation has not landed yet). After a
// crash the counter resumes from the reservation: never less than what was
// admitted, at most one block more. B is about the last second of the key's
// traffic (at least 1, at most maxBlock and at most 1/quotaShare of the
// quota) and never past the quota. A flush that finds a key idle since the
// one before gives its reservation back (stores N as the reservation), so a
// crash counts an unused block only for the keys that took requests in about
// its last second or two. Safe for concurrent use.
type Counts struct {
	st  *store.Store
	log *slog.Logger
	m   sync.Map // plan id + "/" + key id -> *counter
	// update is st.Update and batch st.Batch; tests put seams here.
	update func(context.Context, func(*store.Tx) error) error
	batch  func(context.Context, func(*store.Tx) error) error
	// live, when set, reports in a write transaction whether a plan still
	// exists (the Service sets it): the counts of a deleted plan are not
	// written, so that a reservation or flush that commits after the plan's
	// delete leaves no count record behind (DeletePlan). Nil: every plan is.
	live func(tx *store.Tx, planID string) bool
	// inflight is read-held by each flush from taking the counts until its
	// transaction has ended: a flush with nothing to write waits for those
	// (Lock), so that whoever flushed to read the store reads every count
	// taken before.
	inflight sync.RWMutex
	// damaged holds the usage_days keys whose damage was logged.
	damaged sync.Map
}

var _ Counters = (*Counts)(nil)

// NewCounts returns counters persisted in st.
func NewCounts(st *store.Store, log *slog.Logger) *Counts {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Counting is the serving path's bookkeeping: it goes on on a full disk
	// while the store keeps its room for deletes (store.Essential).
	return &Counts{st: st, log: log,
		update: func(ctx context.Context, fn func(*store.Tx) error) error { return st.Update(store.Essential(ctx), fn) },
		batch:  func(ctx context.Context, fn func(*store.Tx) error) error { return st.Batch(store.Essential(ctx), fn) }}
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

	// durable is the reservation of the period that has landed in the store
	// (used never passes it); reservedDay is its day. inflight is the
	// reservation being written, if any.
	durable     int64
	reservedDay string
	inflight    *reservation
	// exact has the next flush store the count as the reservation (a graceful
	// stop, or UpdateUsage), rather than keep the higher stored one.
	exact bool
	// epoch is the count's generation (countRecord.Epoch): the flush that
	// takes an exact count starts a new one, so that a reservation begun
	// before it (sized from the count it replaces) neither raises durable
	// nor lands in the store after it.
	epoch int64
	// winStart, winCount and rate measure the traffic that sizes a block: the
	// requests of the window begun at winStart, and of the window before.
	winStart time.Time
	winCount int64
	rate     int64
}

// reservation is a reservation write in flight: done closes once it has
// landed (or failed, with err).
type reservation struct {
	done chan struct{}
	err  error
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

// load reads the stored count once, under q (nil: no quota); c.mu is held.
func (c *counter) load(q *Quota) error {
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
	c.durable, c.reservedDay, c.epoch = rec.Reserved, rec.ReservedDay, rec.Epoch
	reserved := rec.Reserved
	if q != nil && reserved > q.Limit {
		// Older builds reserved one past the quota (the request that
		// reached it reserved another): no more than the quota was
		// admitted, so no more is counted. A count written past it (the
		// limit lowered since) stays as it is.
		reserved = max(rec.Used, q.Limit)
	}
	if reserved > rec.Used {
		// A crash (no graceful flush) left admitted requests unwritten: count
		// the whole reservation, on the day it was made, so that neither the
		// quota nor get-usage forgets one.
		c.used, c.dirty = reserved, true
		d := c.day(mustParseDay(rec.ReservedDay))
		d.used += reserved - rec.Used
		c.snapshot(d)
	}
	return nil
}

// roll starts a new period when now is past the current one; c.mu is held.
func (c *counter) roll(now time.Time, q *Quota) {
	if q == nil {
		return
	}
	if ps := q.PeriodStart(now); !ps.Equal(c.periodStart) {
		c.periodStart, c.used, c.dirty, c.durable = ps, 0, true, 0
	}
}

func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Take implements Counter.
func (c *counter) Take(now time.Time, q *Quota) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(q); err != nil {
		return false, err
	}
	c.roll(now, q)
	if q != nil && c.used >= q.Limit {
		return false, nil
	}
	c.observe(now)
	for c.used >= c.durable {
		// Not reserved yet: wait for a reservation to land.
		r := c.inflight
		if r == nil {
			r = c.reserve(now, q)
		}
		c.mu.Unlock()
		<-r.done
		c.mu.Lock()
		if r.err != nil {
			return false, r.err
		}
		c.roll(now, q)
		if q != nil && c.used >= q.Limit {
			return false, nil
		}
	}
	c.used++
	c.dirty = true
	d := c.day(now)
	d.used++
	c.snapshot(d)
	if c.inflight == nil && c.durable-c.used < (c.block(q)+1)/2 && (q == nil || c.used < q.Limit) {
		// Nothing is reserved past the quota: the request that reaches
		// it reserves no more (a crash would count what it reserved).
		c.reserve(now, q)
	}
	return true, nil
}

// observe counts a request at now in the traffic windows; c.mu is held.
func (c *counter) observe(now time.Time) {
	if now.Before(c.winStart) || now.Sub(c.winStart) >= time.Second {
		c.rate, c.winStart, c.winCount = c.winCount, now, 0
	}
	c.winCount++
}

// quotaShare is the largest share of a quota one reservation covers (1/64,
// about 1.6%): what a crash can count of a small quota that was never
// admitted. A quota of at least 64*maxBlock is capped by maxBlock alone.
const quotaShare = 64

// block is how many requests a reservation covers: about the last second of
// traffic, at least 1, at most maxBlock and at most 1/quotaShare of q's
// limit; c.mu is held.
func (c *counter) block(q *Quota) int64 {
	b := min(max(c.rate, c.winCount, 1), maxBlock)
	if q != nil {
		b = min(b, max(q.Limit/quotaShare, 1))
	}
	return b
}

// reserve starts writing a reservation one block ahead of the count (but not
// past q's limit) and returns it; c.mu is held, no reservation is in
// flight, and the count is below q's limit. Once it has landed, durable
// follows it, unless the period has moved on or an exact count was taken
// since (a new epoch): then it is dropped, in the store too if the exact
// count landed first, and a request that needs one makes another.
func (c *counter) reserve(now time.Time, q *Quota) *reservation {
	target := c.used + c.block(q)
	if q != nil {
		target = min(target, q.Limit)
	}
	r := &reservation{done: make(chan struct{})}
	c.inflight = r
	ps, day, base, epoch := c.periodStart, dayOf(now), c.planID+"/"+c.keyID, c.epoch
	go func() {
		err := c.c.batch(context.Background(), func(tx *store.Tx) error {
			if !c.c.planLive(tx, c.planID) {
				return nil // deleted while the request was admitted: nothing to keep
			}
			var rec countRecord
			if err := tx.Get(bucketCounts, base, &rec); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
				return err
			}
			if rec.Epoch > epoch {
				// An exact count (update-usage) was stored since this was
				// sized: its old count must not come back.
				return nil
			}
			if !rec.PeriodStart.Equal(ps) {
				// The period's first write: what was stored is an older one's.
				rec = countRecord{PeriodStart: ps, Epoch: rec.Epoch}
			}
			if target <= rec.Reserved && rec.Epoch == epoch {
				return nil
			}
			rec.Reserved, rec.ReservedDay, rec.Epoch = target, day, epoch
			return tx.Put(bucketCounts, base, rec)
		})
		c.mu.Lock()
		r.err = err
		if err == nil && c.periodStart.Equal(ps) && c.epoch == epoch && target > c.durable {
			c.durable, c.reservedDay = target, day
		}
		c.inflight = nil
		close(r.done)
		c.mu.Unlock()
		switch {
		case errors.Is(err, errdefs.ErrUnavailable):
			// The store refuses writes (its data directory was moved):
			// it said so once, at error level, and the gateway logs each
			// request the key is then refused (503), so once is enough.
			c.c.log.Debug("usage count reservation not written", "plan", c.planID, "key", c.keyID, "err", err)
		case err != nil:
			c.c.log.Error("usage count reservation not written", "plan", c.planID, "key", c.keyID, "err", err)
		}
	}()
	return r
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
	if err := c.load(q); err != nil {
		c.mu.Unlock()
		return err
	}
	c.roll(now, q)
	// A remaining above the limit is AWS's "temporary extension": the count
	// goes below zero, and the next period starts from the limit again.
	c.used = subSat(q.Limit, remaining)
	c.dirty, c.exact = true, true
	c.durable = c.used
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
	if err := c.load(q); err != nil {
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

// pending is one counter's unflushed state; exact stores rec's reservation
// as it is, rather than keep a higher stored one.
type pending struct {
	c     *counter
	rec   countRecord
	days  map[string]*dayDelta
	exact bool
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
func (cs *Counts) Flush(ctx context.Context) error { return cs.flush(ctx, false) }

// flush is Flush; final (a graceful stop) stores every count exactly, its
// reservation included: nothing reserved ahead is counted after a restart.
func (cs *Counts) flush(ctx context.Context, final bool) error {
	if !cs.anyPending(final) {
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
		ps = cs.takePending(final)
		for _, p := range ps {
			if !cs.planLive(tx, p.c.planID) {
				continue // the plan was deleted, its counts with it
			}
			base := p.c.planID + "/" + p.c.keyID
			if !p.exact {
				// Keep a reservation that landed after the pending state was
				// taken (the counter's durable had not followed it yet).
				var stored countRecord
				if err := tx.Get(bucketCounts, base, &stored); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
					return err
				}
				if stored.PeriodStart.Equal(p.rec.PeriodStart) && stored.Epoch == p.rec.Epoch && stored.Reserved > p.rec.Reserved {
					p.rec.Reserved, p.rec.ReservedDay = stored.Reserved, stored.ReservedDay
				}
			}
			if err := tx.Put(bucketCounts, base, p.rec); err != nil {
				return err
			}
			for day, d := range p.days {
				var cur DayUsage
				err := tx.Get(bucketDays, base+"/"+day, &cur)
				if damaged := new(store.RecordError); errors.As(err, &damaged) {
					// Left as it is (get-usage names it): the quota's count
					// above and every other record are still written.
					cs.damagedDay(base+"/"+day, err)
					continue
				}
				if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
					return err
				}
				d.addTo(&cur)
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
			p.c.exact = p.c.exact || p.exact
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

// anyPending reports whether a counter has changes to write (with final, a
// reservation ahead of its count too).
func (cs *Counts) anyPending(final bool) bool {
	found := false
	cs.m.Range(func(_, v any) bool {
		c := v.(*counter)
		c.mu.Lock()
		found = c.pending(final)
		c.mu.Unlock()
		return !found
	})
	return found
}

// pending reports whether c has something to write; c.mu is held.
func (c *counter) pending(final bool) bool {
	return c.dirty || len(c.days) > 0 || (final && c.loaded && c.durable != c.used) || c.idle()
}

// idle reports whether c took no request since the last flush and still
// holds a reservation ahead of its count, none in flight: the flush then
// gives the reservation back (stores the count as it), so that a crash
// counts a block never used only for the keys that took requests in about
// its last second. c.mu is held.
//
// The count stays within the reservation invariant: the flush sets durable
// to the count under c.mu, so the key's next request waits for a new
// reservation, whose write (begun after the flush took the count, the flush's
// transaction then holding the store's write lock) commits after the flush's.
// With no reservation in flight, none sized before can land after it.
func (c *counter) idle() bool {
	return c.loaded && !c.dirty && len(c.days) == 0 && !c.exact && c.inflight == nil && c.durable > c.used
}

// takePending takes every counter's changes, leaving them clean. With final,
// each count is taken as exact, and its reservation given back: a request
// after it waits for a new one. A counter idle since the last flush (see
// idle) gives its reservation back too.
func (cs *Counts) takePending(final bool) []pending {
	var ps []pending
	cs.m.Range(func(_, v any) bool {
		c := v.(*counter)
		c.mu.Lock()
		if c.pending(final) {
			p := pending{c: c, days: c.days, exact: c.exact || final,
				rec: countRecord{PeriodStart: c.periodStart, Used: c.used, Reserved: c.durable, ReservedDay: c.reservedDay}}
			if !p.exact && c.idle() {
				// Idle since the last flush: give its reservation back. It
				// is stored as it is (no higher stored one kept: with none in
				// flight, the stored one is c.durable's); no new epoch, as no
				// reservation in flight needs dropping. Should the write
				// fail, the next flush takes the count as exact.
				p.exact = true
				p.rec.Reserved = c.used
				c.durable = c.used
			} else if p.exact {
				// A new epoch: a reservation in flight was sized from the
				// count this replaces, so it is dropped (see reserve); this
				// transaction orders it against the reservation's.
				c.epoch++
				p.rec.Reserved = c.used
				c.durable = c.used
			}
			p.rec.Epoch = c.epoch
			ps = append(ps, p)
			c.dirty, c.days, c.exact = false, nil, false
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
			cs.settle() // so that none lands after the exact counts
			if err := cs.flush(context.WithoutCancel(ctx), true); err != nil {
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

// settle waits for the reservations in flight to land (or fail).
func (cs *Counts) settle() {
	cs.m.Range(func(_, v any) bool {
		c := v.(*counter)
		c.mu.Lock()
		r := c.inflight
		c.mu.Unlock()
		if r != nil {
			<-r.done
		}
		return true
	})
}

// damagedDay logs, once per record, that the stored day k (plan/key/day)
// does not decode, so that its requests are not added to it.
func (cs *Counts) damagedDay(k string, err error) {
	if _, logged := cs.damaged.LoadOrStore(k, true); logged {
		return
	}
	cs.log.Error("usage count of a day not written: its stored record is damaged; "+
		DamagedDelete(bucketDays, k)+", or restore portico.db from a backup (docs/operations.md#backups)",
		"record", bucketDays+"/"+k, "err", err)
}

// addTo adds the change d to the stored day cur.
func (d *dayDelta) addTo(cur *DayUsage) {
	cur.Used += d.used
	if d.set {
		cur.PeriodStart, cur.PeriodUsed = d.periodStart, d.periodUsed
	}
}

// usage returns the usage of a key in a plan by day, with the changes not
// yet flushed, and the quota left under q at now (as Remaining; 0 when q is
// nil), both from one state of the counter: no request is counted in one and
// not the other, so that today's used and remaining never add up past the
// limit under traffic. A counter resumed from its reservation after a crash
// counts the reservation in both (see load).
func (cs *Counts) usage(ctx context.Context, planID, keyID string, q *Quota, now time.Time) (map[string]DayUsage, int64, error) {
	c := cs.counter(planID, keyID)
	c.mu.Lock()
	err := c.load(q)
	c.mu.Unlock()
	if err != nil {
		return nil, 0, err
	}
	// No flush takes the counter's changes, or has taken them and not yet
	// committed them, while the store is read: each count is then either in
	// the store or still in the counter, never in both or neither.
	cs.inflight.Lock()
	defer cs.inflight.Unlock()
	days, err := cs.days(ctx, planID, keyID)
	if err != nil {
		return nil, 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for day, d := range c.days {
		cur := days[day]
		d.addTo(&cur)
		days[day] = cur
	}
	if q == nil {
		return days, 0, nil
	}
	c.roll(now, q)
	return days, subSat(q.Limit, c.used), nil
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

// planLive reports whether planID still exists in tx (Counts.live).
func (cs *Counts) planLive(tx *store.Tx, planID string) bool {
	return cs.live == nil || cs.live(tx, planID)
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
