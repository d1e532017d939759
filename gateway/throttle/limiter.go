package throttle

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a token bucket, as API Gateway's: Burst is the bucket's size, Rate
// the tokens added per second, and a request takes one. A Burst of 0 admits no
// request whatever the Rate. A negative value is "not set": the stages fill
// it from the level above (Inherit) before they use a Limit; a Rate still not
// set is no limit, unless Burst is 0. Rate 0 adds no tokens: Burst requests
// pass, then none.
type Limit struct {
	Rate  float64
	Burst int
}

// Unlimited reports whether l lets everything through: neither value set, or
// no rate with a burst (a bucket refilled at once).
func (l Limit) Unlimited() bool { return l.Rate < 0 && l.Burst != 0 }

// Blocks reports whether l admits no request: its bucket holds nothing.
func (l Limit) Blocks() bool { return !l.Unlimited() && l.Burst <= 0 }

// Limiter is where the token buckets live, keyed by what they limit
// ("account", "api/stage//pets/GET", a usage plan's client). The in-process
// Buckets is the default; a shared implementation (Redis, for several gateway
// nodes) can replace it without touching the stages. Implementations are safe
// for concurrent use.
type Limiter interface {
	// Bucket returns the bucket under key, the same one for the same key for the
	// Limiter's lifetime, so that recompiling a stage keeps its counts.
	Bucket(key string) Bucket
}

// Bucket is one token bucket. Safe for concurrent use.
type Bucket interface {
	// Allow takes one token at now under limit l and reports whether there was
	// one. A limit other than the bucket's last one replaces it from now on
	// (the tokens already there stay, capped at the new burst), unless the
	// bucket is a Retuner that was told of it when it changed. Times may come
	// out of order (a request's time is read before it reaches the bucket): a
	// time before the latest one the bucket saw counts as that one, so no
	// interval refills the bucket twice.
	Allow(now time.Time, l Limit) bool
}

// Retuner is a Bucket that can be told of a new limit when it changes (a
// stage recompiled, a usage plan edited), before a request asks with it:
// the time up to the change refills the bucket under the old limit, the time
// after it under the new one. Without this, Allow learns of the change at the
// next request and refills all the time since the last one under the old
// limit. See SetLimit.
type Retuner interface {
	// SetLimit makes l the bucket's limit from at on. A limit equal to the
	// bucket's, one that is unlimited or admits nothing (Allow answers
	// those without the bucket), and a bucket not used yet (it starts full
	// under the limit of its first request) are left as they are.
	SetLimit(at time.Time, l Limit)
}

// SetLimit tells b, when it is a Retuner, that its limit is l from at on.
func SetLimit(b Bucket, at time.Time, l Limit) {
	if r, ok := b.(Retuner); ok {
		r.SetLimit(at, l)
	}
}

// Buckets is the in-process Limiter: one golang.org/x/time/rate.Limiter per key.
// Safe for concurrent use.
type Buckets struct {
	m sync.Map // string -> *bucket
}

var _ Limiter = (*Buckets)(nil)

// NewBuckets returns an empty in-process Limiter.
func NewBuckets() *Buckets { return &Buckets{} }

// Bucket implements Limiter.
func (b *Buckets) Bucket(key string) Bucket {
	if v, ok := b.m.Load(key); ok {
		return v.(*bucket)
	}
	v, _ := b.m.LoadOrStore(key, &bucket{})
	return v.(*bucket)
}

// Drop implements Dropper.
func (b *Buckets) Drop(key string) { b.m.Delete(key) }

var _ Dropper = (*Buckets)(nil)

// Len returns the number of buckets (for tests).
func (b *Buckets) Len() int {
	n := 0
	b.m.Range(func(any, any) bool { n++; return true })
	return n
}

// bucket is a rate.Limiter created on first use with the limit it is first
// asked with.
type bucket struct {
	mu  sync.Mutex // guards lim (creation and use), cur and last
	lim *rate.Limiter
	cur Limit
	// last is the latest time the bucket was asked at. rate.Limiter takes an
	// earlier time as its new last update, and the next later one then adds
	// the tokens of the interval between them a second time.
	last time.Time
}

var (
	_ Bucket  = (*bucket)(nil)
	_ Retuner = (*bucket)(nil)
)

// SetLimit implements Retuner.
func (b *bucket) SetLimit(at time.Time, l Limit) {
	if l.Unlimited() || l.Blocks() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lim == nil || b.cur == l {
		return
	}
	b.retune(b.clamp(at), l)
}

// clamp returns t, or the latest time the bucket saw when t is before it,
// and records it as the latest.
func (b *bucket) clamp(t time.Time) time.Time {
	if t.Before(b.last) {
		return b.last
	}
	b.last = t
	return t
}

// retune switches the limit to l at now: the tokens up to now are counted
// under the old limit (capped at its burst), the time after under l.
func (b *bucket) retune(now time.Time, l Limit) {
	b.cur = l
	b.lim.SetLimitAt(now, rate.Limit(l.Rate))
	b.lim.SetBurstAt(now, l.Burst)
}

// Allow implements Bucket.
func (b *bucket) Allow(now time.Time, l Limit) bool {
	if l.Unlimited() {
		return true
	}
	if l.Blocks() {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now = b.clamp(now)
	if b.lim == nil {
		// A new bucket starts full.
		b.cur, b.lim = l, rate.NewLimiter(rate.Limit(l.Rate), l.Burst)
	} else if b.cur != l {
		// A change no SetLimit announced: it applies from now.
		b.retune(now, l)
	}
	return b.lim.AllowN(now, 1)
}
