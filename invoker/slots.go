package invoker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

// Throttle reasons, as Lambda's TooManyRequestsException gives them.
const (
	reasonAccount  = "ConcurrentInvocationLimitExceeded"
	reasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
)

// MinUnreserved is the least concurrency the account keeps for the functions
// without a reservation, with account concurrency limit: a tenth of it, at
// least 1 (Lambda keeps 100 of its default 1,000). A reservation that would
// leave less is refused (CheckReservations).
func MinUnreserved(limit int) int { return max(1, limit/10) }

// slots is the account's concurrency, divided as Lambda divides it: a function
// with reserved concurrency has that many slots set aside for it alone, and
// the functions without one share what is left of the account's
// (AccountConcurrency less every reservation: the unreserved pool). A
// function with a reservation is never throttled below it by the others, and
// never runs above it.
//
// A call's slot is counted against its function (fnSlots.used) and, while the
// function has no reservation, against the unreserved pool (shared). When a
// reservation is put or removed at runtime the function's calls in flight move
// with it: they count against the new reservation, or the pool, at once, and
// release into wherever the function is when they end. So a change takes
// effect for the next call, and no slot is lost or counted twice; calls in
// flight above a limit just lowered are not stopped, and new calls wait for
// them.
//
// Calls that find no free slot queue, first come first served, per
// reservation and for the pool, for up to ThrottleWait. Safe for concurrent
// use.
type slots struct {
	limit int // AccountConcurrency
	wait  time.Duration
	log   *slog.Logger

	// lookup reads a function's reservation (-1: none) from its $LATEST;
	// notFound reports the function gone.
	lookup func(ctx context.Context, name string) (n int, err error)
	// refreshMu serializes refresh, so that the last read of a function's
	// reservation is the one applied.
	refreshMu sync.Mutex

	mu       sync.Mutex
	reserved int                 // the sum of the reservations
	shared   int                 // the unreserved pool's slots in use
	sharedQ  []*slotWaiter       // calls waiting for the pool
	fns      map[string]*fnSlots // by function name
}

// fnSlots is one function's part of the account's concurrency. Guarded by
// slots.mu.
type fnSlots struct {
	reserved int // -1: none
	used     int // calls of the function holding a slot
	q        []*slotWaiter
}

// slotWaiter is a call waiting for a slot; ready is closed once it has one,
// or once err says why it never will (its function was deleted).
type slotWaiter struct {
	fn      *fnSlots
	ready   chan struct{}
	granted bool
	err     error
}

func newSlots(limit int, wait time.Duration, log *slog.Logger, lookup func(ctx context.Context, name string) (int, error)) *slots {
	return &slots{limit: limit, wait: wait, log: log, lookup: lookup, fns: map[string]*fnSlots{}}
}

// limitOf returns how many calls of function name may run at once: its
// reservation, or else the size of the unreserved pool it shares.
func (s *slots) limitOf(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.fns[name]; f != nil && f.reserved >= 0 {
		return f.reserved
	}
	return s.pool()
}

// pool is the size of the unreserved pool. Under s.mu.
func (s *slots) pool() int { return s.limit - s.reserved }

// load sets every function's reservation from all (name -> reservation), at
// start.
func (s *slots) load(all map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, n := range all {
		s.setLocked(name, n)
	}
	if s.pool() < MinUnreserved(s.limit) {
		s.log.Warn("the functions' reserved concurrency leaves less than the minimum unreserved concurrency: functions without a reservation may be throttled",
			"accountConcurrency", s.limit, "reserved", s.reserved, "minUnreserved", MinUnreserved(s.limit))
	}
}

// refresh reads name's reservation again and applies it (a put or delete of
// the function's concurrency, or of the function).
func (s *slots) refresh(ctx context.Context, name string) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	n, err := s.lookup(ctx, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
		// Gone: the calls waiting for a slot fail with err (Lambda's
		// ResourceNotFoundException), never granted; then its reservation
		// goes back to the pool. Calls in flight keep the entry they hold and
		// release into the pool through it.
		if f := s.fns[name]; f != nil {
			s.failWaitersLocked(f, err)
		}
		s.setLocked(name, -1)
		delete(s.fns, name)
	case err != nil:
		s.log.Warn("reading a function's reserved concurrency; keeping the one known", "function", name, "err", err)
	default:
		s.setLocked(name, n)
	}
}

