package invoker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/runtimes"
)

// pool holds the sandboxes of one version (one revision of $LATEST). Callers that
// find no idle sandbox wait in FIFO order; a new sandbox is started only while the
// waiters outnumber the sandboxes already on their way (starting, or returning to
// next after a result), so concurrent cold requests share starts.
//
// A pool goes stale when it is retired (its revision was replaced, or its
// version deleted) or the invoker stops. A retired pool keeps no idle sandbox
// and takes no new call, but serves the calls already waiting in it, as they
// were dispatched: a sandbox that comes to next goes to a waiter, else it
// stops, and waiters still start sandboxes. A closing pool (Stop) serves no
// one: its waiters fail. So every waiter ends, served or failed.
type pool struct {
	inv *Invoker
	key poolKeyT
	cfg *functions.Config

	mu sync.Mutex
	// idle is LIFO (the most recently used is the warmest), but a call
	// takes a provisioned sandbox before an on-demand one (takeIdleLocked).
	idle     []*sandbox
	waiters  []*waiter
	starting int
	// returning counts the sandboxes on their way back to next after a
	// result, which waiting calls count on (fillLocked) for returnWait;
	// late counts those returning for longer, which no call counts on
	// (checkReturns).
	returning   int
	late        int
	returnCheck bool // a checkReturns is due
	launching   int  // starts past the budget's reserve, not yet in all
	// expiryStop, when set, stops the timer of expireWaiters, due at
	// expiryAt (armExpiryLocked).
	expiryStop func() bool
	expiryAt   time.Time
	all        map[*sandbox]struct{}
	stale      bool
	closing    bool // stale because the invoker stops: waiters are failed, nothing starts
	minWarm    int  // provisioned concurrency target
	// provPending counts the provisioned starts not yet launched (in
	// starting, not yet in all).
	provPending int
	// unseenFails counts provisioned sandboxes that failed their init with
	// no caller to see it since failLogged, when one was last logged.
	unseenFails int
	failLogged  time.Time
	// provFailure is why the last provisioned sandbox to fail its init
	// failed, until a sandbox of the pool finishes its init: what
	// ProvisionedStatus reports.
	provFailure string
	// provFails counts the provisioned sandboxes that failed their init in
	// a row; maintenance starts none before provRetryAt
	// (provisionedBackoff). A finished init, or a change of the
	// provisioned setting, resets them; a change of the function's
	// configuration makes a new pool.
	provFails   int
	provRetryAt time.Time
	spare       *spare
	preparing   bool
	lastUsed    time.Time
}

// waiter is a caller waiting for a sandbox. inv, when set, is its invocation,
// built while it waits: a sandbox that comes back to next takes it at once
// (ready), with no hop through the caller's goroutine.
type waiter struct {
	ch    chan grant
	inv   *invocation
	lim   waitLimit
	until time.Time // when the wait ends (lim.until, or later for a cold start)
}

// grant answers a waiter: a sandbox, or an init failure to report as the call's
// result, or an error. taken says that the sandbox has taken the waiter's
// invocation already: the caller only awaits its outcome.
type grant struct {
	sb    *sandbox
	fail  *initFail
	cold  bool
	taken bool
	err   error
}

// initFail is how the sandbox started for a waiter failed its init: the
// caller reports it as its call's result (Invoker.initFailure).
type initFail struct {
	sb       *sandbox      // gone
	doc      []byte        // the runtime's /init/error, when it posted one
	timedOut bool          // init went past Config.InitTimeout
	initDur  time.Duration // from its start to its end
}

// poolKeyT identifies a pool: the code and configuration its sandboxes run. A
// struct, so that looking a pool up on every call allocates nothing.
type poolKeyT struct {
	name, version, revision, codeHash, image string
}

func poolKey(cfg *functions.Config) poolKeyT {
	return poolKeyT{cfg.FunctionName, cfg.Version, cfg.RevisionID, cfg.CodeHash, cfg.ResolvedImage}
}

// acquire returns a sandbox blocked in next, reserved for the caller. inv,
// when not nil, is the caller's invocation: a sandbox that comes back to next
// while the caller waits takes it itself (grant.taken). A caller that must
// wait does so until lim.until at most, and then fails with lim.err().
func (p *pool) acquire(ctx context.Context, inv *invocation, lim waitLimit) grant {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return grant{err: errShuttingDown()}
	}
	now := p.inv.clock.Now()
	p.lastUsed = now
	var retired []*sandbox
	for len(p.idle) > 0 {
		sb := p.takeIdleLocked()
		sb.mu.Lock()
		if sb.retiring(now) {
			// Its credentials are about to expire: a successor starts with
			// fresh ones.
			sb.mu.Unlock()
			retired = append(retired, sb)
			continue
		}
		sb.state = stReserved
		sb.mu.Unlock()
		p.mu.Unlock()
		for _, old := range retired {
			old.stop()
		}
		return grant{sb: sb}
	}
	w := &waiter{ch: make(chan grant, 1), inv: inv, lim: lim, until: lim.until}
	p.waiters = append(p.waiters, w)
	p.armExpiryLocked(w.until)
	p.fillLocked()
	if p.returning > 0 && !p.returnCheck {
		// The call may be counting on a sandbox on its way back to next:
		// for returnWait at most.
		p.returnCheck = true
		p.inv.clock.AfterFunc(returnWait, p.checkReturns)
	}
	p.mu.Unlock()
	for _, old := range retired {
		old.stop()
	}

	select {
	case g := <-w.ch: // a sandbox, an init failure, or the wait's end (expireWaiters)
		return g
	case <-ctx.Done():
		return p.giveUp(w, ctx.Err())
	}
}

// armExpiryLocked makes sure the pool's expiry timer fires by until: one
// timer per pool, for its earliest waiter, so that a call that waits a
// moment for a sandbox on its way back arms none of its own.
func (p *pool) armExpiryLocked(until time.Time) {
	if p.expiryStop != nil && !p.expiryAt.After(until) {
		return
	}
	if p.expiryStop != nil {
		p.expiryStop()
	}
	p.expiryAt = until
	p.expiryStop = p.inv.clock.AfterFunc(until.Sub(p.inv.clock.Now()), p.expireWaiters)
}

