package invoker

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/runtimes"
)

type sbState int

const (
	stStarting  sbState = iota // started, init not finished (no next yet)
	stIdle                     // blocked in next, in the pool's idle list
	stReserved                 // handed to a caller, waiting for the invocation
	stBusy                     // running an invocation
	stReturning                // posted a result, not yet back in next
	stDead
)

// sandbox is the invoker's view of one runtime sandbox: its Runtime API endpoint,
// its state in the pool, and the invocation it is running.
type sandbox struct {
	id   string
	inv  *Invoker
	pool *pool
	cfg  *functions.Config
	// provisioned says that the sandbox was started for its pool's
	// provisioned concurrency (pool.minWarm), not for a caller: it sees
	// AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency, callers take
	// it before an on-demand one, and it is kept warm. Set at creation.
	provisioned bool
	rt          runtimes.Sandbox
	ln          net.Listener
	srv         *h1.Server // the Runtime API endpoint
	forget      func()     // takes the endpoint out of the invoker's listeners (closeEndpoint)
	work        chan *invocation
	// handback holds an invocation that a next took but could not deliver (its
	// client had gone, or a newer next replaced it), for the next that follows.
	handback chan *invocation

	// started is closed once rt is set (or the start failed).
	started chan struct{}

	stopOnce sync.Once
	stopping chan struct{} // closed when the invoker starts stopping it
	// halted is closed once the runtime's Stop has returned (the sandbox's
	// processes are gone, or the stop failed), the sandbox exited, or it had
	// no runtime sandbox to stop. Only then is a waiting next answered 410:
	// before, it waits, as Lambda never answers the next of an environment
	// it retires, so that a runtime does not log the answer as an error
	// (aws-lambda-go's "failed to GET .../next") on a normal spin-down.
	haltOnce sync.Once
	halted   chan struct{}
	// cutOff is set when Invoker.Stop stops the sandbox: the invocation it
	// runs is cut off by the shutdown, not failed by the function.
	cutOff   atomic.Bool
	gone     chan struct{} // closed once the runtime sandbox has exited
	released chan struct{} // closed once its room in the budget is given back
	pumped   chan struct{} // closed once pump has copied all of its output

	// memMB is the peak memory last measured; memBusy is set while a
	// measurement runs.
	memMB   atomic.Int64
	memBusy atomic.Bool
	memAt   atomic.Int64 // unix nanos of the last measurement's start

	// logMu is held by the log pump while it handles a chunk of output.
	logMu sync.Mutex

	mu    sync.Mutex
	state sbState
	next  *nextWait // the next that waits for an invocation, if any
	// sending counts callers about to block sending on work: a next that
	// finds one waits on the channels instead of parking in the poller.
	sending int
	cur     *invocation
	// exts are the extensions registered with the Extensions API, and
	// invokeExts those of them registered for INVOKE (a slice replaced, not
	// changed, when one registers: answerNext reads it).
	exts       []*extension
	invokeExts []*extension
	// earlyNext is set when the runtime called next before posting cur's
	// result (pool.ready): the result then offers the sandbox itself. Set
	// and cleared with the pool's and the sandbox's locks held; read
	// without them first, so that a result costs no lock when it is unset.
	earlyNext atomic.Bool
	// answering is the last invocation whose caller armed an answer
	// (armAnswer): the sandbox's end wakes its caller if it still waits.
	answering *invocation
	// overdue is cur when a maintenance pass found it returning past its
	// deadline (stopOverdueReturns).
	overdue *invocation
	// tailOf is the invocation whose log tail the pump fills: set at its START
	// and kept after its result until finishInvocation has synced the logs.
	// The sandbox takes no other invocation before (settleResult), so the
	// output written before a result is its invocation's alone.
	tailOf *invocation
	// logsBehind says that the last invocation's output may still be on its
	// way (a runtime without LogsPending, not synced for a call without a
	// log tail): a call with a tail syncs it before its START (answerNext).
	logsBehind   bool
	initErr      []byte
	initTimedOut bool
	// initOut is the tail of the sandbox's output until its init ends
	// (initEnded, at its first next): a call whose sandbox fails its init
	// gets it in its log tail.
	initOut      *tailBuf
	initEnded    bool
	startedAt    time.Time
	initDuration time.Duration
	invocations  int
	idleSince    time.Time
	// returnedAt is when the sandbox last posted a result (stReturning);
	// lateReturn says that it has been returning too long for calls to
	// count on it (pool.checkReturns). Both guarded by the pool's mu too.
	returnedAt time.Time
	lateReturn bool
	// heldSlot gives back the concurrency slot of the call whose result the
	// sandbox posted, once it leaves stReturning (leaveReturningLocked):
	// back in next, or gone. Guarded by the pool's mu too.
	heldSlot func()
	// retireAt, when set, is when the sandbox's credentials are about to expire:
	// from then on it takes no invocation and is stopped (spec sets it).
	retireAt time.Time
}

