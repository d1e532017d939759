package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/store"
)

const bucketAsync = "async-invocations"

// bucketAsyncState holds, by the same key, what the attempts of a queued event
// changed (asyncState): a retry or a throttle writes that small record, never
// the event and its payload again (a 1 MB event throttled every few seconds
// was rewritten whole each time).
const bucketAsyncState = "async-invocation-state"

// asyncState is what an attempt changes of a queued event; where it is
// stored it overrides the event's own fields (an event never tried has none).
type asyncState struct {
	Attempt   int       `json:"attempt"`
	Throttles int       `json:"throttles,omitempty"`
	NotBefore time.Time `json:"notBefore"`
}

// MigrateEventState moves a store from schema version 11 to 12, in which a
// queued Event invocation's retries and backoff are kept in a bucket of their
// own (bucketAsyncState): nothing stored before is rewritten (an event
// without a state record reads its own fields). An older build would read the
// events without their state, and refuses the store.
var MigrateEventState = store.Migration{From: 11, Name: "queued Event invocations keep their retry state apart from the payload",
	Run: func(*store.Tx) error { return nil }}

// getEvent reads the event at key in tx with its state applied.
func getEvent(tx *store.Tx, key string, ev *asyncEvent) error {
	if err := tx.Get(bucketAsync, key, ev); err != nil {
		return err
	}
	var st asyncState
	switch err := tx.Get(bucketAsyncState, key, &st); {
	case err == nil:
		ev.Attempt, ev.Throttles, ev.NotBefore = st.Attempt, st.Throttles, st.NotBefore
	case !errors.Is(err, errdefs.ErrNotFound):
		return err
	}
	return nil
}

// deleteEvent deletes the event at key and its state in tx.
func deleteEvent(tx *store.Tx, key string) error {
	if err := tx.Delete(bucketAsync, key); err != nil {
		return err
	}
	return tx.Delete(bucketAsyncState, key)
}

// asyncMaxAge is how long an Event invocation is kept trying, as in Lambda,
// unless its function's event invoke configuration says less (eventLimits).
const asyncMaxAge = 6 * time.Hour

// asyncMaxBackoff caps the wait before a throttled Event invocation is tried
// again; the wait doubles from a second up to it (Lambda backs off up to five
// minutes).
const asyncMaxBackoff = 5 * time.Minute

// throttleBackoff is the wait after an Event invocation's nth throttle (n
// from 0): 1 s, 2 s, 4 s, ... up to asyncMaxBackoff.
func throttleBackoff(n int) time.Duration {
	return min(time.Second<<min(n, 16), asyncMaxBackoff)
}

// asyncEvent is one persisted Event invocation.
type asyncEvent struct {
	RequestID string          `json:"requestId"`
	Function  string          `json:"function"`
	Version   string          `json:"version"`
	Payload   json.RawMessage `json:"payload"`
	// InvokedARN is the ARN the caller used, kept for the run. The caller's
	// ClientContext is not kept: Lambda passes it to synchronous invocations
	// only.
	InvokedARN string `json:"invokedArn,omitempty"`
	// TraceID is the caller's trace (Request.TraceID), continued by every
	// attempt.
	TraceID string `json:"traceId,omitempty"`
	Attempt int    `json:"attempt"` // retries made so far
	// Throttles counts the times the event was throttled (or found no
	// sandbox), for the backoff; it takes nothing from the retries.
	Throttles int       `json:"throttles,omitempty"`
	NotBefore time.Time `json:"notBefore"`
	Enqueued  time.Time `json:"enqueued"`
	// Alias is the alias the event was invoked through when that alias was
	// a plain one (no additional version weights) at the 202: each attempt
	// runs on the version the alias names then, as on Lambda, where the
	// queued event names the alias; Version is the one it named at the 202,
	// the attempt's version once the alias is gone. An event sent through a
	// weighted alias keeps the version it was routed to when queued (Alias
	// empty). Schema 13.
	Alias string `json:"alias,omitempty"`
	// AliasLimits is the event invoke configuration of the alias the event
	// was invoked through, as it was at the 202, if the alias had one: the
	// event keeps it once the alias, and with it its configuration, is
	// deleted (eventLimits). Schema 13.
	AliasLimits *queuedLimits `json:"aliasLimits,omitempty"`
}