// expireWaiters ends the waits that reached their bound (waitLimit): each
// such waiter leaves the queue with its limit's error, but one without a
// caller deadline that a sandbox in init or being launched (not a start
// still waiting for room in the budget) is for, which waits another
// QueueWait: its cold start is no queue. It arms the timer again for the
// earliest waiter left.
func (p *pool) expireWaiters() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expiryStop = nil
	now := p.inv.clock.Now()
	initing := -1 // counted when first needed
	var next time.Time
	kept := p.waiters[:0]
	for k, w := range p.waiters {
		if w.until.After(now) {
			kept = append(kept, w)
			if next.IsZero() || w.until.Before(next) {
				next = w.until
			}
			continue
		}
		if w.lim.caller == 0 {
			if initing < 0 {
				initing = p.initingLocked()
			}
			if k < initing {
				w.until = now.Add(p.inv.p.Config.QueueWait)
				kept = append(kept, w)
				if next.IsZero() || w.until.Before(next) {
					next = w.until
				}
				continue
			}
		}
		w.ch <- grant{err: w.lim.err()}
	}
	clear(p.waiters[len(kept):])
	p.waiters = kept
	if !next.IsZero() {
		p.armExpiryLocked(next)
	}
	if len(p.waiters) == 0 {
		go p.inv.forgetIfDone(p)
	}
}

// initingLocked counts p's sandboxes in init, and those being launched
// (their room in the budget taken).
func (p *pool) initingLocked() int {
	n := p.launching
	for sb := range p.all {
		sb.mu.Lock()
		if sb.state == stStarting {
			n++
		}
		sb.mu.Unlock()
	}
	return n
}

// giveUp ends waiter w's wait with err: it leaves the queue, or, granted
// meanwhile, gives the sandbox back, unless that has taken the invocation
// (the caller then awaits it) or the grant is the wait's end already.
func (p *pool) giveUp(w *waiter, err error) grant {
	p.mu.Lock()
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			p.inv.forgetIfDone(p)
			return grant{err: err}
		}
	}
	p.mu.Unlock()
	g := <-w.ch
	if g.taken || g.err != nil {
		return g
	}
	if g.sb != nil {
		p.release(g.sb)
	}
	return grant{err: err}
}

// takeIdleLocked removes and returns the idle sandbox a call takes: the most
// recently used provisioned one, else the most recently used on-demand one.
// As on Lambda, calls go to the provisioned sandboxes first and only the
// overflow to on-demand ones, which are then left idle and reaped as usual.
// p.idle is not empty.
func (p *pool) takeIdleLocked() *sandbox {
	k := len(p.idle) - 1
	for j := k; j >= 0; j-- {
		if p.idle[j].provisioned {
			k = j
			break
		}
	}
	sb := p.idle[k]
	p.idle = append(p.idle[:k], p.idle[k+1:]...)
	return sb
}

// provisionedLocked counts the pool's provisioned sandboxes, started or on
// their way.
func (p *pool) provisionedLocked() int {
	n := p.provPending
	for sb := range p.all {
		if sb.provisioned {
			n++
		}
	}
	return n
}

// needsStart says whether a start counted in p.starting is still wanted: p is
// not closing and, counting the other sandboxes on their way, its waiters
// outnumber them (a retired pool's waiters too: see pool); or (provision) p is
// not stale and still has a provisioned minimum. (A
// sandbox between its launch and its first next is in both p.all and
// p.starting, so the two cannot be summed to see whether the minimum is met;
// a start too many is reaped as idle later.)
func (p *pool) needsStart(provision bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closing:
		return false
	case provision:
		return !p.stale && p.minWarm > 0
	}
	return p.starting-1+p.returning < len(p.waiters)
}

// fillLocked starts sandboxes while waiters outnumber those on their way, at
// most Config.MaxStarting at once; in a retired pool too, for the calls that
// still wait in it, but not in a closing one.
func (p *pool) fillLocked() {
	for !p.closing && p.starting+p.returning < len(p.waiters) && p.starting < p.inv.p.Config.MaxStarting {
		p.starting++
		p.inv.starts.Add(1)
		go p.start(false)
	}
}

// servesLocked reports whether a sandbox of the pool that comes free goes on
// serving: always in a live pool, in a retired one only to a call still
// waiting in it, never in a closing one. One that does not is stopped.
func (p *pool) servesLocked() bool {
	return !p.stale || !p.closing && len(p.waiters) > 0
}

// failWaitersLocked ends every waiting call with err.
func (p *pool) failWaitersLocked(err error) {
	for w := p.popWaiterLocked(); w != nil; w = p.popWaiterLocked() {
		w.ch <- grant{err: err}
	}
}

// errShuttingDown is the error of a call that Portico's shutdown ends before
// it ran.
func errShuttingDown() error {
	return &shutdownError{&errdefs.Kinded{Kind: errdefs.ErrUnavailable, Type: "ServiceException",
		Message: "Portico is shutting down: the call did not run; retry it"}}
}

// popWaiterLocked removes and returns the first waiter, or nil.
func (p *pool) popWaiterLocked() *waiter {
	if len(p.waiters) == 0 {
		return nil
	}
	w := p.waiters[0]
	p.waiters[0] = nil
	if len(p.waiters) == 1 {
		p.waiters = p.waiters[:0] // keep the room: the next waiter needs no new slice
	} else {
		p.waiters = p.waiters[1:]
	}
	return w
}

// ready is called when a sandbox enters next: it is handed to the first waiter or
// put on the idle list. It returns the waiter's invocation when the waiter
// brought one: the calling next delivers it at once.
func (p *pool) ready(sb *sandbox) *invocation {
	p.mu.Lock()
	sb.mu.Lock()
	cold := false
	var free func() // the slot of the call whose result sb posted
	switch sb.state {
	case stStarting:
		p.starting--
		p.provFailure = ""
		p.provFails, p.provRetryAt = 0, time.Time{}
		sb.initDuration = p.inv.since(sb.startedAt)
		sb.initEnded, sb.initOut = true, nil
		cold = true
	case stReturning:
		free = p.leaveReturningLocked(sb)
	case stBusy:
		if cur := sb.cur; cur != nil && !cur.completed() {
			// next before a result for the current invocation. As in
			// Lambda, the invocation is still the runtime's to answer (or
			// to time out, which resets the sandbox): no other is
			// dispatched to the sandbox meanwhile. The next waits; the
			// result, when it comes, offers the sandbox (offerEarly).
			sb.earlyNext.Store(true)
			sb.mu.Unlock()
			p.mu.Unlock()
			return nil
		}
		// The current invocation ended without the runtime's result (a
		// response over the size limit): treat as returning.
	default:
		// A repeated next (the runtime reconnected): already offered.
		sb.mu.Unlock()
		p.mu.Unlock()
		return nil
	}
	// A sandbox just started serves a call even if it is already retiring
	// (credentials that expire sooner than it started): stopping it would
	// start its successor in the same state, and the calls would wait for
	// ever.
	if sb.isStopping() || !p.servesLocked() || !cold && sb.retiring(p.inv.clock.Now()) {
		sb.state = stDead
		sb.mu.Unlock()
		p.mu.Unlock()
		freeSlot(free)
		sb.stop()
		return nil
	}
	sb.forgetLastLocked()
	sb.mu.Unlock()
	inv := p.offerLocked(sb, cold, true)
	if cold {
		p.fillLocked() // its start's room under MaxStarting is free
	}
	p.mu.Unlock()
	freeSlot(free)
	return inv
}