// forgetLastLocked lets go of the invocation sb has finished, as it goes back
// to next: an idle sandbox must not keep its last payload and Result alive (a
// function answering megabytes would pin them in every idle sandbox until it
// is stopped). The invocation's caller has it, or has been woken for it: the
// result that sent sb back settled it first (settleResult). sb.mu is held.
func (sb *sandbox) forgetLastLocked() {
	sb.cur, sb.answering, sb.overdue = nil, nil, nil
}

// retiring reports whether sb is past its retirement (its credentials near
// expiry).
func (sb *sandbox) retiring(now time.Time) bool {
	return !sb.retireAt.IsZero() && !now.Before(sb.retireAt)
}

// newID returns a random UUID, for request, sandbox and extension ids.
func newID() string { return ids.UUID() }

// peerKey keys the per-connection verdict in a request's context.
type peerKey struct{}

// peerVerdict is what the Runtime API knows of one connection: it holds the
// connection for the long polls that watch it. Only connections that the
// sandbox's peer check accepted get one (sandbox.vet).
type peerVerdict struct {
	conn net.Conn
	peek h1.ConnPeek
	// A next parked on the connection (park_linux.go): its file descriptor
	// access, the poller's look (made once per connection), the next and what
	// the look saw.
	raw      syscall.RawConn
	wait     func(fd uintptr) bool
	parked   *nextWait
	readable bool
}

// connContext gives every accepted connection its own verdict slot.
func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, peerKey{}, &peerVerdict{conn: c})
}

// connOf returns what the Runtime API knows of the connection r arrived on
// (nil if nothing).
func connOf(r *http.Request) *peerVerdict {
	v, _ := r.Context().Value(peerKey{}).(*peerVerdict)
	return v
}

// clientGone reports whether the client of the request on v's connection has
// gone (see h1.ConnPeek.Gone).
func (v *peerVerdict) clientGone() bool {
	return v != nil && v.peek.Gone(v.conn)
}

// connOrNil returns v's connection, nil for a nil v.
func (v *peerVerdict) connOrNil() net.Conn {
	if v == nil {
		return nil
	}
	return v.conn
}

// vet is the Runtime API server's check of a connection as it is accepted
// (h1.Options.Vet): whether it comes from inside this sandbox. It runs before
// the connection counts against the per-address bound, so that connections
// from elsewhere (another process sandbox shares the host's loopback address)
// are closed at once and cannot use up the sandbox's own. Runtimes that cannot
// tell (no PeerVerifier) rely on the endpoint being reachable only from the
// sandbox.
func (sb *sandbox) vet(c net.Conn) bool {
	<-sb.started
	pv, ok := sb.rt.(runtimes.PeerVerifier)
	return !ok || pv.OwnsConn(c.RemoteAddr())
}

// allowed reports whether the request comes from inside this sandbox: its
// connection passed vet, which the server runs on every connection before
// serving it.
func (sb *sandbox) allowed(r *http.Request) bool {
	return connOf(r) != nil
}

// nextWait is a next request that waits for the sandbox's invocation. Its
// fields are guarded by the sandbox's mu, but for taken.
//
// A next waits in one of two ways. Parked (parkNext), its goroutine waits in
// the network poller on its own connection, and a caller that finds it so
// writes the invocation itself (takeNext, deliverTo), with no goroutine
// hand-off: the goroutine wakes when the runtime's next request (its result)
// or the client's end arrives on the connection, or when a read deadline in
// the past pokes it (pokeLocked: replaced, the sandbox stopping, an
// invocation handed back). Otherwise (a caller is already sending on work,
// or the connection cannot be parked on) it waits on the channels.
type nextWait struct {
	rc *peerVerdict // its connection
	w  http.ResponseWriter
	// parked: the goroutine waits in the poller, and a caller may take it.
	parked bool
	// taken is set when a caller took the next to write its invocation;
	// written is closed once it has (gone is set first if it found the
	// client gone and handed the invocation back instead).
	taken   atomic.Bool
	written chan struct{}
	// wake, made when the request starts to wait, is closed once: when a newer
	// next replaces it (kicked) or when its client has gone (gone).
	wake         chan struct{}
	kicked, gone bool
	ticks        int           // maintenance ticks seen while waiting
	watch        *h1.GoneWatch // armed by maintenance once the wait is long
}

