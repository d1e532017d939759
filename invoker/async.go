package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

const bucketAsync = "async-invocations"

// asyncMaxAge is how long an Event invocation is kept trying, as in Lambda,
// unless its function's event invoke configuration says less (eventLimits).
const asyncMaxAge = 6 * time.Hour

// asyncEvent is one persisted Event invocation.
type asyncEvent struct {
	RequestID string          `json:"requestId"`
	Function  string          `json:"function"`
	Version   string          `json:"version"`
	Payload   json.RawMessage `json:"payload"`
	// InvokedARN and ClientContext are what the caller sent, kept for the run.
	InvokedARN    string    `json:"invokedArn,omitempty"`
	ClientContext string    `json:"clientContext,omitempty"`
	Attempt       int       `json:"attempt"` // retries made so far
	NotBefore     time.Time `json:"notBefore"`
	Enqueued      time.Time `json:"enqueued"`
}

// asyncQueue runs persisted Event invocations with bounded workers, retrying a
// failed one twice (after AsyncRetryDelays) and a throttled one until it is six
// hours old. An event is deleted only once it has a final result, so a restart
// picks up whatever was queued or running.
type asyncQueue struct {
	i    *Invoker
	wake chan struct{}

	mu      sync.Mutex
	running map[string]bool
	stopCh  chan struct{}
	done    chan struct{}
	sem     chan struct{}
}

func newAsyncQueue(i *Invoker) *asyncQueue {
	return &asyncQueue{i: i, wake: make(chan struct{}, 1), running: map[string]bool{}}
}