// freeSlot gives back a slot that leaveReturningLocked returned, if any,
// once the pool's and the sandbox's locks are released.
func freeSlot(free func()) {
	if free != nil {
		free()
	}
}

// offerLocked hands sb to the first waiter or makes it idle. With take (the
// caller is sb's next), a waiter's invocation is taken for sb and returned.
func (p *pool) offerLocked(sb *sandbox, cold, take bool) *invocation {
	if w := p.popWaiterLocked(); w != nil {
		sb.mu.Lock()
		sb.state = stReserved
		sb.mu.Unlock()
		g := grant{sb: sb, cold: cold && sb.invocations == 0}
		var inv *invocation
		if take && w.inv != nil {
			inv, g.taken = w.inv, true
			inv.start(p.inv.clock.Now())
			inv.cold = g.cold
		}
		w.ch <- g
		return inv
	}
	sb.mu.Lock()
	sb.state = stIdle
	sb.idleSince = p.inv.clock.Now()
	sb.mu.Unlock()
	p.idle = append(p.idle, sb)
	p.inv.budget.wake() // an idle sandbox can make room for another version
	return nil
}

// returnWait is how long a waiting call counts on a sandbox on its way back to
// next after posting a result (pool.returning), instead of having one started
// for it. A runtime normally calls next again within microseconds to
// milliseconds of its result; one that takes longer (work after the result, a
// hang) keeps its environment busy, as on Lambda, and the call gets another
// sandbox (checkReturns) rather than waiting as long as the returning
// invocation's timeout allows.
const returnWait = 100 * time.Millisecond

// checkReturns runs returnWait after a call began to wait in a pool with
// sandboxes returning: those returning for returnWait or longer are no longer
// counted on (late), and the waiting calls get starts of their own
// (fillLocked). Sandboxes returning for less are checked again once they are
// due. A late sandbox that comes back is served as any other (ready); one that
// never does is stopped at its invocation's deadline (stopOverdueReturns).
func (p *pool) checkReturns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.returnCheck = false
	if p.returning == 0 || len(p.waiters) == 0 {
		return
	}
	now := p.inv.clock.Now()
	next := time.Duration(0)
	for sb := range p.all {
		sb.mu.Lock()
		if sb.state == stReturning && !sb.lateReturn {
			if left := returnWait - now.Sub(sb.returnedAt); left > 0 {
				if next == 0 || left < next {
					next = left
				}
			} else {
				sb.lateReturn = true
				p.returning--
				p.late++
			}
		}
		sb.mu.Unlock()
	}
	p.fillLocked()
	if next > 0 {
		p.returnCheck = true
		p.inv.clock.AfterFunc(next, p.checkReturns)
	}
}

// leaveReturningLocked uncounts sb, which was returning, as it comes back to
// next or dies, and returns what gives back the concurrency slot it held
// (nil for none), for the caller to call once it has released the locks
// (freeSlot). p.mu and sb.mu are held.
func (p *pool) leaveReturningLocked(sb *sandbox) (free func()) {
	free, sb.heldSlot = sb.heldSlot, nil
	if sb.lateReturn {
		sb.lateReturn = false
		p.late--
		return free
	}
	p.returning--
	return free
}

// release returns a reserved sandbox that was not used.
func (p *pool) release(sb *sandbox) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sb.isStopping() || !p.servesLocked() {
		sb.stop()
		return
	}
	p.offerLocked(sb, false, false)
}

// offerEarly offers a sandbox whose runtime called next before posting the
// result it has just posted (see ready): that next is already waiting, so
// no later next will. Called once the result is recorded.
func (p *pool) offerEarly(sb *sandbox) {
	if !sb.earlyNext.Load() {
		return
	}
	var free func()
	defer func() { freeSlot(free) }() // after the unlock below
	p.mu.Lock()
	defer p.mu.Unlock()
	sb.mu.Lock()
	if sb.state != stReturning || !sb.earlyNext.CompareAndSwap(true, false) {
		sb.mu.Unlock()
		return
	}
	free = p.leaveReturningLocked(sb)
	if sb.isStopping() || !p.servesLocked() || sb.retiring(p.inv.clock.Now()) {
		sb.state = stDead
		sb.mu.Unlock()
		sb.stop()
		return
	}
	sb.forgetLastLocked()
	sb.mu.Unlock()
	p.offerLocked(sb, false, false)
}

// markReturning is called when a sandbox posts a result; free, when not
// nil, gives back the call's concurrency slot, which the sandbox holds until
// it leaves stReturning (or at once, if it is not returning: gone already).
func (p *pool) markReturning(sb *sandbox, free func()) {
	p.mu.Lock()
	sb.mu.Lock()
	if sb.state == stBusy {
		sb.state = stReturning
		sb.returnedAt = p.inv.clock.Now()
		sb.lateReturn = false
		p.returning++
		sb.heldSlot, free = free, nil
	}
	sb.mu.Unlock()
	p.mu.Unlock()
	freeSlot(free)
}