// wakeLocked closes w.wake once, if made.
func (w *nextWait) wakeLocked() {
	if w.wake != nil && !w.kicked && !w.gone {
		close(w.wake)
	}
}

// enterNext makes the calling next the one that waits for the sandbox's
// invocations. A next already waiting is told to step aside (kicked): the
// runtime has called again, so the older request's connection is gone or
// abandoned, and one waiting next per sandbox is all it is served.
func (sb *sandbox) enterNext(rc *peerVerdict, rw http.ResponseWriter) *nextWait {
	w := &nextWait{rc: rc, w: rw}
	sb.mu.Lock()
	if old := sb.next; old != nil {
		old.wakeLocked()
		old.kicked = true
		old.pokeLocked()
	}
	sb.next = w
	sb.mu.Unlock()
	return w
}

// waitNext prepares w to wait: it returns the channel that wakes it, nil when
// it was replaced already.
func (sb *sandbox) waitNext(w *nextWait) <-chan struct{} {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if w.kicked {
		return nil
	}
	w.wake = make(chan struct{})
	return w.wake
}

// leaveNext ends w's wait; it reports whether w was replaced and whether its
// client had gone.
func (sb *sandbox) leaveNext(w *nextWait) (kicked, gone bool) {
	sb.mu.Lock()
	if sb.next == w {
		sb.next = nil
	}
	watch := w.watch
	w.watch = nil
	sb.mu.Unlock()
	watched := watch.Stop() // outside mu: its onGone takes mu
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return w.kicked, w.gone || watched
}

// watchLongNext arms a gone-watch on the sandbox's waiting next once it has
// waited through two maintenance ticks. Short waits, the hot path, never pay
// for a watch: a next whose client went away is found out at the latest here,
// when an invocation comes for it (clientGone), or when the sandbox stops.
func (sb *sandbox) watchLongNext() {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	w := sb.next
	if w == nil || w.wake == nil || w.watch != nil || w.kicked || w.gone {
		return
	}
	if w.ticks++; w.ticks < 2 {
		return
	}
	w.watch = h1.WatchGone(w.rc.connOrNil(), func() {
		sb.mu.Lock()
		w.wakeLocked()
		w.gone = true
		sb.mu.Unlock()
	})
}

func (sb *sandbox) current() *invocation {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.cur
}

// setInitError records a runtime's init/error; false outside init.
func (sb *sandbox) setInitError(doc []byte) bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.state != stStarting {
		return false
	}
	sb.initErr = doc
	return true
}

// halt closes halted and pokes the waiting next to answer.
func (sb *sandbox) halt() {
	sb.haltOnce.Do(func() { close(sb.halted) })
	sb.pokeNext()
}

func (sb *sandbox) isHalted() bool {
	select {
	case <-sb.halted:
		return true
	default:
		return false
	}
}

func (sb *sandbox) isStopping() bool {
	select {
	case <-sb.stopping:
		return true
	default:
		return false
	}
}

// stop stops the sandbox in the background: SIGTERM, grace, SIGKILL. The pool learns
// of it when the runtime reports the exit. A next waiting meanwhile is answered
// once the stop has returned (halt).
func (sb *sandbox) stop() {
	sb.stopOnce.Do(func() {
		close(sb.stopping)
		sb.inv.stopping.Add(1)
		go func() {
			defer sb.inv.stopping.Add(-1)
			defer sb.halt()
			if sb.rt != nil {
				ctx, cancel := context.WithTimeout(context.Background(), sb.inv.p.Config.StopGrace+10*time.Second)
				defer cancel()
				if err := sb.rt.Stop(ctx); err != nil {
					sb.inv.log.Warn("stopping sandbox", "sandbox", sb.id, "function", sb.cfg.FunctionName, "err", err)
				}
			}
		}()
	})
}