// InvokeAsync persists an Event invocation of req.Function and returns its request
// id once it is durable; it runs later, retried twice on error. Of req, Payload,
// InvokedARN and ClientContext are kept.
func (i *Invoker) InvokeAsync(ctx context.Context, req Request) (string, error) {
	fn, payload := req.Function, req.Payload
	if fn == nil {
		return "", fmt.Errorf("invoke: no function: %w", errdefs.ErrInvalid)
	}
	if len(payload) > i.p.Config.MaxAsyncPayload {
		return "", errdefs.New(errdefs.ErrTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeAsync operation", i.p.Config.MaxAsyncPayload))
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !validJSON(payload) {
		return "", errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException", "Could not parse request body into json: the payload is not valid JSON")
	}
	now := i.clock.Now()
	ev := asyncEvent{RequestID: newID(), Function: fn.FunctionName, Version: fn.Version, Payload: payload,
		InvokedARN: req.InvokedARN, ClientContext: req.ClientContext, NotBefore: now, Enqueued: now}
	key := fmt.Sprintf("%020d-%s", now.UnixNano(), ev.RequestID)
	if err := i.p.Store.Update(ctx, func(tx *store.Tx) error { return tx.Put(bucketAsync, key, ev) }); err != nil {
		return "", err
	}
	if i.obs != nil {
		i.obs.OnAsync(fn.FunctionName, AsyncQueued)
	}
	select {
	case i.async.wake <- struct{}{}:
	default:
	}
	return ev.RequestID, nil
}

func (q *asyncQueue) start() {
	q.stopCh = make(chan struct{})
	q.done = make(chan struct{})
	q.sem = make(chan struct{}, q.i.p.Config.AsyncWorkers)
	go q.loop()
}

func (q *asyncQueue) stop() {
	close(q.stopCh)
	<-q.done
}

func (q *asyncQueue) loop() {
	defer close(q.done)
	for {
		next := q.dispatch()
		wait := time.Minute
		if !next.IsZero() {
			if wait = next.Sub(q.i.clock.Now()); wait <= 0 {
				continue
			}
		}
		// The invoker's clock wakes the loop, so tests move time with a
		// fake instead of waiting a minute for a retry.
		stop := q.i.clock.AfterFunc(wait, q.poke)
		select {
		case <-q.stopCh:
			stop()
			return
		case <-q.wake:
		}
		stop()
	}
}

// poke wakes the loop.
func (q *asyncQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// dispatch starts every due event it has a worker for and returns when the next
// not-yet-due event is due (zero if none).
func (q *asyncQueue) dispatch() time.Time {
	type item struct {
		key string
		ev  asyncEvent
	}
	var due []item
	var next time.Time
	now := q.i.clock.Now()
	_ = q.i.p.Store.View(context.Background(), func(tx *store.Tx) error {
		return tx.ForEach(bucketAsync, "", func(key string, raw []byte) error {
			var ev asyncEvent
			if json.Unmarshal(raw, &ev) != nil {
				return nil
			}
			q.mu.Lock()
			busy := q.running[key]
			q.mu.Unlock()
			if busy {
				return nil
			}
			if ev.NotBefore.After(now) {
				if next.IsZero() || ev.NotBefore.Before(next) {
					next = ev.NotBefore
				}
				return nil
			}
			due = append(due, item{key, ev})
			return nil
		})
	})
	for _, it := range due {
		select {
		case q.sem <- struct{}{}:
		default:
			// All workers busy: look again when one finishes.
			return q.i.clock.Now().Add(10 * time.Millisecond)
		}
		q.mu.Lock()
		q.running[it.key] = true
		q.mu.Unlock()
		go func() {
			defer func() {
				<-q.sem
				q.mu.Lock()
				delete(q.running, it.key)
				q.mu.Unlock()
				select {
				case q.wake <- struct{}{}:
				default:
				}
			}()
			q.run(it.key, it.ev)
		}()
	}
	return next
}

// run makes one attempt and records what follows from it.
func (q *asyncQueue) run(key string, ev asyncEvent) {
	i := q.i
	ctx := context.Background()
	log := i.log.With("function", ev.Function, "version", ev.Version, "requestId", ev.RequestID)
	cfg, err := i.p.Functions.Get(ctx, ev.Function, ev.Version)
	if err != nil {
		log.Warn("dropping Event invocation: function version is gone", "err", err)
		q.dropped(ev.Function)
		q.delete(key)
		return
	}
	retries, maxAge := i.eventLimits(ctx, ev)
	if age := i.since(ev.Enqueued); age > maxAge {
		log.Warn("dropping Event invocation: older than its maximum event age", "age", age.Round(time.Second), "maximumEventAge", maxAge)
		q.dropped(ev.Function)
		q.delete(key)
		return
	}
	res, err := i.Invoke(ctx, Request{Function: cfg, Payload: ev.Payload, RequestID: ev.RequestID,
		InvokedARN: ev.InvokedARN, ClientContext: ev.ClientContext})
	switch {
	case err == nil && res.FunctionError == "":
		q.delete(key)
		return
	case errors.Is(err, errdefs.ErrNotFound):
		// Deleted while the event waited for a slot: dropped, as the events
		// found gone above.
		log.Warn("dropping Event invocation: function version is gone", "err", err)
		q.dropped(ev.Function)
		q.delete(key)
		return
	case err != nil && (errdefs.IsKind(err) && (isThrottle(err) || isUnavailable(err))):
		if i.since(ev.Enqueued) > maxAge {
			log.Warn("dropping Event invocation: still throttled at its maximum event age", "maximumEventAge", maxAge, "err", err)
			q.dropped(ev.Function)
			q.delete(key)
			return
		}
		ev.NotBefore = i.clock.Now().Add(time.Second << min(ev.Attempt, 8))
		q.put(key, ev)
		return
	}
	if ev.Attempt >= retries {
		log.Warn("Event invocation failed after retries; dropping it", "attempts", ev.Attempt+1)
		q.dropped(ev.Function)
		q.delete(key)
		return
	}
	ev.NotBefore = i.clock.Now().Add(i.p.Config.AsyncRetryDelays[ev.Attempt])
	ev.Attempt++
	log.Info("Event invocation failed; will retry", "attempt", ev.Attempt, "at", ev.NotBefore)
	if i.obs != nil {
		i.obs.OnAsync(ev.Function, AsyncRetried)
	}
	q.put(key, ev)
}

// dropped tells the observer that an Event invocation of fn was dropped.
func (q *asyncQueue) dropped(fn string) {
	if q.i.obs != nil {
		q.i.obs.OnAsync(fn, AsyncDropped)
	}
}

func (q *asyncQueue) delete(key string) {
	_ = q.i.p.Store.Update(context.Background(), func(tx *store.Tx) error { return tx.Delete(bucketAsync, key) })
}

func (q *asyncQueue) put(key string, ev asyncEvent) {
	_ = q.i.p.Store.Update(context.Background(), func(tx *store.Tx) error { return tx.Put(bucketAsync, key, ev) })
}