// died is called once the runtime sandbox has exited; it returns the state
// the sandbox was in.
func (p *pool) died(sb *sandbox) (prev sbState) {
	var free func()
	p.mu.Lock()
	sb.mu.Lock()
	prev = sb.state
	sb.state = stDead
	initErr, initTimedOut := sb.initErr, sb.initTimedOut
	sb.mu.Unlock()
	if _, ok := p.all[sb]; ok {
		delete(p.all, sb)
		p.inv.budget.give(memoryOf(p.cfg))
		close(sb.released)
	}
	switch prev {
	case stStarting:
		p.starting--
		if w := p.popWaiterLocked(); w != nil {
			w.ch <- grant{fail: &initFail{sb: sb, doc: initErr, timedOut: initTimedOut, initDur: p.inv.since(sb.startedAt)}, cold: true}
		} else if sb.provisioned {
			p.provisionedFailedLocked(sb, initErr, initTimedOut)
		}
	case stIdle:
		for i, x := range p.idle {
			if x == sb {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
	case stReturning:
		free = p.leaveReturningLocked(sb)
	}
	p.fillLocked()
	p.mu.Unlock()
	freeSlot(free)
	p.inv.forgetIfDone(p)
	return prev
}

// provisionedFailLogEvery spaces the log lines of a pool whose provisioned
// sandboxes keep failing their init.
const provisionedFailLogEvery = time.Minute

// provisionedMaxBackoff caps the wait before maintenance starts another
// provisioned sandbox of a version whose provisioned sandboxes keep failing
// their init.
const provisionedMaxBackoff = 5 * time.Minute

// provisionedBackoff is the wait after the nth provisioned sandbox in a row
// (n from 1) to fail its init: 1 s, 2 s, 4 s, ... up to
// provisionedMaxBackoff, so that a version whose init always fails is not
// started again every second forever (r-invoker28 #4).
func provisionedBackoff(n int) time.Duration {
	return min(time.Second<<min(max(n-1, 0), 16), provisionedMaxBackoff)
}

// provisionedFailedLocked logs a provisioned sandbox that failed its init with
// no caller to report it to, which the pool's maintenance replaces: a version
// whose init always fails would otherwise crash-loop unseen. The first failure
// is logged, then one line a minute with the count.
func (p *pool) provisionedFailedLocked(sb *sandbox, initErr []byte, timedOut bool) {
	why := "the runtime exited during init"
	switch {
	case timedOut:
		why = "init timed out"
	case len(initErr) > 0:
		why = "init failed: " + string(initErr[:min(len(initErr), 512)])
	}
	p.provFailure = why
	p.unseenFails++
	now := p.inv.clock.Now()
	p.provFails++
	p.provRetryAt = now.Add(provisionedBackoff(p.provFails))
	if !p.failLogged.IsZero() && now.Sub(p.failLogged) < provisionedFailLogEvery {
		return
	}
	p.inv.log.Warn("provisioned sandbox failed its init; another will be started (fix the function's init, or remove its provisioned concurrency)",
		"function", p.cfg.FunctionName, "version", p.cfg.Version, "sandbox", sb.id, "failures", p.unseenFails, "reason", why)
	p.failLogged, p.unseenFails = now, 0
}

// initFailure is the outcome of call id when the sandbox started for it failed
// during init: the runtime's /init/error, Runtime.InitError for an init past
// Config.InitTimeout, else Runtime.ExitError, worded as Lambda words it for the
// invocation that waited for the init.
func (i *Invoker) initFailure(f *initFail, id string) *outcome {
	switch {
	case f.doc != nil:
		return &outcome{functionError: true, payload: f.doc}
	case f.timedOut:
		msg := fmt.Sprintf("init did not finish within %s: the runtime never called %s", i.p.Config.InitTimeout, pathNext)
		return &outcome{functionError: true, payload: errorDoc("Runtime.InitError", msg),
			note: faultLines("RequestId: "+id+" Error: "+msg, "Runtime.InitError")}
	case entrypointCannotRun(f.sb) != nil:
		msg := "RequestId: " + id + " Error: " + entrypointCannotRun(f.sb).Error()
		return &outcome{functionError: true, payload: errorDoc("Runtime.InvalidEntrypoint", msg), note: faultLines(msg, "Runtime.InvalidEntrypoint")}
	default:
		typ, reason := "Runtime.ExitError", exitReason(f.sb)
		if why := entrypointFailure(f.sb); why != "" {
			typ, reason = "Runtime.InvalidEntrypoint", reason+": "+why
		}
		msg := "RequestId: " + id + " Error: " + reason
		return &outcome{functionError: true, payload: errorDoc(typ, msg), note: faultLines(msg, typ)}
	}
}

// entrypointCannotRun returns the runtime's error for a sandbox whose
// entrypoint could not be exec'd at all (runtimes.EntrypointError), else nil.
func entrypointCannotRun(sb *sandbox) *runtimes.EntrypointError {
	if sb.rt == nil {
		return nil
	}
	var ee *runtimes.EntrypointError
	if errors.As(sb.rt.Err(), &ee) {
		return ee
	}
	return nil
}

// entrypointFailure says what an init that ended in exit status 126 or 127
// most likely means, and what to do, or "" for any other end. Those are the
// statuses of an entrypoint that could not be run (126: not executable, or not
// readable by the sandbox's user; 127: not found), which Lambda answers with
// Runtime.InvalidEntrypoint. A container sandbox runs as a non-root user, so an
// image whose files only root may read fails here.
func entrypointFailure(sb *sandbox) string {
	if sb.rt == nil {
		return ""
	}
	var ee *runtimes.ExitError
	if !errors.As(sb.rt.Err(), &ee) || ee.Signo != 0 || ee.Signal != "" {
		return ""
	}
	switch ee.Code {
	case 126:
		return "the entrypoint (or a program it runs) could not be run: it is not executable, or the sandbox's user may not read it; " +
			"make the function's files readable, and its entrypoint executable, by any user (chmod 0755), as Lambda requires"
	case 127:
		if line := execFailedLine(sb); line != "" {
			// The sandbox's init (tini) could not exec the entrypoint, and
			// said why. A binary built for another CPU is refused by the
			// kernel (ENOEXEC), and tini's execvp then runs it as a script
			// with /bin/sh: where the sandbox has no shell, the error it
			// quotes is the shell's ENOENT.
			notFound := strings.HasSuffix(line, ": No such file or directory")
			zip := sb.cfg.PackageType != functions.PackageImage
			if zip && notFound && sb.inv != nil {
				// A Zip function's bootstrap is on this host: read its
				// ELF header.
				if arch := runtimes.ForeignArch(filepath.Join(sb.inv.p.Functions.CodeDir(sb.cfg), "bootstrap")); arch != "" {
					return "the entrypoint could not be run (" + line + "): " + runtimes.ForeignArchAdvice(arch) +
						"; the kernel refused it (exec format error), and the sandbox has no shell to try it as a script"
				}
			}
			if notFound && execPath(line) == "/bin/sh" {
				// The entrypoint is the shell itself: the shell form of
				// ENTRYPOINT or CMD (ENTRYPOINT /var/task/bootstrap runs
				// /bin/sh -c ...), in an image without one.
				return "the entrypoint could not be run (" + line + "): the image's ENTRYPOINT (or CMD) runs /bin/sh, which the image does not have: " +
					"the shell form (ENTRYPOINT /var/task/bootstrap) runs its command with /bin/sh -c; use the exec form " +
					`(ENTRYPOINT ["/var/task/bootstrap"]), or an image with a shell`
			}
			if notFound && !zip {
				// The image's files are not on this host to read: whether
				// the file is there (and built for another CPU) cannot be
				// told, so no rebuild is advised.
				return "the entrypoint could not be run (" + line + "): it is not found in the image (check the path in the image's ENTRYPOINT, " +
					"or the function's ImageConfig EntryPoint), or it is a script whose #! line names an interpreter the image lacks, " +
					"or a binary built for another CPU architecture than this machine's " + runtime.GOARCH +
					" (the kernel refuses it, and the sandbox then finds no /bin/sh to try it as a script)"
			}
			why := "the entrypoint could not be run (" + line + "): it is missing, or it is a script without a #! line, " +
				"or one whose #! line names an interpreter the sandbox lacks"
			why += "; check the image's ENTRYPOINT or the package's bootstrap"
			if zip && notFound {
				// Lambda's provided runtimes have /bin/sh; Portico's Zip
				// base image has no shell (docs/runtimes.md).
				why += zipNoShell
			}
			return why
		}
		return "the entrypoint (or a program it runs) was not found: check the image's ENTRYPOINT or the package's bootstrap"
	}
	return ""
}

// zipNoShell ends the message of a Zip function whose bootstrap could not be
// found, or the interpreter its #! line names: the Zip base image of the
// container runtimes has no shell, unlike Lambda's provided runtimes.
const zipNoShell = "; the Zip base image has no shell (/bin/sh) or other interpreter: make bootstrap a static binary " +
	"(or a script whose interpreter the package ships), or use an Image function"

// tiniFatal starts the line a container's init (docker's tini) writes when
// it cannot exec the entrypoint, before it exits with status 127.
var tiniFatal = []byte("[FATAL tini (")

// execFailedLine returns what the sandbox's init said when it could not exec
// the entrypoint ("exec /var/task/bootstrap failed: Exec format error"), found
// in the output of the sandbox's init, or "".
func execFailedLine(sb *sandbox) string {
	sb.mu.Lock()
	out := sb.initOut
	sb.mu.Unlock()
	if out == nil {
		return ""
	}
	b := out.bytes()
	i := bytes.Index(b, tiniFatal)
	if i < 0 {
		return ""
	}
	line := b[i+len(tiniFatal):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	if _, rest, ok := bytes.Cut(line, []byte("] ")); ok {
		line = rest
	}
	return strings.TrimSpace(string(line))
}

// execPath is the program a line of execFailedLine names ("exec PATH
// failed: ..."), or "".
func execPath(line string) string {
	rest, ok := strings.CutPrefix(line, "exec ")
	if !ok {
		return ""
	}
	path, _, ok := strings.Cut(rest, " failed: ")
	if !ok {
		return ""
	}
	return path
}

// exitReason is how Lambda words a runtime's exit after "Error: ": "Runtime
// exited with error: exit status 4" (or "signal: killed", as the runtime's
// runtimes.ExitError reads), and for a clean exit, status 0, "Runtime exited
// without providing a reason". Call it once sb is gone.
func exitReason(sb *sandbox) string {
	err := errSandboxGone
	if sb.rt != nil {
		err = sb.rt.Err()
	}
	if err == nil {
		return "Runtime exited without providing a reason"
	}
	return "Runtime exited with error: " + err.Error()
}

// start starts one sandbox for the pool; starting (and Invoker.starts) was
// already counted. It first takes the sandbox's room in the invoker's budget. A
// start for provisioned concurrency (provision) that finds no room gives up
// quietly and is tried again at the next maintenance tick; one for waiting
// callers fails the first waiter. A start the pool no longer needs while it
// waits for room (its waiters were served by sandboxes that came back, or the
// pool went stale) gives up quietly: it must not stop another version's idle
// sandbox, or start one, for nobody.
func (p *pool) start(provision bool) {
	defer p.inv.starts.Done()
	err := p.inv.reserve(context.Background(), p, provision)
	if err == nil {
		p.mu.Lock()
		p.launching++
		p.mu.Unlock()
		if _, err = p.inv.startSandbox(p, provision); err != nil {
			p.inv.budget.give(memoryOf(p.cfg))
		}
		p.mu.Lock()
		p.launching--
		p.mu.Unlock()
	}
	if err != nil {
		p.mu.Lock()
		p.starting--
		if provision {
			p.provPending--
		}
		// At the sandbox budget, waiters stay queued while the pool has
		// sandboxes of its own: each takes the next one that comes back, as
		// Lambda, whose concurrency the local budget does not stand for, would
		// have served them. A pool with none fails its first waiter.
		queue := errors.Is(err, errdefs.ErrThrottled) && len(p.all) > 0
		if !provision && !queue && !errors.Is(err, errStartUnneeded) {
			if w := p.popWaiterLocked(); w != nil {
				w.ch <- grant{err: err}
			}
		}
		p.fillLocked()
		p.mu.Unlock()
		p.inv.forgetIfDone(p)
	}
}

// spare is a sandbox prepared ahead of need (runtimes.Preparer): its endpoint is
// bound and its container or task created, so a cold start runs only its start.
type spare struct {
	sb       *sandbox
	prepared runtimes.Prepared
}

// runtimeAPIIdle bounds how long a Runtime API connection may idle between
// requests. A runtime's connection idles while its function runs, which may be
// as long as the longest function timeout.
const runtimeAPIIdle = functions.MaxTimeout*time.Second + time.Minute

// runtimeAPIBodyTimeout is how long a runtime has to send a request's body
// (a result of up to 6 MB) from the end of its header: the gateway's default
// (listener.DefaultLimits), so that a slow sandbox's large result is not cut
// off, while a body that trickles in ties a connection up no longer. A
// variable for tests.
var runtimeAPIBodyTimeout = listener.DefaultLimits().BodyTimeout

// runtimeAPIMaxConns bounds the connections one address holds open on a
// sandbox's Runtime API endpoint. A runtime needs one or two (its next loop,
// an extension's); without a bound, code in a sandbox could open connections
// until Portico runs out of file descriptors and every listener of the server
// stops accepting. Connections past it are closed at once.
const runtimeAPIMaxConns = 64

// newSandbox makes the invoker side of a sandbox: its Runtime API endpoint, bound
// and serving, and the runtime spec that names it.
func (i *Invoker) newSandbox(p *pool, provisioned bool) (*sandbox, runtimes.Spec, error) {
	sb := &sandbox{
		id:          "sbx-" + strings.ReplaceAll(newID(), "-", "")[:20],
		inv:         i,
		pool:        p,
		cfg:         p.cfg,
		provisioned: provisioned,
		work:        make(chan *invocation),
		handback:    make(chan *invocation, 1),
		stopping:    make(chan struct{}),
		halted:      make(chan struct{}),
		gone:        make(chan struct{}),
		released:    make(chan struct{}),
		pumped:      make(chan struct{}),
		started:     make(chan struct{}),
		state:       stStarting,
		startedAt:   i.clock.Now(),
	}
	ln, err := i.listenRuntimeAPI()
	if err != nil {
		return nil, runtimes.Spec{}, err
	}
	sb.ln = ln
	sb.forget = func() {}
	if i.listeners != nil {
		sb.forget = i.listeners.Add("Runtime API", ln.Addr().String())
	}
	head := i.p.Config.Listener.WithDefaults() // the header block is bounded as the gateway's
	limits := listener.Limits{MaxHeaderBytes: head.MaxHeaderBytes, HeaderTimeout: head.HeaderTimeout, BodyTimeout: runtimeAPIBodyTimeout, IdleTimeout: runtimeAPIIdle}
	sb.srv = h1.New(limits.Handler(sb), h1.Options{MaxHeaderBytes: limits.MaxHeaderBytes, ReadHeaderTimeout: limits.HeaderTimeout, IdleTimeout: limits.IdleTimeout, ConnContext: connContext,
		Vet: sb.vet, MaxConnsPerIP: runtimeAPIMaxConns, Refuse: runtimeAPIRefuse, Log: i.log.With("sandbox", sb.id, "function", p.cfg.FunctionName)})
	go func() { _ = sb.srv.Serve(ln) }()
	spec, err := i.spec(sb, ln.Addr().String())
	if err != nil {
		sb.abandon()
		return nil, runtimes.Spec{}, err
	}
	return sb, spec, nil
}

// listenRuntimeAPI binds a sandbox's Runtime API endpoint on the runtime's
// HostAddr. An address the host no longer has (the sandbox network removed
// under Portico: `docker network prune`) is repaired where the runtime can
// (runtimes.NetworkRepairer), then bound once more.
func (i *Invoker) listenRuntimeAPI() (net.Listener, error) {
	addr := net.JoinHostPort(i.rt.HostAddr(), "0")
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if rep, ok := i.rt.(runtimes.NetworkRepairer); ok && errors.Is(err, syscall.EADDRNOTAVAIL) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rerr := rep.RepairNetwork(ctx)
		cancel()
		if rerr != nil {
			i.log.Error("the sandbox network is gone and could not be set up again: restart Portico", "runtime", i.rt.Name(), "err", rerr)
			return nil, rerr
		}
		if ln, err = net.Listen("tcp", net.JoinHostPort(i.rt.HostAddr(), "0")); err == nil {
			return ln, nil
		}
		return nil, &runtimes.NetworkGoneError{Network: "the " + i.rt.Name() + " runtime's sandbox network", HostAddr: i.rt.HostAddr(),
			Err: fmt.Errorf("binding a Runtime API endpoint after setting it up again: %w", err)}
	}
	return nil, errdefs.New(errdefs.ErrUnavailable, "ServiceException", "binding a Runtime API endpoint: "+err.Error())
}

// abandon tears down the endpoint of a sandbox that never started.
func (sb *sandbox) abandon() {
	sb.rt = deadSandbox{}
	close(sb.started)
	sb.closeEndpoint()
}

// closeEndpoint closes the sandbox's Runtime API endpoint and forgets it.
func (sb *sandbox) closeEndpoint() {
	_ = sb.srv.Close()
	sb.forget()
}

// startSandbox starts a sandbox for the pool: for a caller, the pool's
// prepared spare when it has one (an on-demand sandbox), else a new one;
// provisioned, a new one. (The next spare is prepared once the cold sandbox has
// served its first invocation, so that preparing it does not compete with the
// sandbox's init.)
func (i *Invoker) startSandbox(p *pool, provisioned bool) (*sandbox, error) {
	cfg := p.cfg
	ctx, cancel := context.WithTimeout(context.Background(), i.p.Config.InitTimeout+30*time.Second)
	defer cancel()
	var sp *spare
	if !provisioned {
		sp = p.takeSpare()
	}
	if sp != nil {
		sp.sb.startedAt = i.clock.Now()
		rsb, err := sp.prepared.Start(ctx)
		if err == nil {
			i.launch(p, sp.sb, rsb)
			return sp.sb, nil
		}
		sp.sb.abandon()
		i.log.Warn("prepared sandbox failed to start; starting a new one", "function", cfg.FunctionName, "version", cfg.Version, "err", err)
	}
	sb, spec, err := i.newSandbox(p, provisioned)
	if err != nil {
		return nil, err
	}
	rsb, err := i.rt.Start(ctx, spec)
	if err != nil {
		sb.abandon()
		if gone := (*runtimes.ImageGoneError)(nil); errors.As(err, &gone) {
			return nil, i.explainGone(gone, spec)
		}
		if errdefs.IsKind(err) {
			return nil, err
		}
		return nil, errdefs.New(errdefs.ErrUnavailable, "ServiceException",
			fmt.Sprintf("sandbox for %s:%s could not start on the %s runtime: %v", cfg.FunctionName, cfg.Version, i.rt.Name(), err))
	}
	i.launch(p, sb, rsb)
	return sb, nil
}

// SetFormerRuntime tells the invoker the runtime the data directory ran on
// before this one ("" for none; runtimes.RecordRuntime), so that an Image
// function whose pinned image is missing is told it was pinned there. Safe
// for concurrent use.
func (i *Invoker) SetFormerRuntime(name string) { i.formerRuntime.Store(&name) }

// explainGone returns gone, the error of a sandbox whose pinned image is
// missing, naming this runtime, the one the data directory ran on before (if
// any) and the image as the function names it, for its message to say why
// and what to do.
func (i *Invoker) explainGone(gone *runtimes.ImageGoneError, spec runtimes.Spec) error {
	c := *gone
	c.Runtime, c.Ref = i.rt.Name(), spec.ImageRef
	if f := i.formerRuntime.Load(); f != nil {
		c.Former = *f
	}
	if c.Function == "" {
		c.Function, c.Version = spec.Function, spec.Version
	}
	return &c
}

// launch adopts a running runtime sandbox: the pool tracks it, its output is
// pumped, its exit watched, and its init bounded.
func (i *Invoker) launch(p *pool, sb *sandbox, rsb runtimes.Sandbox) {
	cfg := p.cfg
	i.launched.Add(1)
	sb.rt = rsb
	// The init, its duration (REPORT's Init Duration) and its timeout count
	// from here: the sandbox's own, not the runtime's start of it, which can
	// wait for a daemon coming back from an outage.
	sb.mu.Lock()
	sb.startedAt = i.clock.Now()
	sb.mu.Unlock()
	close(sb.started)
	p.mu.Lock()
	p.all[sb] = struct{}{}
	if sb.provisioned {
		p.provPending-- // now counted in all
	}
	p.mu.Unlock()
	go sb.pump(rsb.Logs(), i.logs.get(cfg.FunctionName))
	go sb.watch()
	sb.refreshMemory() // a first figure for the first REPORT
	i.clock.AfterFunc(i.p.Config.InitTimeout, func() {
		sb.mu.Lock()
		late := sb.state == stStarting
		if late {
			sb.initTimedOut = true
		}
		sb.mu.Unlock()
		if late {
			i.log.Warn("sandbox init timed out", "function", cfg.FunctionName, "version", cfg.Version, "sandbox", sb.id)
			sb.stop()
		}
	})
}

// takeSpare removes and returns the pool's prepared spare, if any.
func (p *pool) takeSpare() *spare {
	p.mu.Lock()
	defer p.mu.Unlock()
	sp := p.spare
	p.spare = nil
	return sp
}

// prepareSpare prepares one spare sandbox for the pool if the runtime can and the
// pool has none. Spares are made only for versions that have been started, so
// only versions being called pay for one.
func (p *pool) prepareSpare() {
	prep, ok := p.inv.rt.(runtimes.Preparer)
	if !ok {
		return
	}
	i := p.inv
	i.mu.Lock()
	if i.closing {
		i.mu.Unlock()
		return
	}
	i.preparing.Add(1) // Stop waits for it, so no prepared sandbox outlives the runtime
	i.mu.Unlock()
	defer i.preparing.Done()
	if !i.reserveSpare(p) {
		return
	}

	sb, spec, err := p.inv.newSandbox(p, false)
	var prepared runtimes.Prepared
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), p.inv.p.Config.InitTimeout+30*time.Second)
		prepared, err = prep.Prepare(ctx, spec)
		cancel()
		if err != nil {
			sb.abandon()
		}
	}
	p.mu.Lock()
	p.preparing = false
	keep := err == nil && !p.stale
	if keep {
		p.spare = &spare{sb: sb, prepared: prepared}
	}
	p.mu.Unlock()
	if err != nil {
		p.inv.log.Debug("preparing a spare sandbox", "function", p.cfg.FunctionName, "version", p.cfg.Version, "err", err)
		return
	}
	if !keep {
		discardSpare(&spare{sb: sb, prepared: prepared})
	}
}