// stopWait stops the sandbox and waits until it is gone or ctx ends.
func (sb *sandbox) stopWait(ctx context.Context) {
	sb.stop()
	if sb.rt == nil {
		return
	}
	select {
	case <-sb.gone:
	case <-ctx.Done():
	}
}

// watch waits for the runtime sandbox to exit, then tears down its endpoint and
// tells the pool.
func (sb *sandbox) watch() {
	<-sb.rt.Done()
	asked := sb.isStopping() // Portico stopped it: reaped, retired, shut down
	sb.forget()              // before gone: a Stop that waited for it finds it forgotten
	close(sb.gone)
	sb.mu.Lock()
	inv := sb.answering
	sb.mu.Unlock()
	if inv != nil {
		inv.wakeParked()
	}
	sb.stopOnce.Do(func() { close(sb.stopping) })
	sb.halt()
	sb.closeEndpoint()
	if prev := sb.pool.died(sb); !asked && (prev == stIdle || prev == stReturning) {
		sb.diedIdle()
	}
}

// idleExitLogWait bounds how long diedIdle waits for the sandbox's last output
// (a stack trace) to reach the function log before its own line.
const idleExitLogWait = 2 * time.Second

// diedIdle notes that the sandbox ended by itself outside any invocation (a
// background goroutine's panic after the handler returned, an OOM kill, a
// kill from outside): in the server log, and in the function log after the
// sandbox's last output, so that its stack trace and the next call's cold
// start can be tied to it. Lambda freezes idle sandboxes, so there such a
// crash shows as the next call's Runtime.ExitError; Portico does not
// (docs/runtimes.md, Known differences). A sandbox whose runtime lost its
// watch on it (its daemon went away) is the runtime's to report.
func (sb *sandbox) diedIdle() {
	if lostWait(sb) != nil {
		return
	}
	status := "exit status 0"
	if err := sb.rt.Err(); err != nil {
		status = err.Error()
	}
	sb.inv.log.Info("sandbox exited while idle, outside any invocation (the next call starts a new one)",
		"function", sb.cfg.FunctionName, "version", sb.cfg.Version, "sandbox", sb.id, "status", status, "provisioned", sb.provisioned)
	fl := sb.inv.logs.get(sb.cfg.FunctionName)
	if sb.pumped != nil {
		t := time.NewTimer(idleExitLogWait)
		select {
		case <-sb.pumped:
		case <-t.C:
		}
		t.Stop()
	}
	fl.writeFrame([]byte("Sandbox " + sb.id + " of version " + sb.cfg.Version + " exited while idle: " + status + "\n"))
}