// queuedLimits is an event invoke configuration kept with a queued event.
type queuedLimits struct {
	RetryAttempts     int `json:"retryAttempts"`
	MaxEventAgeSecond int `json:"maxEventAgeSeconds"`
}

// eventAlias returns the alias ev was invoked through, "" when it was
// invoked through a version, $LATEST or the bare name.
func eventAlias(ev asyncEvent) string {
	ref, err := functions.ParseRef(ev.InvokedARN)
	if err != nil || ref.Name != ev.Function || ref.IsVersion() {
		return ""
	}
	return ref.Qualifier
}

// MigrateEventAlias moves a store from schema version 12 to 13, in which a
// queued Event invocation sent through a plain alias names the alias
// (asyncEvent.Alias) and runs on its version at each attempt, and one sent
// through an alias keeps the alias's event invoke configuration for when the
// alias is deleted (asyncEvent.AliasLimits): nothing stored
// before is rewritten (an event queued before keeps the version it was
// queued for). An older build would drop the field, and refuses the store.
var MigrateEventAlias = store.Migration{From: 12, Name: "queued Event invocations sent through a plain alias follow the alias, and keep the alias's event invoke configuration",
	Run: func(*store.Tx) error { return nil }}

// asyncQueue runs persisted Event invocations, each function's as many at
// once as its concurrency admits (dispatch), retrying a failed one twice
// (after AsyncRetryDelays) and a throttled one, with a growing backoff
// (throttleBackoff), until it is six hours old. It reads the invoker's clock.
// An event is deleted only once it has a final result, so a restart picks up
// whatever was queued or running.
type asyncQueue struct {
	i    *Invoker
	wake chan struct{}

	// runs counts the attempts in progress; their context ends once Stop
	// has stopped every sandbox (wait).
	runs      sync.WaitGroup
	runCtx    context.Context
	cancelRun context.CancelFunc

	mu      sync.Mutex
	running map[string]bool // the events whose attempt is in progress, by key
	// index holds what dispatch needs of every queued event, by key: its
	// function and when it is due, never its payload, which is read only
	// when its attempt starts (load). start rebuilds it from the store in
	// one pass; every change to the store's queue updates it after its
	// commit, under mu. An event deleted with its function (purgeEvents)
	// stays in it until its attempt finds it gone.
	index map[string]asyncMeta
	// faulted holds the events, by key, whose permanent fault
	// (permanentFault) was logged already: once per event, not per
	// attempt. Kept in memory (the store's records keep their shape): after
	// a restart an event's fault is said once more.
	faulted map[string]struct{}
	perFn   map[string]int // how many of them each function has
	// loads counts the events read whole (payload and all) from the store.
	loads  atomic.Int64
	stopCh chan struct{}
	done   chan struct{}
}

// asyncMeta is what the queue's dispatch needs of an event: no payload.
// Decoded from a stored asyncEvent, it skips the payload.
type asyncMeta struct {
	Function  string    `json:"function"`
	NotBefore time.Time `json:"notBefore"`
}

func newAsyncQueue(i *Invoker) *asyncQueue {
	q := &asyncQueue{i: i, wake: make(chan struct{}, 1), running: map[string]bool{}, perFn: map[string]int{},
		faulted: map[string]struct{}{}, index: map[string]asyncMeta{}}
	q.runCtx, q.cancelRun = context.WithCancel(context.Background())
	return q
}