// setLocked sets name's reservation to n (-1: none), moving its calls in
// flight and its waiting calls between its reservation and the pool, then
// grants what now fits. Under s.mu.
func (s *slots) setLocked(name string, n int) {
	f := s.fns[name]
	if f == nil {
		f = &fnSlots{reserved: -1}
		s.fns[name] = f
	}
	if f.reserved == n {
		return
	}
	was := f.reserved
	if was >= 0 {
		s.reserved -= was
	}
	if n >= 0 {
		s.reserved += n
	}
	f.reserved = n
	switch {
	case was < 0 && n >= 0: // from the pool to its own
		s.shared -= f.used
		for _, w := range s.sharedQ {
			if w.fn == f {
				f.q = append(f.q, w)
			}
		}
		s.sharedQ = slices.DeleteFunc(s.sharedQ, func(w *slotWaiter) bool { return w.fn == f })
	case was >= 0 && n < 0: // from its own to the pool
		s.shared += f.used
		s.sharedQ = append(s.sharedQ, f.q...)
		f.q = nil
	}
	s.grantLocked(f)
	s.grantLocked(nil)
}

// failWaitersLocked ends every call of f waiting for a slot, in its
// reservation's queue or the pool's, with err. Under s.mu.
func (s *slots) failWaitersLocked(f *fnSlots, err error) {
	fail := func(w *slotWaiter) bool {
		if w.fn != f {
			return false
		}
		w.err = err
		close(w.ready)
		return true
	}
	f.q = slices.DeleteFunc(f.q, fail)
	s.sharedQ = slices.DeleteFunc(s.sharedQ, fail)
}

// grantLocked gives free slots to the calls waiting, in order: f's when f is
// not nil and has a reservation, else the pool's. Under s.mu.
func (s *slots) grantLocked(f *fnSlots) {
	if f != nil && f.reserved >= 0 {
		for len(f.q) > 0 && f.used < f.reserved {
			w := f.q[0]
			f.q = f.q[1:]
			f.used++
			w.granted = true
			close(w.ready)
		}
		if len(f.q) > 0 && f.reserved == 0 {
			// Nothing will ever free: throttle them now.
			for _, w := range f.q {
				close(w.ready)
			}
			f.q = nil
		}
		return
	}
	for len(s.sharedQ) > 0 && s.shared < s.pool() {
		w := s.sharedQ[0]
		s.sharedQ = s.sharedQ[1:]
		w.fn.used++
		s.shared++
		w.granted = true
		close(w.ready)
	}
}

// acquire takes a slot for a call of name, waiting up to the throttle wait
// for one, and returns what to release it with; waited says that the call
// had to wait for it. A call whose function is deleted while it waits fails
// with the lookup's ErrNotFound.
func (s *slots) acquire(ctx context.Context, name string) (f *fnSlots, waited bool, err error) {
	s.mu.Lock()
	f = s.fns[name]
	if f == nil {
		s.mu.Unlock()
		f = s.first(ctx, name)
		s.mu.Lock()
	}
	if f.reserved >= 0 {
		if len(f.q) == 0 && f.used < f.reserved {
			f.used++
			s.mu.Unlock()
			return f, false, nil
		}
		if f.reserved == 0 {
			s.mu.Unlock()
			return nil, false, throttled(reasonReserved)
		}
	} else if len(s.sharedQ) == 0 && s.shared < s.pool() {
		f.used++
		s.shared++
		s.mu.Unlock()
		return f, false, nil
	}
	f, err = s.await(ctx, f)
	return f, true, err
}