// pump copies the sandbox's output into the function log and into the current
// invocation's tail.
func (sb *sandbox) pump(r io.Reader, fl *fnLog) {
	if sb.pumped != nil {
		defer close(sb.pumped)
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			sb.logMu.Lock()
			chunk := buf[:n]
			fl.write(chunk)
			sb.mu.Lock()
			switch cur := sb.tailOf; {
			case cur != nil:
				if cur.tail != nil {
					cur.tail.write(chunk)
				}
			case !sb.initEnded:
				if sb.initOut == nil {
					sb.initOut = &tailBuf{}
				}
				sb.initOut.write(chunk)
			}
			sb.mu.Unlock()
			sb.logMu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// logsPending is implemented by runtime sandboxes that can tell, without
// waiting, whether output is still on its way to Logs; syncLogs then waits
// (and allocates its bounded context) only when some is.
type logsPending interface {
	LogsPending() bool
}

// syncLogSafety bounds syncLogs' wait for a pump that cannot go on. It is no
// latency budget: a runtime's SyncLogs waits only for the output written before
// the call (a function that keeps writing does not hold it), which a pump
// starved of CPU on a loaded machine still delivers, later.
const syncLogSafety = 5 * time.Second

// syncLogs waits until output written so far has passed through pump, so that
// it lands between the invocation's START and END and in its log tail. A
// runtime that cannot tell at once whether output is in transit (no
// LogsPending: Docker's and containerd's, whose sync sends a marker through
// the container's own output, a round trip through the daemon of up to tens
// of milliseconds on Docker) is waited for only when tail says the caller
// asked for the output (a log tail), so that no other call pays for it; their
// output may land after END in the function log. It reports false when it
// did not wait for such a runtime: output may still be on its way.
func (sb *sandbox) syncLogs(tail bool) (synced bool) {
	synced = true
	lp, cheap := sb.rt.(logsPending)
	if cheap && !lp.LogsPending() {
		// Nothing in transit: at most a chunk pump holds (logMu below).
	} else if ls, ok := sb.rt.(runtimes.LogSyncer); ok && (cheap || tail) {
		ctx, cancel := context.WithTimeout(context.Background(), syncLogSafety)
		ls.SyncLogs(ctx)
		cancel()
	} else if ok {
		synced = false
	}
	sb.logMu.Lock()
	//nolint:staticcheck // an empty critical section: waits for the pump's current chunk
	sb.logMu.Unlock()
	return synced
}

// maxMemoryMB returns the sandbox's peak memory for a REPORT line, the
// invocation just ended included. Where the runtime reads it cheaply
// (runtimes.PeakMemoryReader: a cgroup or /proc file read, tens of
// microseconds, no daemon call), that is a reading taken now, at the end of
// every invocation: a background measurement would lag behind it (the
// init's figure on a cold start, the previous invocation's on a warm one).
// Otherwise (or where the read cannot tell) it is the peak as of the last
// background measurement, at most about a second old, and a new one starts.
func (sb *sandbox) maxMemoryMB() int {
	select {
	case <-sb.rt.Done():
		// Gone (killed, say, for memory): the runtime's last figure, taken
		// at its exit, costs no measurement and may be well above the last
		// one made while it ran (a runtime that learnt of a kill for memory
		// reports the limit).
		if mr, ok := sb.rt.(runtimes.MemoryReporter); ok {
			sb.raiseMemory(int64(mr.MaxMemoryMB()))
		}
		return int(sb.memMB.Load())
	default:
	}
	if pr, ok := sb.rt.(runtimes.PeakMemoryReader); ok {
		if mb := int64(pr.ReadPeakMemoryMB()); mb > 0 {
			sb.raiseMemory(mb)
			return int(sb.memMB.Load())
		}
	}
	sb.refreshMemory()
	return int(sb.memMB.Load())
}

// refreshMemory measures the peak memory in the background, one measurement at a
// time.
func (sb *sandbox) refreshMemory() {
	mr, ok := sb.rt.(runtimes.MemoryReporter)
	if !ok {
		return
	}
	// At most one measurement a second: for containers each is a call to the
	// daemon, which would otherwise cost daemon CPU on every invocation.
	now := time.Now().UnixNano()
	if now-sb.memAt.Load() < int64(time.Second) || !sb.memBusy.CompareAndSwap(false, true) {
		return
	}
	sb.memAt.Store(now)
	go func() {
		defer sb.memBusy.Store(false)
		sb.raiseMemory(int64(mr.MaxMemoryMB()))
	}()
}

// raiseMemory records a peak of mb unless a higher one is recorded.
func (sb *sandbox) raiseMemory(mb int64) {
	for {
		cur := sb.memMB.Load()
		if mb <= cur || sb.memMB.CompareAndSwap(cur, mb) {
			return
		}
	}
}

// invocation is one call in flight.
type invocation struct {
	id       string
	req      Request
	arn      string
	traceID  string
	timeout  time.Duration // the function's
	by       time.Time     // the caller's deadline (Request.Timeout from the call), or zero
	started  time.Time     // when a sandbox took it (start)
	deadline time.Time     // the function's timeout, set when a sandbox takes it (start)
	byCaller bool          // by comes before deadline: the caller gives up first
	tail     *tailBuf

	once sync.Once
	done chan struct{}
	out  *outcome

	// An answer armed for the caller's client (armAnswer); the fields below
	// reply are set before reply becomes replyArmed.
	reply atomic.Int32
	// ended is set by the one that ends the invocation (claim): the
	// runtime's result, its timeout or its sandbox's end.
	ended atomic.Bool
	ans   Answerer
	// cold says that the invocation is its sandbox's first after a cold
	// start; set before the sandbox takes it.
	cold bool
	// slot is the call's concurrency slot, which the sandbox takes over
	// when the runtime posts the result (settleResult); nil for none.
	slot      *slotHold
	finish    func()
	expired   chan struct{}
	stopTimer func() bool
	settled   *Result // the answered Result, set before done closes (replyInline)
}

// States of inv.reply.
const (
	replyNone   = iota // no answer armed: the caller waits on the channels (await)
	replyArmed         // the caller waits parked (awaitParked); the result's goroutine may answer
	replyInline        // the result's goroutine answers and settles the invocation
	replyBack          // the caller took it back, to the channels
)

// wakeParked wakes a caller waiting parked for inv (after a change it looks
// at: its result, or its sandbox gone).
func (inv *invocation) wakeParked() {
	if inv.reply.Load() == replyArmed {
		inv.ans.Wake()
	}
}

// outcome is what ended an invocation.
type outcome struct {
	payload       []byte
	functionError bool
	timedOut      bool
	// note, when set, is what Portico logs of the outcome (a timeout's or an
	// exit's lines), written to the function log and the tail before END.
	note []byte
	// errorType, when set, is the runtime's failure (Runtime.ExitError, ...)
	// that ended the invocation, not the handler's: its REPORT says
	// "Status: error" and "Error Type: " it, as Lambda's does.
	errorType string
	// fail, when set, is what the call gets instead of a Result: the
	// invocation ended without being the function's to fail (a sandbox the
	// runtime lost its watch on, lostError; Portico's shutdown, errCutOff).
	fail *callFailure
}

// running reports whether sb runs an invocation that has no outcome yet: a
// sandbox busy with one that timed out, being stopped, runs nothing a stop
// would cut off (its caller has its answer).
func (sb *sandbox) running() bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.state == stBusy && sb.cur != nil && !sb.cur.completed()
}

// start sets the invocation's deadline when a sandbox takes it: the
// function's timeout from now. A caller's deadline that comes sooner does not
// end the invocation (as API Gateway's integration timeout does not end a
// Lambda invocation): the caller gets its timeout then, and the function runs
// on to its own result or timeout (await).
func (inv *invocation) start(now time.Time) {
	inv.started, inv.deadline = now, now.Add(inv.timeout)
	inv.byCaller = !inv.by.IsZero() && inv.by.Before(inv.deadline)
}

// wakeAt is when the caller waiting for inv must wake: its own deadline, when
// that comes before the function's, else the function's.
func (inv *invocation) wakeAt() time.Time {
	if inv.byCaller {
		return inv.by
	}
	return inv.deadline
}

// completed reports whether the invocation has its outcome.
func (inv *invocation) completed() bool {
	select {
	case <-inv.done:
		return true
	default:
		return false
	}
}

// claim makes the caller the one that ends the invocation, who then writes
// its END and REPORT and records its outcome (complete); false if another
// claimed it first, whose outcome the caller then waits for (done).
func (inv *invocation) claim() bool { return inv.ended.CompareAndSwap(false, true) }

// complete records the outcome once; false if one was already recorded.
func (inv *invocation) complete(o *outcome) bool {
	ok := false
	inv.once.Do(func() {
		inv.out = o
		close(inv.done)
		ok = true
	})
	return ok
}

// tailBuf keeps the last 4 KB written to it.
type tailBuf struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4096

func (t *tailBuf) write(p []byte) {
	t.mu.Lock()
	t.appendLocked(p)
	t.mu.Unlock()
}

// writeFrame appends Portico's own lines on lines of their own (fnLog's
// writeFrame).
func (t *tailBuf) writeFrame(p []byte) {
	t.mu.Lock()
	if n := len(t.buf); n > 0 && t.buf[n-1] != '\n' {
		t.appendLocked(newline)
	}
	t.appendLocked(p)
	t.mu.Unlock()
}

func (t *tailBuf) appendLocked(p []byte) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4*tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
}

func (t *tailBuf) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > tailSize {
		b = b[len(b)-tailSize:]
	}
	return append([]byte(nil), b...)
}

// deadSandbox stands in for a runtime sandbox that never started, so that late
// requests to its endpoint are refused.
type deadSandbox struct{}

func (deadSandbox) ID() string                 { return "" }
func (deadSandbox) Done() <-chan struct{}      { c := make(chan struct{}); close(c); return c }
func (deadSandbox) Err() error                 { return errSandboxGone }
func (deadSandbox) Logs() io.Reader            { return strings.NewReader("") }
func (deadSandbox) Stop(context.Context) error { return nil }
func (deadSandbox) OwnsConn(net.Addr) bool     { return false }