// InvokeAsync persists an Event invocation of req.Function and returns its request
// id once it is durable; it runs later, retried twice on error. Of req, Payload
// and InvokedARN are kept; ClientContext is not (Lambda passes it to
// synchronous invocations only). A payload of more than MaxAsyncPayload bytes
// is refused with RequestTooLargeException.
func (i *Invoker) InvokeAsync(ctx context.Context, req Request) (string, error) {
	fn, payload := req.Function, req.Payload
	if fn == nil {
		return "", fmt.Errorf("invoke: no function: %w", errdefs.ErrInvalid)
	}
	if err := i.CheckAsyncPayload(int64(len(payload))); err != nil {
		return "", err
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !validJSON(payload) {
		return "", errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException", "Could not parse request body into json: the payload is not valid JSON")
	}
	now := i.clock.Now()
	ev := asyncEvent{RequestID: newID(), Function: fn.FunctionName, Version: fn.Version, Payload: payload,
		InvokedARN: req.InvokedARN, TraceID: req.TraceID, NotBefore: now, Enqueued: now}
	if alias := eventAlias(ev); alias != "" && i.p.Resolver != nil {
		// A plain alias is followed at each attempt; a weighted one's draw,
		// made by the caller (req.Function), holds for every attempt.
		shares, err := i.p.Resolver.Shares(ctx, functions.Ref{Name: ev.Function, Qualifier: alias})
		if err == nil && len(shares) == 1 {
			ev.Alias = alias
		}
	}
	if alias := eventAlias(ev); alias != "" {
		if src, ok := i.p.Functions.(EventInvokeConfigs); ok {
			if c, err := src.GetEventInvokeConfig(ctx, ev.Function, alias); err == nil {
				ev.AliasLimits = &queuedLimits{RetryAttempts: c.RetryAttempts(), MaxEventAgeSecond: int(c.MaxEventAge() / time.Second)}
			}
		}
	}
	// The key orders the queue by arrival: the wall clock's, which moves
	// between two arrivals even when the invoker's clock is a test's.
	key := fmt.Sprintf("%020d-%s", time.Now().UnixNano(), ev.RequestID)
	// Batched: concurrent callers' events share one commit and sync (each
	// still answered only once its event is durable).
	if err := i.p.Store.Batch(ctx, func(tx *store.Tx) error { return tx.Put(bucketAsync, key, ev) }); err != nil {
		return "", err
	}
	i.async.indexPut(key, ev)
	if i.obs != nil {
		i.obs.OnAsync(fn.FunctionName, AsyncQueued)
	}
	select {
	case i.async.wake <- struct{}{}:
	default:
	}
	return ev.RequestID, nil
}

// CheckAsyncPayload returns the error InvokeAsync answers a payload of n
// bytes with when n is over MaxAsyncPayload (RequestTooLargeException, in
// Lambda's words), nil otherwise. A caller that has the payload's size before
// its content checks it first, so that an over-size event is told it is too
// large whatever it holds, as a synchronous one over 6 MB is. Safe for
// concurrent use.
func (i *Invoker) CheckAsyncPayload(n int64) error {
	if n <= int64(i.p.Config.MaxAsyncPayload) {
		return nil
	}
	return errdefs.New(errdefs.ErrTooLarge, "RequestTooLargeException",
		fmt.Sprintf("%d byte payload is too large for the Event invocation type (limit %d bytes)",
			n, i.p.Config.MaxAsyncPayload))
}

func (q *asyncQueue) start() {
	q.rebuild()
	q.stopCh = make(chan struct{})
	q.done = make(chan struct{})
	go q.loop()
}

// stop stops the dispatch loop: no attempt starts after it; those in
// progress go on (see wait).
func (q *asyncQueue) stop() {
	select {
	case <-q.stopCh:
		return // stopped already
	default:
	}
	close(q.stopCh)
	<-q.done
}

// wait ends the context of the attempts still in progress (Stop has stopped
// their sandboxes by then) and waits until they have recorded what follows,
// or until ctx ends.
func (q *asyncQueue) wait(ctx context.Context) {
	q.cancelRun()
	done := make(chan struct{})
	go func() { q.runs.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (q *asyncQueue) loop() {
	defer close(q.done)
	for {
		next := q.dispatch()
		wait := time.Minute
		if !next.IsZero() {
			wait = max(next.Sub(q.i.clock.Now()), time.Millisecond)
		}
		stopTimer := q.i.clock.AfterFunc(wait, q.poke)
		// The clock may have moved between dispatch's reading and the
		// timer's: a timer set after the moment it was for (by a clock
		// that jumps, as a test's does) would wait a whole wait more.
		if !next.IsZero() && !q.i.clock.Now().Before(next) {
			q.poke()
		}
		select {
		case <-q.stopCh:
			stopTimer()
			return
		case <-q.wake:
		}
		stopTimer()
	}
}

// poke has the loop look at the queue again.
func (q *asyncQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// rebuild reads the index from the store, in one pass that keeps no
// payload. It holds mu throughout so that no change made to the queue by an
// attempt is lost between the read and the index's replacement.
func (q *asyncQueue) rebuild() {
	q.mu.Lock()
	defer q.mu.Unlock()
	index := map[string]asyncMeta{}
	_ = q.i.p.Store.View(context.Background(), func(tx *store.Tx) error {
		err := tx.ForEach(bucketAsync, "", func(key string, raw []byte) error {
			var m asyncMeta
			if json.Unmarshal(raw, &m) == nil {
				index[key] = m
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.ForEach(bucketAsyncState, "", func(key string, raw []byte) error {
			var st asyncState
			if m, ok := index[key]; ok && json.Unmarshal(raw, &st) == nil {
				m.NotBefore = st.NotBefore
				index[key] = m
			}
			return nil
		})
	})
	q.index = index
}

// indexPut records in the index the event at key, just committed.
func (q *asyncQueue) indexPut(key string, ev asyncEvent) {
	q.mu.Lock()
	q.index[key] = asyncMeta{Function: ev.Function, NotBefore: ev.NotBefore}
	q.mu.Unlock()
}

// load reads the whole event at key, payload included, for its attempt: an
// ErrNotFound when it is no longer queued (its function or version was
// deleted), a *store.RecordError when its record does not decode.
func (q *asyncQueue) load(key string) (ev asyncEvent, err error) {
	q.loads.Add(1)
	err = q.i.p.Store.View(context.Background(), func(tx *store.Tx) error { return getEvent(tx, key, &ev) })
	return ev, err
}

// dispatch starts every due event its function's concurrency admits and
// returns when the next not-yet-due event is due (zero if none). It reads
// the index only: an event's payload is read when its attempt starts.
func (q *asyncQueue) dispatch() time.Time {
	type item struct {
		key string
		fn  string
	}
	var due []item
	var next time.Time
	now := q.i.clock.Now()
	q.mu.Lock()
	for key, m := range q.index {
		if q.running[key] {
			continue
		}
		if m.NotBefore.After(now) {
			if next.IsZero() || m.NotBefore.Before(next) {
				next = m.NotBefore
			}
			continue
		}
		due = append(due, item{key, m.Function})
	}
	q.mu.Unlock()
	// In order of arrival (the keys sort so).
	sort.Slice(due, func(a, b int) bool { return due[a].key < due[b].key })
	// Each function's events run as many at once as its concurrency admits
	// (its reservation, or else the unreserved pool), all of them together
	// at most the account's: a slow function's events never hold back
	// another's. An event left waiting starts when one of its function's
	// attempts ends (which wakes the loop).
	limits := map[string]int{}
	for _, it := range due {
		if _, ok := limits[it.fn]; !ok {
			limits[it.fn] = max(q.i.slots.limitOf(it.fn), 1)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range due {
		fn := it.fn
		if len(q.running) >= q.i.p.Config.AccountConcurrency {
			break
		}
		if q.perFn[fn] >= limits[fn] {
			continue
		}
		// Only dispatch starts attempts, but one that ended since the read
		// above may have deleted its event or put it back for later.
		if m, ok := q.index[it.key]; !ok || q.running[it.key] || m.NotBefore.After(now) {
			continue
		}
		q.running[it.key] = true
		q.perFn[fn]++
		q.runs.Add(1)
		go func() {
			defer q.runs.Done()
			defer func() {
				q.mu.Lock()
				delete(q.running, it.key)
				if q.perFn[fn]--; q.perFn[fn] == 0 {
					delete(q.perFn, fn)
				}
				q.mu.Unlock()
				q.poke()
			}()
			q.start1(it.key)
		}()
	}
	return next
}

// start1 reads the event at key, payload and all, and makes its attempt.
func (q *asyncQueue) start1(key string) {
	ev, err := q.load(key)
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
		// Deleted with its function or version (purgeEvents), which
		// leaves the index to learn it here: gone, as the function is.
		q.forget(key)
		return
	case err != nil && q.runCtx.Err() != nil:
		return // the invoker stops: the event stays as it was
	case err != nil:
		// Damaged on disk: it cannot run.
		fn := q.indexed(key)
		q.i.log.Warn("dropping Event invocation: its stored record is damaged", "function", fn, "key", key, "err", err)
		q.dropped(fn)
		q.delete(key)
		return
	}
	q.run(key, ev)
}

// indexed returns the function of the event at key, as the index has it.
func (q *asyncQueue) indexed(key string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.index[key].Function
}

// run makes one attempt and records what follows from it.
func (q *asyncQueue) run(key string, ev asyncEvent) {
	i := q.i
	ctx := q.runCtx
	ev.Version = q.target(ctx, ev)
	log := i.log.With("function", ev.Function, "version", ev.Version, "requestId", ev.RequestID)
	cfg, err := i.p.Functions.Get(ctx, ev.Function, ev.Version)
	if errors.Is(err, errdefs.ErrNotFound) && eventAlias(ev) != "" && i.p.Resolver != nil {
		// The version a weighted alias routed it to was deleted since
		// (purgeEvents keeps the events sent through an alias): it runs
		// on what the alias routes to now.
		if v, ok := q.aliasTarget(ctx, ev.Function, eventAlias(ev)); ok {
			log.Info("Event invocation's version was deleted; it runs on its alias's version", "aliasVersion", v)
			ev.Version = v
			log = i.log.With("function", ev.Function, "version", ev.Version, "requestId", ev.RequestID)
			cfg, err = i.p.Functions.Get(ctx, ev.Function, ev.Version)
		}
	}
	if err != nil && ctx.Err() != nil {
		return // the invoker stops: the event stays as it was
	}
	if err == nil && !q.queued(key) {
		// Its function or version was deleted (purgeEvents) after the queue
		// read it: cfg may be a function created since under the name.
		log.Warn("dropping Event invocation: function version is gone")
		q.dropped(ev.Function)
		q.forget(key)
		return
	}
	if err != nil {
		log.Warn("dropping Event invocation: function version is gone", "err", err)
		q.dropped(ev.Function)
		q.delete(key)
		return
	}
	retries, maxAge := i.eventLimits(ctx, ev)
	if age := i.since(ev.Enqueued); age > maxAge {
		// The age rounded up to the millisecond: one just past a maximum of
		// whole seconds reads as older than it (1m0.001s), not equal.
		log.Warn("dropping Event invocation: older than its maximum event age",
			"age", (age + time.Millisecond - 1).Truncate(time.Millisecond), "maximumEventAge", maxAge)
		q.dropped(ev.Function)
		q.delete(key)
		return
	}
	if ev.Attempt > retries {
		// MaximumRetryAttempts was lowered while this retry waited: the
		// event has had all the attempts it allows now, and is dropped as
		// one whose last retry failed is (Portico has no on-failure
		// destination to send it to).
		log.Warn("dropping Event invocation: its MaximumRetryAttempts, lowered since its last attempt, allows no more retries",
			"attempts", ev.Attempt, "maximumRetryAttempts", retries)
		q.dropped(ev.Function)
		q.delete(key)
		return
	}
	res, err := i.Invoke(ctx, Request{Function: cfg, Payload: ev.Payload, RequestID: ev.RequestID,
		InvokedARN: ev.InvokedARN, TraceID: ev.TraceID, event: true})
	permanent := err != nil && permanentFault(err)
	switch {
	case err == nil && res.FunctionError == "":
		q.delete(key)
		return
	case i.cutOff(res, err):
		// Portico's own shutdown ended the attempt, or kept it from
		// starting: that is no attempt of the function's. The event stays
		// as it was, to run at once after the restart (at-least-once).
		log.Info("Event invocation cut off by the shutdown; it runs again after the restart")
		return
	case errors.Is(err, errdefs.ErrNotFound):
		// Deleted while the event waited for a slot: dropped, as the events
		// found gone above.
		log.Warn("dropping Event invocation: function version is gone", "err", err)
		q.dropped(ev.Function)
		q.delete(key)
		return
	case err != nil && !permanent && (errdefs.IsKind(err) && (isThrottle(err) || isUnavailable(err))):
		if i.since(ev.Enqueued) > maxAge {
			log.Warn("dropping Event invocation: still throttled at its maximum event age", "maximumEventAge", maxAge, "err", err)
			q.dropped(ev.Function)
			q.delete(key)
			return
		}
		ev.NotBefore = i.clock.Now().Add(throttleBackoff(ev.Throttles))
		ev.Throttles++
		_ = q.put(key, ev)
		return
	}
	if permanent && q.firstFault(key) {
		// No wait cures it, so it is a failed attempt, not a throttle; said
		// once per event, in the server's log and the function's.
		log.Warn("Event invocation cannot run; counted as a failed attempt, retried up to the function's MaximumRetryAttempts",
			"attempt", ev.Attempt+1, "maximumRetryAttempts", retries, "err", err)
		i.logs.get(ev.Function).writeFrame([]byte(fmt.Sprintf("ERROR Event invocation RequestId: %s could not run (attempt %d of %d): %s\n",
			ev.RequestID, ev.Attempt+1, retries+1, clientMessage(err))))
	}
	if ev.Attempt >= retries {
		log.Warn("Event invocation failed after retries; dropping it", "attempts", ev.Attempt+1)
		q.dropped(ev.Function)
		q.delete(key)
		return
	}
	ev.NotBefore = i.clock.Now().Add(i.p.Config.AsyncRetryDelays[ev.Attempt])
	ev.Attempt++
	if !q.put(key, ev) {
		return
	}
	log.Info("Event invocation failed; will retry", "attempt", ev.Attempt, "at", ev.NotBefore)
	if i.obs != nil {
		i.obs.OnAsync(ev.Function, AsyncRetried)
	}
}

// target returns the version an attempt of ev runs: for an event sent
// through a plain alias, the version the alias routes to now (its version
// when queued once the alias is gone); else the version it was queued for.
func (q *asyncQueue) target(ctx context.Context, ev asyncEvent) string {
	if ev.Alias == "" || q.i.p.Resolver == nil {
		return ev.Version
	}
	if v, ok := q.aliasTarget(ctx, ev.Function, ev.Alias); ok {
		return v
	}
	return ev.Version
}

// aliasTarget returns the version a call to alias of function fn runs now
// (by weight, when the alias has an additional version), and false when the
// alias cannot be read (it is gone).
func (q *asyncQueue) aliasTarget(ctx context.Context, fn, alias string) (string, bool) {
	shares, err := q.i.p.Resolver.Shares(ctx, functions.Ref{Name: fn, Qualifier: alias})
	if err != nil || len(shares) == 0 {
		return "", false
	}
	pick := shares[0]
	if len(shares) > 1 && rand.Float64() < shares[1].Weight { //nolint:gosec // G404: a traffic split, not a secret
		pick = shares[1]
	}
	return pick.Config.Version, true
}

// permanentFault reports whether err, an Event attempt's, is a fault that no
// wait cures, unlike a throttle or a daemon that does not answer: the image is
// gone from the host (runtimes.ImageGoneError) or cannot run (no ENTRYPOINT,
// not on the host and not pullable: ErrInvalid).
func permanentFault(err error) bool {
	var gone *runtimes.ImageGoneError
	return errors.As(err, &gone) || errors.Is(err, errdefs.ErrInvalid)
}

// clientMessage is what a caller would be told of err: its kind's message
// when it has one (errdefs.Kinded), else err's own.
func clientMessage(err error) string {
	var k *errdefs.Kinded
	if errors.As(err, &k) {
		return k.Message
	}
	return err.Error()
}

// dropped tells the observer that an Event invocation of fn was dropped.
func (q *asyncQueue) dropped(fn string) {
	if q.i.obs != nil {
		q.i.obs.OnAsync(fn, AsyncDropped)
	}
}

func (q *asyncQueue) delete(key string) {
	_ = q.i.p.Store.Update(context.Background(), func(tx *store.Tx) error { return deleteEvent(tx, key) })
	q.forget(key)
}

// firstFault reports whether the event at key had no permanent fault logged
// yet, and records that it has now.
func (q *asyncQueue) firstFault(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.faulted[key]; ok {
		return false
	}
	q.faulted[key] = struct{}{}
	return true
}

// forget drops what the queue holds in memory of the event at key, gone.
func (q *asyncQueue) forget(key string) {
	q.mu.Lock()
	delete(q.faulted, key)
	delete(q.index, key)
	q.mu.Unlock()
}

// put records what follows an attempt of the event at key: a retry or a
// backoff, in its state record (the event itself is not written again), and
// reports whether the event is still queued. It is the queue's bookkeeping
// (store.Essential): taken on a full disk as the deletes that drain it are. An event no longer
// queued stays gone: its function or version was
// deleted while the attempt ran (purgeEvents), and a function created since
// under the name must not get it.
func (q *asyncQueue) put(key string, ev asyncEvent) (kept bool) {
	gone := false
	_ = q.i.p.Store.Update(store.Essential(context.Background()), func(tx *store.Tx) error {
		if gone = !tx.Has(bucketAsync, key); gone {
			return nil
		}
		return tx.Put(bucketAsyncState, key, asyncState{Attempt: ev.Attempt, Throttles: ev.Throttles, NotBefore: ev.NotBefore})
	})
	if !gone {
		q.indexPut(key, ev)
	}
	if gone {
		q.forget(key)
		q.i.log.Warn("dropping Event invocation: function version is gone",
			"function", ev.Function, "version", ev.Version, "requestId", ev.RequestID)
		q.dropped(ev.Function)
	}
	return !gone
}

// queued reports whether the event at key is still queued.
func (q *asyncQueue) queued(key string) bool {
	in := false
	_ = q.i.p.Store.View(context.Background(), func(tx *store.Tx) error {
		in = tx.Has(bucketAsync, key)
		return nil
	})
	return in
}

// purgeEvents is the invoker's step in the transaction that deletes function
// name (version "") or one published version of it: it deletes their queued
// Event invocations, so that none runs in a function created again under the
// name, whose versions count from 1 again. An attempt in progress then finds
// its event gone and records nothing (asyncQueue.put). Of a version's, those
// sent through an alias stay queued: they run on the alias's version
// (asyncQueue.target), the alias having been invoked, not the version. Once
// the delete commits, the server log says how many were deleted and kept.
func (i *Invoker) purgeEvents(name, version string) store.Step {
	return func(tx *store.Tx) error {
		var keys []string
		kept := 0
		err := tx.ForEach(bucketAsync, "", func(key string, raw []byte) error {
			var ev asyncEvent
			if json.Unmarshal(raw, &ev) != nil || ev.Function != name {
				return nil
			}
			switch {
			case version == "":
				keys = append(keys, key)
			case ev.Version != version:
				// Another version's (one following a plain alias runs
				// wherever the alias points).
			case eventAlias(ev) != "":
				kept++
			default:
				keys = append(keys, key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, key := range keys {
			if err := deleteEvent(tx, key); err != nil {
				return err
			}
		}
		if len(keys) > 0 || kept > 0 {
			tx.OnCommit(func() {
				if len(keys) > 0 {
					i.log.Warn("deleted the queued Event invocations of the deleted function or version", "function", name, "version", version, "events", len(keys))
				}
				if kept > 0 {
					i.log.Info("queued Event invocations sent through an alias stay queued and run on the alias's version", "function", name, "version", version, "events", kept)
				}
			})
		}
		return nil
	}
}

// cutOff reports whether an Event attempt's outcome is the invoker's shutdown
// rather than the function's: its sandbox was stopped at the end of the drain
// (errCutOff), or it did not start because the invoker was stopping (its call
// refused, its wait for a sandbox or a slot ended).
func (i *Invoker) cutOff(res *Result, err error) bool {
	if errors.Is(err, errCutOff) {
		return true
	}
	if res != nil && err == nil {
		return false
	}
	i.mu.Lock()
	closing := i.closing
	i.mu.Unlock()
	return closing && (isUnavailable(err) || errors.Is(err, context.Canceled))
}

func init() {
	store.Record(bucketAsync, asyncEvent{})
	store.Record(bucketAsyncState, asyncState{})
}