// reserveSpare marks p as preparing a spare, unless it has or is preparing one,
// is stale, or the invoker-wide cap (Config.MaxSpares) is reached and no spare
// can give way: at the cap, the spare of the pool used least recently goes, if
// that pool was used less recently than p.
func (i *Invoker) reserveSpare(p *pool) bool {
	limit := i.p.Config.MaxSpares
	if limit <= 0 {
		return false
	}
	i.spareMu.Lock() // one reservation at a time, so the count holds until p is marked
	defer i.spareMu.Unlock()
	p.mu.Lock()
	used, busy := p.lastUsed, p.spare != nil || p.preparing || p.stale
	p.mu.Unlock()
	if busy {
		return false
	}
	count := 0
	var victim *pool
	var victimUsed time.Time
	i.mu.Lock()
	for _, q := range i.pools {
		q.mu.Lock()
		if q.spare != nil || q.preparing {
			count++
		}
		if q != p && q.spare != nil && q.lastUsed.Before(used) && (victim == nil || q.lastUsed.Before(victimUsed)) {
			victim, victimUsed = q, q.lastUsed
		}
		q.mu.Unlock()
	}
	i.mu.Unlock()
	if count >= limit {
		if victim == nil {
			return false
		}
		victim.mu.Lock()
		sp := victim.spare
		victim.spare = nil
		victim.mu.Unlock()
		if sp != nil { // else a cold start took it meanwhile, which made room too
			i.log.Debug("spare cap reached: discarding the spare of the least recently used version",
				"function", victim.cfg.FunctionName, "version", victim.cfg.Version)
			go discardSpare(sp)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.spare != nil || p.preparing || p.stale {
		return false
	}
	p.preparing = true
	return true
}

// discardSpare removes a prepared sandbox that will not be started.
func discardSpare(sp *spare) {
	sp.sb.inv.stopping.Add(1)
	defer sp.sb.inv.stopping.Add(-1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = sp.prepared.Discard(ctx)
	sp.sb.abandon()
}

// spec builds the runtime spec, environment included.
func (i *Invoker) spec(sb *sandbox, apiAddr string) (runtimes.Spec, error) {
	cfg := sb.cfg
	env := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          apiAddr,
		"AWS_LAMBDA_FUNCTION_NAME":        cfg.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION":     cfg.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": fmt.Sprint(cfg.MemorySize),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     fmt.Sprint(cfg.Timeout),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + cfg.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      i.clock.Now().UTC().Format("2006/01/02") + "/[" + cfg.Version + "]" + sb.id,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      functions.Region,
		"AWS_DEFAULT_REGION":              functions.Region,
		"LAMBDA_TASK_ROOT":                "/var/task",
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
	}
	// An Image function's handler is its CMD, which the runtime reads
	// (runtimes.Spec: the first word of Command, else of the image's CMD).
	if cfg.PackageType != functions.PackageImage {
		env["_HANDLER"] = handlerOf(cfg)
	}
	// Lambda leaves AWS_EXECUTION_ENV undefined for OS-only runtimes (the
	// provided family), and so for Image functions, which name none.
	if rn := runtimeName(cfg); cfg.PackageType != functions.PackageImage && !strings.HasPrefix(rn, "provided") {
		env["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + rn
	}
	// Lambda's PATH, LANG, TZ and LD_LIBRARY_PATH: an Image function keeps
	// its image's own values, and gets these only where the image sets none.
	var defaults map[string]string
	if cfg.PackageType == functions.PackageImage {
		defaults = make(map[string]string, len(envDefaults))
		for k, v := range envDefaults {
			if _, own := cfg.Environment[k]; !own {
				defaults[k] = v
			}
		}
	} else {
		maps.Copy(env, envDefaults)
	}
	if sb.provisioned {
		env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "provisioned-concurrency"
	}
	if i.p.Credentials != nil {
		cr := i.p.Credentials.Issue(cfg.FunctionName)
		env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = cr.AccessKeyID, cr.SecretAccessKey
		if cr.SessionToken != "" {
			env["AWS_SESSION_TOKEN"] = cr.SessionToken
		}
		sb.retireAt = RetireAt(cr.Expires, i.clock.Now())
	}
	if n := sandboxProcs(cfg.MemorySize, runtime.NumCPU()); n > 0 {
		env["GOMAXPROCS"] = strconv.Itoa(n)
	}
	if i.endpoints != nil {
		maps.Copy(env, i.endpoints.SandboxEndpoints()) // the function's own values win, below
	}
	for k, v := range cfg.Environment {
		env[k] = v
	}
	spec := runtimes.Spec{
		SandboxID:   sb.id,
		Function:    cfg.FunctionName,
		Version:     cfg.Version,
		PackageType: cfg.PackageType,
		Env:         env,
		DefaultEnv:  defaults,
		MemoryMB:    cfg.MemorySize,
	}
	if i.p.Trust != nil {
		spec.Trust = i.p.Trust.SandboxTrust()
	}
	if cfg.PackageType == functions.PackageImage {
		spec.Image = cfg.ResolvedImage
		if spec.Image == "" || spec.Image == cfg.ImageURI {
			spec.Image = cfg.ImageURI
		} else {
			spec.ImageRef = cfg.ImageURI // errors name the image as the user does
		}
		if ic := cfg.ImageConfig; ic != nil {
			spec.EntryPoint, spec.Command, spec.WorkingDir = ic.EntryPoint, ic.Command, ic.WorkingDirectory
		}
	} else {
		spec.CodeDir = i.p.Functions.CodeDir(cfg)
		var err error
		if r, ok := i.p.Functions.(codeRepairer); ok {
			// A sandbox start has no caller's context (it outlives the
			// invoke that asked for it); a re-unpack is bounded here.
			ctx, cancel := context.WithTimeout(context.Background(), codeRepairTimeout)
			err = r.RepairCode(ctx, cfg)
			cancel()
		} else {
			_, err = os.Stat(spec.CodeDir)
		}
		if errors.Is(err, os.ErrNotExist) {
			// Not the function's fault: the server's store lost it. The path is
			// for the operator's log only.
			i.log.Error("a function's code is missing from the data directory: put the data directory back if it was moved or removed while the server ran; else restore code/ from the backup that goes with portico.db, or update the function's code",
				"function", cfg.FunctionName, "version", cfg.Version, "path", spec.CodeDir)
			return runtimes.Spec{}, &codeMissingError{arn: functions.ARN(cfg.FunctionName, cfg.Version)}
		}
	}
	for _, fs := range cfg.FileSystems {
		name := fs.Arn
		if k := strings.LastIndexByte(name, ':'); k >= 0 {
			name = name[k+1:]
		}
		dir, err := i.p.Functions.VolumeDir(name)
		if err != nil {
			return runtimes.Spec{}, err
		}
		spec.Mounts = append(spec.Mounts, runtimes.Mount{Source: dir, Target: fs.LocalMountPath})
	}
	return spec, nil
}

// envDefaults are the values Lambda gives PATH, LANG, TZ and LD_LIBRARY_PATH
// (none of them reserved: a function's Environment may set them).
var envDefaults = map[string]string{
	"PATH":            "/usr/local/bin:/usr/bin:/bin:/opt/bin",
	"LANG":            "en_US.UTF-8",
	"TZ":              ":UTC",
	"LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
}

// mbPerCPU is Lambda's rule for CPU: a function gets CPU power in proportion to
// its memory, the equivalent of one vCPU at 1,769 MB.
const mbPerCPU = 1769

// sandboxProcs is the GOMAXPROCS a sandbox of memoryMB runs with: the CPUs its
// memory size buys under Lambda's rule, rounded up, at least one and at most the
// host's ncpu. A Go runtime would otherwise run as many schedulers as the host
// has CPUs, and on a small host the sandboxes' idle schedulers waking one
// another cost more CPU than the handlers (docs/performance.md). A function that
// sets GOMAXPROCS in its own environment keeps its value.
func sandboxProcs(memoryMB, ncpu int) int {
	if memoryMB <= 0 {
		memoryMB = functions.DefaultMemory
	}
	n := (memoryMB + mbPerCPU - 1) / mbPerCPU
	return max(1, min(n, ncpu))
}

func handlerOf(cfg *functions.Config) string {
	if cfg.Handler != "" {
		return cfg.Handler
	}
	return "bootstrap"
}

func runtimeName(cfg *functions.Config) string {
	if cfg.Runtime != "" {
		return cfg.Runtime
	}
	return "provided.al2023"
}

// codeRepairer is the optional ability of a Functions to check a Zip
// function's unpacked code before a sandbox starts from it, and to unpack it
// again from its archive when it is missing or incomplete
// (*functions.Service.RepairCode); the error wraps os.ErrNotExist when the
// code cannot be brought back.
type codeRepairer interface {
	RepairCode(ctx context.Context, cfg *functions.Config) error
}

var _ codeRepairer = (*functions.Service)(nil)

// codeRepairTimeout bounds the unpack of a Zip function's code again before a
// sandbox start.
const codeRepairTimeout = time.Minute

// ErrCodeMissing is in the chain of the error of a call that needed a new
// sandbox of a Zip function whose code is not in the data directory (moved or
// removed under the running server, say): Portico's store cannot serve it for
// now, as it cannot take writes then (errdefs.ErrUnavailable is in the chain
// too).
var ErrCodeMissing = errors.New("function code missing from the data directory")

// codeMissingError is the error of a Zip function whose unpacked code is not
// in the data directory: a fault of the server's store, not of the function,
// so 503 ServiceException whose message (ClientMessage, which the admin API
// gives instead of its generic one) says what is missing and what to do,
// without the server's path.
type codeMissingError struct{ arn string }

// Error implements error.
func (e *codeMissingError) Error() string { return e.ClientMessage() }

// ClientMessage is what the caller is told.
func (e *codeMissingError) ClientMessage() string {
	return "The code of " + e.arn + " is missing from the server's data directory, so it cannot run. If the data directory was moved or removed " +
		"while the server ran (its log then says so), the server's operator can put it back where it was (or remount its volume); otherwise " +
		"restore code/ from the backup that goes with portico.db, or update the function's code (UpdateFunctionCode; portico fn update --dir DIR, or --zip FILE)"
}

// Unwrap gives the kind (ErrUnavailable, ServiceException) and ErrCodeMissing.
func (e *codeMissingError) Unwrap() []error {
	return []error{&errdefs.Kinded{Kind: errdefs.ErrUnavailable, Type: "ServiceException", Message: e.ClientMessage()}, ErrCodeMissing}
}