// first returns name's entry on its first call, reading its reservation.
func (s *slots) first(ctx context.Context, name string) *fnSlots {
	n, err := s.lookup(ctx, name)
	if err != nil {
		n = -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.fns[name]; f != nil { // a refresh, or another first call, came first
		return f
	}
	s.setLocked(name, n)
	return s.fns[name]
}

// await queues a call of f for a slot, with s.mu held (and unlocks it), and
// waits up to the throttle wait for one.
func (s *slots) await(ctx context.Context, f *fnSlots) (*fnSlots, error) {
	w := &slotWaiter{fn: f, ready: make(chan struct{})}
	if f.reserved >= 0 {
		f.q = append(f.q, w)
	} else {
		s.sharedQ = append(s.sharedQ, w)
	}
	s.mu.Unlock()
	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	var cause error
	select {
	case <-w.ready:
	case <-timer.C:
	case <-ctx.Done():
		cause = ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		if cause == nil {
			return f, nil
		}
		s.releaseLocked(f)
		return nil, cause
	}
	if w.err != nil { // its function was deleted: already out of the queues
		return nil, w.err
	}
	// Not granted: leave whichever queue it is in now (a reservation change
	// may have moved it), and let those behind it have what it leaves.
	s.sharedQ = slices.DeleteFunc(s.sharedQ, func(x *slotWaiter) bool { return x == w })
	f.q = slices.DeleteFunc(f.q, func(x *slotWaiter) bool { return x == w })
	s.grantLocked(f)
	s.grantLocked(nil)
	if cause != nil {
		return nil, cause
	}
	if f.reserved >= 0 {
		return nil, throttled(reasonReserved)
	}
	return nil, throttled(reasonAccount)
}

// release gives back a slot that acquire returned for f.
func (s *slots) release(f *fnSlots) {
	s.mu.Lock()
	s.releaseLocked(f)
	s.mu.Unlock()
}

func (s *slots) releaseLocked(f *fnSlots) {
	f.used--
	if f.reserved >= 0 {
		if len(f.q) > 0 {
			s.grantLocked(f)
		}
		return
	}
	s.shared--
	if len(s.sharedQ) > 0 {
		s.grantLocked(nil)
	}
}

// SlotStats is the account's concurrency as the invoker divides it.
type SlotStats struct {
	// Limit is the account's concurrency (AccountConcurrency).
	Limit int
	// Reserved is the sum of the functions' reservations; Unreserved is
	// what is left for the functions without one (Limit - Reserved).
	Reserved, Unreserved int
	// InUse is the calls holding a slot, UnreservedInUse those of them in
	// the unreserved pool.
	InUse, UnreservedInUse int
	// Waiting is the calls waiting for a slot.
	Waiting int
}

// Slots returns the account's concurrency as the invoker divides it now.
func (i *Invoker) Slots() SlotStats {
	s := i.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SlotStats{Limit: s.limit, Reserved: s.reserved, Unreserved: s.pool(), UnreservedInUse: s.shared, Waiting: len(s.sharedQ)}
	for _, f := range s.fns {
		st.InUse += f.used
		st.Waiting += len(f.q)
	}
	return st
}

// CheckReservations refuses, as Lambda's InvalidParameterValueException,
// reservations adding up to total when they would leave the unreserved pool
// less than MinUnreserved. It is the functions' ReservationCheck.
func (i *Invoker) CheckReservations(total int) error {
	limit := i.p.Config.AccountConcurrency
	if least := MinUnreserved(limit); limit-total < least {
		return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", fmt.Sprintf(
			"Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", least))
	}
	return nil
}

// reservationOf is slots.lookup over the invoker's Functions.
func (i *Invoker) reservationOf(ctx context.Context, name string) (int, error) {
	cfg, err := i.p.Functions.Get(ctx, name, functions.Latest)
	if err != nil {
		return -1, err
	}
	if cfg.ReservedConcurrency == nil {
		return -1, nil
	}
	return *cfg.ReservedConcurrency, nil
}

// slotHold is one call's concurrency slot (and its count in the
// concurrent-executions metric), passed from the call to its sandbox. The
// call holds it until its invocation ends, and gives it back then (drop),
// unless the runtime posted the result: the sandbox then takes it over
// (handOff) and gives it back once its runtime is in next again, or it is
// gone (pool.leaveReturningLocked). As on Lambda, an environment whose
// runtime has not finished its invoke phase is busy: it counts against its
// function's concurrency, so a reservation bounds the sandboxes a function
// keeps busy, whether its runtime works on after its result or not. Safe for
// concurrent use.
type slotHold struct {
	state atomic.Int32 // slotCaller, slotSandbox or slotFreed
	free  func()       // gives the slot back; called once
}

const (
	slotCaller  = iota // the call holds it
	slotSandbox        // its sandbox holds it (handOff)
	slotFreed          // given back (drop)
)

// handOff gives h to the sandbox whose runtime posted the call's result, and
// returns what gives it back; nil when h is nil or already given back.
func (h *slotHold) handOff() func() {
	if h != nil && h.state.CompareAndSwap(slotCaller, slotSandbox) {
		return h.free
	}
	return nil
}

// drop gives h back at the call's end, unless its sandbox holds it.
func (h *slotHold) drop() {
	if h.state.CompareAndSwap(slotCaller, slotFreed) {
		h.free()
	}
}
