package invoker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/internal/tracing"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/store"
)

// CredentialIssuer gives sandboxes the AWS credentials they sign callbacks with
// (the @connections API). The invoker declares it; the connections package
// provides it. Optional.
type CredentialIssuer interface {
	// Issue returns credentials for a new sandbox of function.
	Issue(function string) Credentials
}

// Credentials are what a sandbox gets in AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. A sandbox is retired (stopped
// once idle, never handed another invocation) CredentialMargin before Expires,
// or half-way through credentials shorter than twice that (RetireAt), so that
// its successor starts with fresh credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Expires is when the credentials stop being accepted; zero means never.
	Expires time.Time
}

// CredentialMargin is how long before its credentials expire a sandbox is
// retired: longer than the longest invocation (900 s), so that no invocation
// runs with credentials that expire under it.
const CredentialMargin = 20 * time.Minute

// MinCredentialTTL is the shortest credential lifetime a server should be
// configured with: twice CredentialMargin, so that a sandbox serves for at
// least CredentialMargin before it is retired and every invocation ends before
// its credentials expire.
const MinCredentialTTL = 2 * CredentialMargin

// RetireAt returns when a sandbox given credentials that expire at expires, at
// now, is retired: CredentialMargin before they expire, or, for credentials
// that live less than twice CredentialMargin, half-way through their life, so
// that short credentials still leave a sandbox time to serve (retiring it at
// once would start and stop sandboxes for ever). Zero when expires is zero
// (credentials that never expire). Whatever it returns, a sandbox serves at
// least the first call handed to it.
func RetireAt(expires, now time.Time) time.Time {
	if expires.IsZero() {
		return time.Time{}
	}
	margin := min(CredentialMargin, expires.Sub(now)/2)
	return expires.Add(-max(margin, 0))
}

// TrustSource names the certificate authorities sandboxes trust beyond their
// system's: the one that signs the sandbox-facing @connections endpoint's
// certificate, so that functions call it over HTTPS unmodified. The invoker
// declares it; gateway/edge's SandboxCA provides it. Optional. Implementations
// must be safe for concurrent use.
type TrustSource interface {
	SandboxTrust() *runtimes.Trust
}

// Resolver resolves a qualifier (an alias, for provisioned concurrency) to the
// versions it sends calls to, each with its share of the calls: provisioned
// concurrency on a weighted alias is spread over its two versions by weight.
// The invoker declares it; aliases provides it. Optional.
type Resolver interface {
	Shares(ctx context.Context, ref functions.Ref) ([]functions.Share, error)
}

// Usage tells whether a version is in use: named by an alias or by an API
// stage's route. The idle sandboxes of a version that is not in use, and that no
// call used in the last UnusedIdleTimeout, are stopped after UnusedIdleTimeout
// instead of IdleTimeout. The invoker declares it; cmd/portico composes it from
// the aliases and the API stages. Optional: without it every version is in use.
// Implementations must be safe for concurrent use.
type Usage interface {
	InUse(ctx context.Context, function, version string) bool
}

// Functions is what the invoker needs of the function model; *functions.Service
// provides it.
type Functions interface {
	Get(ctx context.Context, name, version string) (*functions.Config, error)
	CodeDir(cfg *functions.Config) string
	VolumeDir(name string) (string, error)
	ListProvisioned(ctx context.Context) ([]functions.ProvisionedConfig, error)
	// Reservations returns every function's reserved concurrency, by name.
	Reservations(ctx context.Context) (map[string]int, error)
	Subscribe(fn func(name string))
	// OnDelete has step run in the transaction that deletes function name
	// (version "") or one published version of it (functions.Service.OnDelete):
	// the invoker deletes the queued Event invocations of what is deleted.
	OnDelete(step func(name, version string) store.Step)
}

// Params are the invoker's dependencies.
type Params struct {
	Config      Config
	Runtime     runtimes.Runtime
	Functions   Functions
	Store       *store.Store
	Log         *slog.Logger
	Credentials CredentialIssuer // optional
	Trust       TrustSource      // optional
	Resolver    Resolver         // optional
	Usage       Usage            // optional
	Observer    Observer         // optional
	// Clock is the invoker's time source; nil is the wall clock.
	Clock Clock
}

// Invoker runs invocations. Safe for concurrent use.
type Invoker struct {
	p     Params
	rt    runtimes.Runtime
	log   *slog.Logger
	logs  *Logs
	clock Clock

	slots  *slots // the account's concurrency (slots.go)
	budget *budget

	mu    sync.Mutex
	pools map[poolKeyT]*pool
	// retired holds the pools taken out of pools (retire) until they are
	// empty: their sandboxes may still serve calls that waited in them, and
	// Stop ends those too.
	retired   map[*pool]struct{}
	closing   bool
	inflight  sync.WaitGroup
	preparing sync.WaitGroup // spares being prepared
	starts    sync.WaitGroup // pool.start calls; Added under the pool's mu while it is not closing
	spareMu   sync.Mutex     // serializes spare reservations (reserveSpare)
	stopping  atomic.Int64   // sandboxes being stopped and removed

	async *asyncQueue
	obs   Observer // nil: none

	// The drain of the calls in flight (BeginDrain): drainBy is when it
	// ends, set once; drainEnd is closed then, on the invoker's clock.
	// drainOwn is whether DrainTimeout ends it, rather than the end of the
	// stop's graceful part, which came first (set once, with drainBy).
	drainOnce sync.Once
	drainBy   time.Time
	// drainFor is the drain in force: DrainTimeout, or less when the
	// stop's graceful part ends first (set once, with drainBy).
	drainFor time.Duration
	drainOwn bool
	drainEnd chan struct{}
	drainCut atomic.Int64 // invocations endDrain cut off

	// formerRuntime is the runtime the data directory ran on before this
	// one (SetFormerRuntime), "" when none.
	formerRuntime atomic.Pointer[string]
	// listeners records each sandbox's Runtime API endpoint while it
	// listens (SetListeners; nil: none).
	listeners ListenerRegistry
	endpoints EndpointSource

	stopReaper chan struct{}
	reaperDone chan struct{}
	tick       chan struct{} // the maintenance tick, fed by the clock
	ticks      atomic.Int64  // maintenance passes done
	launched   atomic.Int64  // sandboxes started
	started    atomic.Bool
}

// ListenerRegistry records the addresses of Portico's own listeners, which
// the gateway refuses as integration targets (internal/ownaddr.Set satisfies
// it). Add returns the func that forgets addr, which may be called more than
// once; both are safe for concurrent use.
type ListenerRegistry interface {
	Add(name, addr string) (remove func())
}

// SetListeners has each sandbox's Runtime API endpoint recorded in r while it
// listens; call it before Start.
func (i *Invoker) SetListeners(r ListenerRegistry) { i.listeners = r }

// EndpointSource names the endpoints of the AWS services Portico serves to
// sandboxes, as the variables that point the AWS SDKs at them
// (AWS_ENDPOINT_URL_CODEDEPLOY: the gateway's sandbox-facing endpoint, where a
// traffic shift's hook reports). The invoker declares it; the gateway
// provides it. Safe for concurrent use.
type EndpointSource interface {
	// SandboxEndpoints returns the variables, read at each sandbox's start
	// (nil while there are none). The caller does not modify the map.
	SandboxEndpoints() map[string]string
}

// SetEndpoints gives each new sandbox the variables e names, unless its
// function's environment sets them; call it before Start.
func (i *Invoker) SetEndpoints(e EndpointSource) { i.endpoints = e }

// New returns an Invoker; call Start before use and Stop to drain.
func New(p Params) (*Invoker, error) {
	def := DefaultConfig()
	c := &p.Config
	if c.AccountConcurrency <= 0 {
		c.AccountConcurrency = def.AccountConcurrency
	}
	if c.ThrottleWait <= 0 {
		c.ThrottleWait = def.ThrottleWait
	}
	if c.QueueWait <= 0 {
		c.QueueWait = def.QueueWait
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = def.IdleTimeout
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = def.InitTimeout
	}
	if c.StopGrace <= 0 {
		c.StopGrace = def.StopGrace
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = def.MaxPayload
	}
	if c.MaxAsyncPayload <= 0 {
		c.MaxAsyncPayload = def.MaxAsyncPayload
	}
	if c.AsyncRetryDelays == nil {
		c.AsyncRetryDelays = def.AsyncRetryDelays
	}
	if c.MaxStarting <= 0 {
		c.MaxStarting = def.MaxStarting
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = def.DrainTimeout
	}
	if c.LogBytesPerFunction <= 0 {
		c.LogBytesPerFunction = def.LogBytesPerFunction
	}
	if c.MaxSandboxes == 0 {
		c.MaxSandboxes = def.MaxSandboxes
	}
	if c.MaxMemoryMB == 0 {
		c.MaxMemoryMB = def.MaxMemoryMB
	}
	if c.UnusedIdleTimeout <= 0 {
		c.UnusedIdleTimeout = def.UnusedIdleTimeout
	}
	c.UnusedIdleTimeout = min(c.UnusedIdleTimeout, c.IdleTimeout)
	if p.Runtime == nil || p.Functions == nil || p.Store == nil {
		return nil, errors.New("invoker: Runtime, Functions and Store are required")
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
	if p.Clock == nil {
		p.Clock = clock.Real{}
	}
	if host := hostMemoryMB(); host > 0 && c.MaxMemoryMB > host {
		p.Log.Warn("the sandbox memory budget is larger than the host's memory: sandboxes may exhaust it before the budget stops them",
			"maxMemoryMB", c.MaxMemoryMB, "hostMemoryMB", host)
	}
	logDir, err := p.Store.Path("logs", "x")
	if err != nil {
		return nil, err
	}
	i := &Invoker{
		p:        p,
		rt:       p.Runtime,
		log:      p.Log,
		clock:    p.Clock,
		logs:     newLogs(logDir[:len(logDir)-2], c.LogBytesPerFunction, p.Log, p.Clock),
		budget:   newBudget(max(c.MaxSandboxes, 0), max(c.MaxMemoryMB, 0)),
		pools:    map[poolKeyT]*pool{},
		retired:  map[*pool]struct{}{},
		obs:      p.Observer,
		drainEnd: make(chan struct{}),
	}
	i.logs.full = p.Store.Full
	i.slots = newSlots(c.AccountConcurrency, c.ThrottleWait, p.Log, i.reservationOf)
	i.async = newAsyncQueue(i)
	p.Functions.Subscribe(i.functionChanged)
	p.Functions.OnDelete(i.purgeEvents)
	return i, nil
}

// Start refuses a sandbox budget that cannot hold the provisioned concurrency
// configured, sets the functions' reserved concurrency aside, removes sandboxes
// an earlier run left behind, then starts the idle reaper, the
// provisioned-concurrency keeper and the Event queue.
func (i *Invoker) Start(ctx context.Context) error {
	all, err := i.p.Functions.Reservations(ctx)
	if err != nil {
		return fmt.Errorf("invoker: reading reserved concurrency: %w", err)
	}
	i.slots.load(all)
	if list, err := i.p.Functions.ListProvisioned(ctx); err == nil {
		if err := i.CheckProvisioned(ctx, list); err != nil {
			return fmt.Errorf("invoker: %w", err)
		}
	}
	if err := i.rt.Cleanup(ctx); err != nil {
		i.log.Warn("cleaning up sandboxes left by an earlier run", "runtime", i.rt.Name(), "err", err)
	}
	i.stopReaper = make(chan struct{})
	i.reaperDone = make(chan struct{})
	i.tick = make(chan struct{}, 1)
	i.scheduleTick()
	go i.maintain()
	i.async.start()
	i.started.Store(true)
	return nil
}

// BeginDrain starts the drain of the invocations in flight, as the server's
// stop begins: those still running DrainTimeout later (or AnswerMargin before
// the graceful part of ctx, shutdown.Graceful, ends, if sooner) are cut off, their
// sandboxes stopped, and their callers answered (Lambda Invoke's 503
// ServiceException; a gateway route's 500, as API Gateway answers a Lambda
// service error). It
// returns at once, and does nothing more when called again. The app calls it
// from its first stop hook, so that the drain counts from the stop's start
// rather than from Stop, which runs after the listeners' own graceful stop;
// Stop calls it too. The Event queue starts no attempt from then on, but new
// calls are refused only from Stop on (the WebSocket connections' $disconnect
// calls run in between).
func (i *Invoker) BeginDrain(ctx context.Context) error {
	i.drainOnce.Do(func() {
		d := i.p.Config.DrainTimeout
		i.drainOwn = true
		gctx, cancel := shutdown.Graceful(ctx)
		if end, ok := gctx.Deadline(); ok {
			// The drain ends early enough before the graceful part that
			// the calls it cuts off are answered while their connections
			// are still open: ending with it, their answers lost the race
			// with the listeners closing the connections (an empty reply).
			if left := time.Until(end); left-d < AnswerMargin(left) {
				d, i.drainOwn = max(left-AnswerMargin(left), 0), false
			}
		}
		cancel()
		i.drainBy, i.drainFor = time.Now().Add(d), d
		i.clock.AfterFunc(d, i.endDrain)
		if i.started.Load() {
			// No Event attempt starts from now on: the queued events run
			// after the restart, and one cut off by the drain is not run
			// again at once.
			i.async.stop()
		}
	})
	return nil
}

// AnswerMargin is how long before the end of a stop's graceful part, of
// which left is still to run, the drain of the calls in flight ends at the
// latest, so that the calls it cuts off are answered 503 before the listeners
// close their connections: 2 s, or half of left when that is shorter.
func AnswerMargin(left time.Duration) time.Duration {
	return min(2*time.Second, max(left, 0)/2)
}

// runningCount counts the sandboxes running an invocation (sandbox.running).
func (i *Invoker) runningCount() int {
	n := 0
	for _, p := range i.poolList() {
		p.mu.Lock()
		for sb := range p.all {
			if sb.running() {
				n++
			}
		}
		p.mu.Unlock()
	}
	return n
}

// endDrain ends the drain: the invocations still running are cut off.
func (i *Invoker) endDrain() {
	select {
	case <-i.drainEnd:
		return
	default:
		close(i.drainEnd)
	}
	i.mu.Lock()
	pools := i.allPoolsLocked()
	i.mu.Unlock()
	var busy []*sandbox
	for _, p := range pools {
		p.mu.Lock()
		for sb := range p.all {
			if sb.running() {
				busy = append(busy, sb)
			}
		}
		p.mu.Unlock()
	}
	if len(busy) > 0 {
		i.log.Warn("shutdown: in-flight invocations did not finish within the drain; stopping their sandboxes",
			"invocations", len(busy), "drain", i.drainFor.Round(100*time.Millisecond))
	}
	i.drainCut.Add(int64(len(busy)))
	for _, sb := range busy {
		sb.cutOff.Store(true)
		sb.stop()
	}
}

// Stop refuses new invocations, waits for those in flight until the drain
// (BeginDrain, called here if it was not) ends, then stops every sandbox,
// cutting off the invocations still running in them, and has the runtime
// remove whatever else it still holds (runtimes.Runtime.Cleanup). The
// stopping and the removal run however late the stop is: they get
// shutdown.Cleanup's context, at least StopGrace and 10 s more, even when ctx
// has ended.
func (i *Invoker) Stop(ctx context.Context) error {
	i.mu.Lock()
	i.closing = true
	i.mu.Unlock()
	if i.started.Load() {
		close(i.stopReaper)
		<-i.reaperDone
		i.async.stop()
	}
	_ = i.BeginDrain(ctx)
	drained := make(chan struct{})
	go func() { i.inflight.Wait(); close(drained) }()
	gctx, cancelGrace := shutdown.Graceful(ctx)
	defer cancelGrace()
	dctx, cancel := context.WithDeadline(gctx, i.drainBy)
	defer cancel()
	select {
	case <-drained:
	case <-i.drainEnd:
	case <-dctx.Done():
		// A stop whose graceful part had ended already comes here with
		// nothing running too: only invocations still running are worth
		// the warning.
		if n := i.runningCount(); n > 0 {
			i.log.Warn("shutdown: in-flight invocations did not finish in time; stopping their sandboxes", "invocations", n)
		}
	}
	// Spares still being prepared see the pools stale when done and discard
	// themselves; wait for them so none outlives the runtime. Calls still
	// waiting for a sandbox fail: none will be started for them.
	i.mu.Lock()
	pools := i.allPoolsLocked()
	for _, p := range pools {
		p.mu.Lock()
		p.stale, p.closing = true, true
		p.failWaitersLocked(errShuttingDown())
		p.mu.Unlock()
	}
	i.mu.Unlock()
	// Starts waiting for room in the budget see their pool stale and give up;
	// one already starting a sandbox finishes, so the sandbox is in its pool's
	// all below.
	i.budget.wake()
	i.preparing.Wait()
	i.starts.Wait()
	i.mu.Lock()
	var all []*sandbox
	var spares []*spare
	for _, p := range i.allPoolsLocked() {
		p.mu.Lock()
		for sb := range p.all {
			all = append(all, sb)
		}
		if p.spare != nil {
			spares = append(spares, p.spare)
			p.spare = nil
		}
		p.mu.Unlock()
	}
	i.mu.Unlock()
	cctx, cancelCleanup := shutdown.Cleanup(ctx, i.p.Config.StopGrace+10*time.Second)
	defer cancelCleanup()
	cut := i.drainCut.Load()
	for _, sb := range all {
		if sb.running() && !sb.cutOff.Load() {
			cut++
		}
	}
	if cut > 0 {
		// Named by the limit that cut them: the drain's own, when it ended
		// before the graceful part and cut any (the operator raises that
		// one), else the graceful part's.
		c := shutdown.Cut{What: fmt.Sprintf("%d invocation(s) still running (their callers were answered: a Lambda Invoke 503 ServiceException, "+
			`a gateway route 500: {"message": "Internal server error"} on REST APIs, {"message":"Internal Server Error"} on HTTP APIs, as API Gateway answers a Lambda service error)`, cut)}
		if i.drainOwn && i.drainCut.Load() > 0 {
			c.Limit, c.After = "drain-timeout", i.p.Config.DrainTimeout
		}
		shutdown.NoteCut(ctx, c)
	}
	var wg sync.WaitGroup
	for _, sb := range all {
		sb.cutOff.Store(true)
		wg.Add(1)
		go func() { defer wg.Done(); sb.stopWait(cctx) }()
	}
	for _, sp := range spares {
		wg.Add(1)
		go func() { defer wg.Done(); discardSpare(sp) }()
	}
	wg.Wait()
	// The Event invocations those sandboxes ran are left in the queue as
	// they were, for the next start; wait until none is still recording.
	if i.started.Load() {
		i.async.wait(cctx)
	}
	// Whatever the runtime still holds of this instance (containers a daemon
	// outage left behind, spare network holders) goes too: nothing is left
	// after a clean stop.
	if err := i.rt.Cleanup(cctx); err != nil {
		i.log.Warn("shutdown: removing what the runtime still holds", "runtime", i.rt.Name(), "err", err)
		held, remedy := "its sandboxes' containers, tasks and network namespaces", "start and stop Portico once the daemon answers"
		if i.rt.Name() == "process" {
			// no daemon: the sandboxes' processes, named by its pid files
			held, remedy = "its sandboxes' processes, named by the pid files of its run directory", ""
		}
		shutdown.NoteCut(ctx, shutdown.Cut{Left: true, Remedy: remedy, What: fmt.Sprintf("what the %s runtime still held of this instance "+
			"(%s), which it could not remove: %v", i.rt.Name(), held, err)})
	}
	i.logs.close()
	return nil
}

// Logs returns the function log store.
func (i *Invoker) Logs() *Logs { return i.logs }

// pool returns the pool for cfg, creating it.
func (i *Invoker) pool(cfg *functions.Config) *pool {
	key := poolKey(cfg)
	i.mu.Lock()
	defer i.mu.Unlock()
	p := i.pools[key]
	if p == nil {
		// A pool made once Stop has begun is closing from birth: it starts
		// nothing Stop would not wait for.
		p = &pool{inv: i, key: key, cfg: cfg, all: map[*sandbox]struct{}{}, stale: i.closing, closing: i.closing}
		i.pools[key] = p
	}
	return p
}

// allPoolsLocked returns every pool, the retired ones included. i.mu is held.
func (i *Invoker) allPoolsLocked() []*pool {
	pools := make([]*pool, 0, len(i.pools)+len(i.retired))
	for _, p := range i.pools {
		pools = append(pools, p)
	}
	for p := range i.retired {
		pools = append(pools, p)
	}
	return pools
}

// forgetIfDone forgets a stale pool once it is empty: no sandbox, no start and
// no waiting call. Called without p's lock.
func (i *Invoker) forgetIfDone(p *pool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	p.mu.Lock()
	empty := len(p.all) == 0 && len(p.waiters) == 0 && p.starting == 0
	stale := p.stale
	p.mu.Unlock()
	if !empty || !stale {
		return
	}
	if i.pools[p.key] == p {
		delete(i.pools, p.key)
	}
	delete(i.retired, p)
}

// retireLocked takes p out of the pools new calls find and keeps it among the
// retired until it is empty. i.mu is held; call p.retire after.
func (i *Invoker) retireLocked(p *pool) {
	if i.pools[p.key] == p {
		delete(i.pools, p.key)
	}
	i.retired[p] = struct{}{}
}

// functionChanged retires the pools of a function whose $LATEST changed or which
// was deleted, and those of its published versions that were deleted (their
// idle sandboxes stop and their spares are discarded at once, as the
// function's), and applies its reserved concurrency.
func (i *Invoker) functionChanged(name string) {
	i.slots.refresh(context.Background(), name)
	cur, err := i.p.Functions.Get(context.Background(), name, functions.Latest)
	i.mu.Lock()
	var retire []*pool
	for key, p := range i.pools {
		if p.cfg.FunctionName != name {
			continue
		}
		switch {
		case err != nil || p.cfg.Version != functions.Latest: // deleted, or a version of it may have been
			if _, gerr := i.p.Functions.Get(context.Background(), name, p.cfg.Version); gerr == nil {
				continue
			}
		case poolKey(cur) != key: // a new revision of $LATEST
		default:
			continue
		}
		retire = append(retire, p)
	}
	for _, p := range retire {
		i.retireLocked(p)
	}
	i.mu.Unlock()
	hot := false
	for _, p := range retire {
		p.mu.Lock()
		if p.cfg.Version == functions.Latest && (len(p.all) > 0 || p.spare != nil || p.preparing) {
			hot = true
		}
		p.mu.Unlock()
		p.retire()
		i.forgetIfDone(p)
	}
	// A new revision of a function that was being called gets a prepared spare
	// at once, so its first call after a deploy does not pay a full start.
	if hot && err == nil {
		go i.pool(cur).prepareSpare()
	}
}

// retire marks the pool stale and stops its idle sandboxes and its spare. Busy
// ones stop when they finish, unless calls that waited in the pool are still
// waiting: those are served first (see pool).
func (p *pool) retire() {
	p.mu.Lock()
	p.stale = true
	idle := p.idle
	p.idle = nil
	sp := p.spare
	p.spare = nil
	p.mu.Unlock()
	for _, sb := range idle {
		sb.stop()
	}
	if sp != nil {
		go discardSpare(sp)
	}
}

func throttled(reason string) error {
	return &errdefs.Kinded{Kind: errdefs.ErrThrottled, Type: "TooManyRequestsException", Message: "Rate Exceeded.", Reason: reason}
}

// acquireSlots takes a slot of the account's concurrency for a call of cfg:
// one of its function's reservation, or of the unreserved pool (slots.go),
// waiting up to ThrottleWait for one. A call whose function, or version, was
// deleted while it waited fails with Lambda's ResourceNotFoundException, as a
// call made after the deletion does: it never runs the deleted code.
func (i *Invoker) acquireSlots(ctx context.Context, cfg *functions.Config) (func(), error) {
	f, waited, err := i.slots.acquire(ctx, cfg.FunctionName)
	if errors.Is(err, errdefs.ErrNotFound) {
		// The function was deleted: say so of the version called.
		if _, gerr := i.p.Functions.Get(ctx, cfg.FunctionName, cfg.Version); errors.Is(gerr, errdefs.ErrNotFound) {
			return nil, gerr
		}
	}
	if err != nil {
		return nil, err
	}
	release := func() { i.slots.release(f) }
	if waited {
		if _, gerr := i.p.Functions.Get(ctx, cfg.FunctionName, cfg.Version); errors.Is(gerr, errdefs.ErrNotFound) {
			release()
			return nil, gerr
		}
	}
	return release, nil
}

// Invoke runs one synchronous invocation. Errors are errdefs kinds: ErrThrottled at
// a concurrency limit, ErrTooLarge for payloads over the limit, ErrUnavailable when
// a sandbox cannot start or the invoker is shutting down; a function error, timeout
// or crash is a Result with FunctionError set, not an error.
//
// When ctx carries a span (a traced request), the invocation adds its own: one
// named after the function, with "Queue" (waiting for a concurrency slot and a
// sandbox; "Initialization" under it for a cold start) and "Invocation" (the
// sandbox's run) under it; the function gets Invocation's trace as its
// Lambda-Runtime-Trace-Id, so that its own spans join the trace.
func (i *Invoker) Invoke(ctx context.Context, req Request) (*Result, error) {
	cfg := req.Function
	if cfg == nil {
		return nil, fmt.Errorf("invoke: no function: %w", errdefs.ErrInvalid)
	}
	if tracing.Traced(ctx) {
		return i.invokeTraced(ctx, req)
	}
	return i.invoke(ctx, req)
}

// invokeTraced is Invoke under a span of its own.
func (i *Invoker) invokeTraced(ctx context.Context, req Request) (*Result, error) {
	cfg := req.Function
	ctx, span := tracing.Start(ctx, cfg.FunctionName, trace.SpanKindClient)
	defer span.End()
	res, err := i.invoke(ctx, req)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("faas.invoked_name", cfg.FunctionName),
			attribute.String("faas.invoked_provider", "portico"),
			attribute.String("cloud.resource_id", req.InvokedARN))
		switch {
		case err != nil:
			span.SetStatus(codes.Error, err.Error())
		case res != nil:
			span.SetAttributes(attribute.String("faas.invocation_id", res.RequestID),
				attribute.String("faas.version", res.ExecutedVersion), attribute.Bool("faas.coldstart", res.ColdStart))
			if res.FunctionError != "" {
				span.SetStatus(codes.Error, res.FunctionError)
			}
		}
	}
	return res, err
}

// invoke runs one invocation (Invoke without the span).
func (i *Invoker) invoke(ctx context.Context, req Request) (*Result, error) {
	cfg := req.Function
	if len(req.Payload) > i.p.Config.MaxPayload {
		return nil, errdefs.New(errdefs.ErrTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", i.p.Config.MaxPayload))
	}
	if len(req.Payload) == 0 {
		req.Payload = []byte("{}")
	}
	i.mu.Lock()
	if i.closing {
		i.mu.Unlock()
		return nil, errdefs.New(errdefs.ErrUnavailable, "ServiceException", "Portico is shutting down")
	}
	i.inflight.Add(1)
	i.mu.Unlock()
	// The caller's deadline counts from here, the queue included; a call
	// with none waits for a sandbox QueueWait at most.
	lim := waitLimit{until: i.clock.Now().Add(i.p.Config.QueueWait)}
	if req.Timeout > 0 {
		lim = waitLimit{until: i.clock.Now().Add(req.Timeout), caller: req.Timeout}
	}

	traced := tracing.Traced(ctx)
	var queue trace.Span
	qctx := ctx
	if traced {
		qctx, queue = tracing.Start(ctx, "Queue", trace.SpanKindInternal)
		defer queue.End() // ended sooner, when a sandbox is found
	}
	release, err := i.acquireSlots(qctx, cfg)
	if err != nil {
		i.inflight.Done()
		if i.obs != nil && errors.Is(err, errdefs.ErrThrottled) {
			i.obs.OnThrottle(cfg.FunctionName, cfg.Version, aliasOf(req.InvokedARN))
		}
		return nil, err
	}
	hold := &slotHold{free: release}
	if i.obs != nil {
		i.obs.OnConcurrency(cfg.FunctionName, 1)
		hold.free = func() { release(); i.obs.OnConcurrency(cfg.FunctionName, -1) }
	}
	finish := func() { hold.drop(); i.inflight.Done() }

	p := i.pool(cfg)
	// An untraced call builds its invocation before it looks for a sandbox, so
	// that one coming back to next while it waits takes the invocation itself
	// (pool.ready). A traced one gets its trace ID from the Invocation span,
	// which starts once a sandbox is found.
	var pre *invocation
	if !traced {
		pre = i.newInvocation(req, lim.by())
		pre.slot = hold
	}
	for {
		g := p.acquire(ctx, pre, lim)
		if g.err == nil && g.sb != nil && !g.taken && lim.caller > 0 && !i.clock.Now().Before(lim.until) {
			// Granted at the caller's deadline: the sandbox stays warm
			// for another call.
			p.release(g.sb)
			g = grant{err: lim.err()}
		}
		if g.err != nil {
			finish()
			if i.obs != nil && errors.Is(g.err, errdefs.ErrThrottled) { // the sandbox budget
				i.obs.OnThrottle(cfg.FunctionName, cfg.Version, aliasOf(req.InvokedARN))
			}
			return nil, g.err
		}
		if g.fail != nil {
			finish()
			if err := i.lostInit(req, g.fail); err != nil {
				return nil, err
			}
			return i.initFailed(req, pre, g.fail), nil
		}
		if g.taken {
			// A sandbox coming back to next took pre while this call waited
			// (pool.ready), and its next writes it.
			if req.Answer != nil && pre.tail == nil {
				i.armAnswer(g.sb, pre, finish)
				return i.awaitParked(ctx, g.sb, pre)
			}
			return i.await(ctx, g.sb, pre, g.cold, finish)
		}
		var run trace.Span
		inv := pre
		if traced {
			i.traceQueue(qctx, queue, g)
			_, run = tracing.Start(ctx, "Invocation", trace.SpanKindInternal)
			req.TraceID = tracing.XRayHeader(run.SpanContext())
			inv = i.newInvocation(req, lim.by())
			inv.slot = hold
		} else {
			inv.start(i.clock.Now())
		}
		inv.cold = g.cold // read by the result's goroutine (settleResult)
		// The sandbox's next, when parked, is answered from here: the
		// invocation is on its way without waking another goroutine.
		if nw := g.sb.takeNext(inv); nw != nil {
			// Armed before the write: the result may come back before this
			// goroutine runs again. An invocation handed back goes to the
			// runtime's next poll; its result is answered the same way.
			if run == nil && req.Answer != nil && inv.tail == nil {
				i.armAnswer(g.sb, inv, finish)
				g.sb.deliverTo(nw, inv)
				return i.awaitParked(ctx, g.sb, inv)
			}
			g.sb.deliverTo(nw, inv)
		} else {
			select {
			case g.sb.work <- inv:
				g.sb.sent()
			case <-g.sb.gone:
				g.sb.sent()
				if run != nil {
					run.End()
				}
				continue // it died before taking the call: no one ran it, try another
			case <-ctx.Done():
				g.sb.sent()
				p.release(g.sb)
				finish()
				if run != nil {
					run.End()
				}
				return nil, ctx.Err()
			}
		}
		res, err := i.await(ctx, g.sb, inv, g.cold, finish)
		if run != nil {
			if run.IsRecording() && res != nil {
				run.SetAttributes(attribute.String("faas.invocation_id", res.RequestID))
				if res.FunctionError != "" {
					run.SetStatus(codes.Error, res.FunctionError)
				}
			}
			run.End()
		}
		return res, err
	}
}

// waitLimit bounds a call's wait for a sandbox: until the caller's
// deadline (caller, its timeout, is set), or until QueueWait from the call.
type waitLimit struct {
	until  time.Time
	caller time.Duration
}

// by is the caller's deadline, or zero when the call has none.
func (l waitLimit) by() time.Time {
	if l.caller > 0 {
		return l.until
	}
	return time.Time{}
}

// err is what a call still waiting for a sandbox at l.until fails with: a
// timeout past the caller's deadline (504 at the gateway), else Lambda's
// throttle.
func (l waitLimit) err() error {
	if l.caller > 0 {
		return errdefs.New(errdefs.ErrTimeout, "ServiceException",
			fmt.Sprintf("the caller's timeout (%s) passed while the call waited for a sandbox", l.caller))
	}
	return throttledf("ConcurrentInvocationLimitExceeded", "Rate Exceeded. (no sandbox came free in time)")
}

// traceQueue ends the Queue span once a sandbox is found, with an
// Initialization span under it for a cold start, timed by the sandbox's init
// duration.
func (i *Invoker) traceQueue(qctx context.Context, queue trace.Span, g grant) {
	if !queue.IsRecording() {
		return
	}
	queue.SetAttributes(attribute.Bool("faas.coldstart", g.cold))
	if g.cold && g.sb != nil {
		g.sb.mu.Lock()
		init := g.sb.initDuration
		g.sb.mu.Unlock()
		end := time.Now()
		_, span := trace.SpanFromContext(qctx).TracerProvider().Tracer(tracing.Scope).Start(qctx, "Initialization",
			trace.WithTimestamp(end.Add(-init)))
		span.End(trace.WithTimestamp(end))
	}
	queue.End()
}

// newInvocation builds req's invocation; by is the caller's deadline, or zero.
func (i *Invoker) newInvocation(req Request, by time.Time) *invocation {
	cfg := req.Function
	timeout := time.Duration(cfg.Timeout) * time.Second
	if timeout <= 0 {
		timeout = functions.DefaultTimeout * time.Second
	}
	id := req.RequestID
	if id == "" {
		id = newID()
	}
	arn := req.InvokedARN
	if arn == "" {
		arn = functions.ARN(cfg.FunctionName, cfg.Version)
	}
	trace := req.TraceID
	if trace == "" {
		trace = newTraceHeader(i.clock.Now())
	}
	inv := &invocation{
		id:      id,
		req:     req,
		arn:     arn,
		traceID: trace,
		timeout: timeout,
		by:      by,
		done:    make(chan struct{}),
	}
	inv.start(i.clock.Now())
	if req.LogTail {
		inv.tail = &tailBuf{}
	}
	return inv
}

// newTraceHeader returns an unsampled X-Ray trace header for an invocation
// that comes with none, built in one allocation.
func newTraceHeader(now time.Time) string {
	var raw [20]byte
	_, _ = rand.Read(raw[:])
	var r [40]byte // 40 hex digits: 24 for the root, 16 for the parent, apart
	hex.Encode(r[:], raw[:])
	b := make([]byte, 0, 80)
	b = append(b, "Root=1-"...)
	b = strconv.AppendInt(b, now.Unix(), 16)
	b = append(b, '-')
	b = append(b, r[:24]...)
	b = append(b, ";Parent="...)
	b = append(b, r[24:40]...)
	b = append(b, ";Sampled=0"...)
	return string(b)
}

// await waits for the invocation's outcome. If the caller goes away first, the
// wait goes on in the background so the slot is held until the sandbox is free.
// The runtime's result comes settled (settleResult: END and REPORT written);
// a timeout or the sandbox's end is settled here.
func (i *Invoker) await(ctx context.Context, sb *sandbox, inv *invocation, cold bool, finish func()) (*Result, error) {
	expired := make(chan struct{})
	stopTimer := i.clock.AfterFunc(inv.deadline.Sub(i.clock.Now()), func() { close(expired) })
	settle := func(o *outcome) *Result {
		stopTimer()
		res := inv.settled // set before done closed, by the result's goroutine
		if res == nil {
			res = i.finishInvocation(sb, inv, o, cold)
		}
		finish()
		return res
	}
	// The caller's deadline, when it comes first, answers the caller (the
	// gateway's 504) and leaves the invocation running to its own end, as
	// API Gateway leaves a Lambda invocation whose integration timed out.
	var callerGone <-chan struct{}
	if inv.byCaller {
		gone := make(chan struct{})
		stopCaller := i.clock.AfterFunc(inv.by.Sub(i.clock.Now()), func() { close(gone) })
		defer stopCaller()
		callerGone = gone
	}
	background := func() {
		go func() {
			select {
			case <-inv.done:
				settle(inv.out)
			case <-expired:
				settle(i.timedOut(sb, inv))
			case <-sb.gone:
				settle(i.crashed(sb, inv))
			}
		}()
	}
	select {
	case <-inv.done:
		return inv.out.answer(settle(inv.out))
	case <-expired:
		return settle(i.timedOut(sb, inv)), nil
	case <-sb.gone:
		o := i.crashed(sb, inv)
		return o.answer(settle(o))
	case <-callerGone:
		background()
		return &Result{RequestID: inv.id, TimedOut: true, CallerTimeout: true,
			ExecutedVersion: inv.req.Function.Version, ColdStart: cold}, nil
	case <-ctx.Done():
		background()
		return nil, ctx.Err()
	}
}

// armAnswer lets the result of inv, delivered to sb (or about to be, by its
// next), be answered to the caller's client from the goroutine that reads it
// (answerInline), while the caller waits parked (awaitParked). Its timer
// wakes the caller at the deadline; sb's end wakes it through sb.answering.
func (i *Invoker) armAnswer(sb *sandbox, inv *invocation, finish func()) {
	inv.ans, inv.finish = inv.req.Answer, finish
	expired, ans := make(chan struct{}), inv.ans
	inv.expired = expired
	inv.stopTimer = i.clock.AfterFunc(inv.wakeAt().Sub(i.clock.Now()), func() {
		close(expired)
		ans.Wake()
	})
	// Under sb.mu, so that the sandbox's end either sees inv armed (and
	// wakes it) or came before, and the caller sees sb.gone closed.
	sb.mu.Lock()
	sb.answering = inv
	inv.reply.Store(replyArmed)
	sb.mu.Unlock()
}

// awaitParked waits for an armed invocation with the caller's goroutine
// parked on its client's connection, until the result's goroutine has
// answered (the client's next request, or its leaving, wakes it then), or
// until something the channels tell (a result not answered inline, the
// deadline, the sandbox gone, the client readable before an answer) takes it
// back to await.
func (i *Invoker) awaitParked(ctx context.Context, sb *sandbox, inv *invocation) (*Result, error) {
	for {
		if inv.reply.Load() == replyInline {
			<-inv.done
			return inv.settled, nil
		}
		back := false
		select {
		case <-inv.done:
			back = true
		case <-inv.expired:
			back = true
		case <-sb.gone:
			back = true
		default:
			back = ctx.Err() != nil || inv.ans.Wait()
		}
		if back && inv.reply.CompareAndSwap(replyArmed, replyBack) {
			inv.stopTimer()
			// await watches sb.gone itself. A result that came before
			// armAnswer may have sent sb back to next already (which
			// forgets the invocation) before inv was made sb.answering.
			sb.mu.Lock()
			if sb.answering == inv {
				sb.answering = nil
			}
			sb.mu.Unlock()
			return i.await(ctx, sb, inv, inv.cold, inv.finish)
		}
	}
}

// settleResult ends inv with o, the runtime's result, from the goroutine that
// read it, before the runtime hears back: its output is synced, END and REPORT
// written, and only then does the sandbox count as returning (markReturning)
// and may take another invocation, so that the next START follows this END and
// the output written before the result is in this invocation's tail alone. It
// reports false when the invocation had ended already (a timeout, its
// sandbox's end, or a result before).
func (i *Invoker) settleResult(sb *sandbox, inv *invocation, o *outcome) bool {
	if !inv.claim() {
		return false
	}
	res := i.finishInvocation(sb, inv, o, inv.cold)
	// The sandbox counts as on its way back to next before the caller learns
	// the result: a caller that calls again at once must find it counted, or
	// its pool would cold-start a second sandbox that nobody then needs. It
	// takes the call's concurrency slot with it, to give back once it is in
	// next again (or gone): until then it is busy, as on Lambda, and counts
	// against its function's concurrency.
	sb.pool.markReturning(sb, inv.slot.handOff())
	if !i.answerInline(inv, o, res) {
		inv.settled = res
		inv.complete(o)
		inv.wakeParked()
	}
	return true
}

// answerInline answers inv's settled Result res to its caller's client, from
// the goroutine that read the result, when the caller armed an answer, o is
// small and the client's connection can take it at once. The caller, parked,
// is not woken: it returns the settled Result when its client next wakes it.
func (i *Invoker) answerInline(inv *invocation, o *outcome, res *Result) bool {
	if inv.reply.Load() != replyArmed || len(o.payload) > AnswerMax || !inv.ans.Ready() ||
		!inv.reply.CompareAndSwap(replyArmed, replyInline) {
		return false
	}
	inv.stopTimer()
	inv.finish()
	inv.settled = res
	if res.Answered = inv.ans.Answer(res); !res.Answered {
		inv.ans.Wake() // the caller answers it
	}
	inv.complete(o)
	return true
}

// timedOut stops the sandbox (it is replaced by the next cold start) and records
// Lambda's timeout error, unless a result won the race. As Lambda's, the
// caller's error reads "RequestId: ID Error: Task timed out after 3.00
// seconds" and the log line "<ISO time> ID Task timed out after 3.00 seconds".
func (i *Invoker) timedOut(sb *sandbox, inv *invocation) *outcome {
	secs := inv.timeout.Seconds()
	if !inv.claim() {
		<-inv.done // a result won: settleResult records it once END is written
		return inv.out
	}
	what := fmt.Sprintf("Task timed out after %.2f seconds", secs)
	line := i.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z") + " " + inv.id + " " + what + "\n"
	doc := errorDoc("Sandbox.Timedout", "RequestId: "+inv.id+" Error: "+what)
	inv.complete(&outcome{functionError: true, timedOut: true, payload: doc, note: []byte(line)})
	i.logTimeout(sb, inv)
	sb.stop()
	return inv.out
}

// logTimeout says whether the runtime had taken the invocation that timed
// out: a handler that ran too long is the function's (info), an invocation
// its runtime never asked for (it did not call next again, or could not
// reach the Runtime API) is worth a warning.
func (i *Invoker) logTimeout(sb *sandbox, inv *invocation) {
	sb.mu.Lock()
	taken := sb.cur == inv || sb.tailOf == inv
	waiting, parked := sb.next != nil, sb.next != nil && sb.next.parked
	sb.mu.Unlock()
	attrs := []any{"function", sb.cfg.FunctionName, "version", sb.cfg.Version, "sandbox", sb.id, "requestId", inv.id, "timeout", inv.timeout}
	if taken {
		i.log.Info("invocation timed out in its handler", attrs...)
		return
	}
	i.log.Warn("invocation timed out before its runtime took it: the runtime did not call next again, or could not reach the Runtime API",
		append(attrs, "nextWaiting", waiting, "nextParked", parked, "handedBack", len(sb.handback))...)
}

// crashed records Runtime.ExitError unless the runtime posted a result first
// (aws-lambda-go posts a panic's error, then exits). Its log lines are
// Lambda's: the error, then its type. A sandbox that the runtime lost its
// watch on (runtimes.ErrWaitLost: its daemon went away) did not exit that we
// know of: that is Portico's failure, not the function's, and the caller gets
// 503 ServiceException (outcome.lost) with the details in the server log.
func (i *Invoker) crashed(sb *sandbox, inv *invocation) *outcome {
	if !inv.claim() {
		<-inv.done // a result came first (settleResult)
		return inv.out
	}
	if err := lostWait(sb); err != nil {
		if inv.complete(&outcome{fail: &callFailure{&lostError{err}}, note: []byte("RequestId: " + inv.id + " Error: " + lostNote + "\n")}) {
			i.log.Warn("invocation cut off: the runtime lost its watch on the sandbox (its daemon stopped answering); "+lostFate(inv.req),
				"function", sb.cfg.FunctionName, "version", sb.cfg.Version, "sandbox", sb.id, "requestId", inv.id, "err", err)
		}
		return inv.out
	}
	if sb.cutOff.Load() {
		// Portico's shutdown stopped the sandbox: not the function's
		// error, and the function log says so (no Runtime.ExitError, no
		// "Status: error" in its REPORT), as of a lost sandbox.
		inv.complete(&outcome{fail: cutOffFailure, note: []byte("RequestId: " + inv.id + " Error: " + cutOffNote + "\n")})
		return inv.out
	}
	msg := "RequestId: " + inv.id + " Error: " + exitReason(sb)
	inv.complete(&outcome{functionError: true, payload: errorDoc("Runtime.ExitError", msg), note: faultLines(msg, "Runtime.ExitError"),
		errorType: "Runtime.ExitError"})
	return inv.out
}

// lostFate says, in the server's log, what becomes of a call that a runtime's
// lost watch cut off: a caller's gets 503; an Event, which has no caller, is
// tried again (no attempt counted), as after a throttle.
func lostFate(req Request) string {
	if req.event {
		return "the Event invocation stays queued and runs again after a backoff, its retries untouched"
	}
	return "the caller gets 503 ServiceException"
}

// lostNote is what the function log says of an invocation whose sandbox the
// runtime lost its watch on.
const lostNote = "the container runtime stopped answering while the invocation ran; its outcome is unknown (Portico's failure, not the function's)"

// cutOffNote is what the function log says of an invocation that Portico's
// shutdown cut off (its sandbox stopped at the end of the drain).
const cutOffNote = "Portico shut down while the invocation ran and stopped its sandbox; its outcome is unknown (Portico's stop, not the function's failure)"

// lostMessage is what the caller of such an invocation is told.
const lostMessage = "The container runtime stopped answering while the function ran, so the invocation's outcome is unknown: " +
	"it may or may not have finished. Retry the call once the runtime answers again."

// lostError is the error of a call whose sandbox the runtime lost its watch on
// (runtimes.ErrWaitLost), during its invocation or its init: 503
// ServiceException, whose body says lostMessage (ClientMessage) and nothing
// of the daemon; its Error, for the server's log, has the runtime's details.
type lostError struct{ err error }

func (e *lostError) Error() string {
	return "the invocation was cut off: " + e.err.Error()
}

// Unwrap gives the kind (ErrUnavailable, ServiceException) and the runtime's error.
func (e *lostError) Unwrap() []error {
	return []error{&errdefs.Kinded{Kind: errdefs.ErrUnavailable, Type: "ServiceException", Message: lostMessage}, e.err}
}

// ClientMessage is what the API surfaces tell the caller in place of their
// generic 5xx message.
func (e *lostError) ClientMessage() string { return lostMessage }

// lostWait returns sb's exit error when the runtime lost its watch on it
// (runtimes.ErrWaitLost), else nil. Call it once sb is gone.
func lostWait(sb *sandbox) error {
	if sb.rt == nil {
		return nil
	}
	if err := sb.rt.Err(); errors.Is(err, runtimes.ErrWaitLost) {
		return err
	}
	return nil
}

// errCutOff is the error of a call whose invocation Portico's shutdown cut off
// (its sandbox stopped at the end of the drain): 503 ServiceException.
var errCutOff error = &shutdownError{&errdefs.Kinded{Kind: errdefs.ErrUnavailable, Type: "ServiceException",
	Message: "Portico is shutting down: the invocation was cut off before it finished (it may or may not have run to its end); retry it"}}

// shutdownError is a call's 503 ServiceException because Portico is shutting
// down. Its message is the caller's to read (ClientMessage), in place of the
// API surfaces' generic 5xx one: it says whether the call ran and to retry it.
type shutdownError struct{ k *errdefs.Kinded }

func (e *shutdownError) Error() string { return e.k.Error() }

// Unwrap returns the kinded error (errdefs.ErrUnavailable, ServiceException).
func (e *shutdownError) Unwrap() error { return e.k }

// ClientMessage is what the API surfaces tell the caller.
func (e *shutdownError) ClientMessage() string { return e.k.Message }

// callFailure is what a call gets instead of a Result when its invocation
// ended without being the function's to fail (outcome.fail). Behind a
// pointer, so that every outcome stays in its 64-byte size class.
type callFailure struct{ err error }

// cutOffFailure is the failure of an invocation cut off by the shutdown.
var cutOffFailure = &callFailure{errCutOff}

// answer is the (Result, error) that Invoke returns for an invocation that
// ended with o, res being its settled Result: o.fail's error, when set, for
// an invocation that was not the function's to fail (a lost sandbox, a
// shutdown).
func (o *outcome) answer(res *Result) (*Result, error) {
	if o.fail != nil {
		return nil, &InvocationError{RequestID: res.RequestID, Err: o.fail.err}
	}
	return res, nil
}

// InvocationError is the error of a call whose invocation began (the function
// log has its START line, under RequestID) and then ended without being the
// function's to fail: Portico's shutdown cut it off, or the runtime lost its
// watch on its sandbox. The API surfaces answer it with RequestID, so that the
// caller can find the call's lines in the function log. Err is the cause
// (503 ServiceException).
type InvocationError struct {
	RequestID string
	Err       error
}

// Error is the cause's: the request ID is the answer's, not the message's.
func (e *InvocationError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *InvocationError) Unwrap() error { return e.Err }

// faultLines are the lines Lambda logs for an error of the platform's own (a
// runtime's exit): the message, then the error type.
func faultLines(msg, typ string) []byte {
	return []byte(msg + "\n" + typ + "\n")
}

// lostInit returns the error of a call whose sandbox the runtime lost its
// watch on during init (runtimes.ErrWaitLost) before the init failed in a way
// of its own (an init/error, the init timeout), and logs it; else nil.
func (i *Invoker) lostInit(req Request, f *initFail) error {
	if f.doc != nil || f.timedOut {
		return nil
	}
	err := lostWait(f.sb)
	if err == nil {
		return nil
	}
	i.log.Warn("call cut off: the runtime lost its watch on the sandbox during its init (its daemon stopped answering); "+lostFate(req),
		"function", req.Function.FunctionName, "version", req.Function.Version, "sandbox", f.sb.id, "err", err)
	return &lostError{err}
}

// initFailed is the Result of a call whose sandbox failed its init (pre, when
// set, is the call's invocation, built while it waited). As Lambda, it logs the
// call after the init's output: START, Portico's note (an exit's or an init
// timeout's lines), END and REPORT with the Init Duration and Status: error;
// the call's tail, when asked for, holds the init's output and these lines.
// The REPORT's Duration is the init's: the call waited for it, and nothing of
// the call ran.
func (i *Invoker) initFailed(req Request, pre *invocation, f *initFail) *Result {
	cfg := req.Function
	id := req.RequestID
	switch {
	case pre != nil:
		id = pre.id
	case id == "":
		id = newID()
	}
	sb := f.sb
	sb.syncLogs(true) // the init's output is in the log (and initOut) before START, and before initFailure reads it
	o := i.initFailure(f, id)
	lines := []byte("START RequestId: " + id + " Version: " + cfg.Version + "\n")
	lines = append(lines, o.note...)
	lines = append(lines, reportLines(id, f.initDur, 0, cfg.MemorySize, sb.maxMemoryMB(), true, f.initDur, "error", "")...)
	i.logs.get(cfg.FunctionName).writeFrame(lines)
	res := &Result{RequestID: id, Payload: o.payload, FunctionError: "Unhandled", ExecutedVersion: cfg.Version, ColdStart: true}
	if req.LogTail {
		tail := &tailBuf{}
		sb.mu.Lock()
		if sb.initOut != nil {
			tail.write(sb.initOut.bytes())
		}
		sb.mu.Unlock()
		tail.writeFrame(lines)
		res.LogTail = tail.bytes()
	}
	if i.obs != nil {
		i.obs.OnInvoke(Invocation{Function: cfg.FunctionName, Version: cfg.Version, Alias: aliasOf(req.InvokedARN),
			Error: true, ColdStart: true})
	}
	return res
}

// finishInvocation writes the outcome's note (a timeout's or an exit's lines),
// END and REPORT, to the function log and the invocation's tail, and builds the
// Result.
func (i *Invoker) finishInvocation(sb *sandbox, inv *invocation, o *outcome, cold bool) *Result {
	cfg := inv.req.Function
	dur := i.since(inv.started)
	synced := sb.syncLogs(inv.req.LogTail)
	sb.mu.Lock()
	if sb.tailOf == inv {
		sb.tailOf = nil
	}
	sb.logsBehind = !synced
	initDur := sb.initDuration
	sb.invocations++
	sb.mu.Unlock()
	status := ""
	switch {
	case o.timedOut:
		status = "timeout"
	case o.errorType != "":
		status = "error" // the runtime failed, not the handler: Lambda says so, and how
	}
	report := reportLines(inv.id, dur, time.Duration(cfg.Timeout)*time.Second, cfg.MemorySize, sb.maxMemoryMB(), cold, initDur, status, o.errorType)
	fl := i.logs.get(cfg.FunctionName)
	if o.note != nil {
		fl.writeFrame(o.note)
	}
	fl.writeFrame(report)
	res := &Result{
		RequestID:       inv.id,
		Payload:         o.payload,
		TimedOut:        o.timedOut,
		ExecutedVersion: cfg.Version,
		ColdStart:       cold,
		Duration:        dur,
	}
	if o.functionError {
		res.FunctionError = "Unhandled"
	}
	if i.obs != nil {
		ob := Invocation{Function: cfg.FunctionName, Version: cfg.Version, Alias: aliasOf(inv.req.InvokedARN),
			Error: o.functionError, Duration: dur, ColdStart: cold}
		if cold {
			ob.InitDuration = initDur
		}
		i.obs.OnInvoke(ob)
	}
	if inv.tail != nil {
		if o.note != nil {
			inv.tail.writeFrame(o.note)
		}
		inv.tail.writeFrame(report)
		res.LogTail = inv.tail.bytes()
	}
	if cold {
		// The version is being called: keep a prepared spare for its next cold
		// start, where the runtime can prepare one.
		go sb.pool.prepareSpare()
	}
	return res
}

// reportLines are Lambda's END and REPORT lines of an invocation; status, when
// not empty, is "timeout" or "error". The billed duration is never more than
// limit, the function's timeout, when limit is not 0: a timed-out call is
// billed its timeout (3000 ms for Timeout 3), however late it was stopped.
//
//	END RequestId: ID
//	REPORT RequestId: ID<TAB>Duration: 1.23 ms<TAB>Billed Duration: 2 ms<TAB>Memory Size: 128 MB<TAB>Max Memory Used: 9 MB<TAB>[Init Duration: 4.56 ms<TAB>][Status: timeout]
func reportLines(id string, dur, limit time.Duration, memorySize, maxMemory int, cold bool, initDur time.Duration, status, errorType string) []byte {
	b := make([]byte, 0, 192+2*len(id))
	b = append(b, "END RequestId: "...)
	b = append(b, id...)
	b = append(b, "\nREPORT RequestId: "...)
	b = append(b, id...)
	b = append(b, "\tDuration: "...)
	b = strconv.AppendFloat(b, float64(dur.Microseconds())/1000, 'f', 2, 64)
	b = append(b, " ms\tBilled Duration: "...)
	billed := dur.Milliseconds() + 1
	if limit > 0 {
		billed = min(billed, limit.Milliseconds())
	}
	b = strconv.AppendInt(b, billed, 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(memorySize), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, int64(maxMemory), 10)
	b = append(b, " MB\t"...)
	if cold {
		b = append(b, "Init Duration: "...)
		b = strconv.AppendFloat(b, float64(initDur.Microseconds())/1000, 'f', 2, 64)
		b = append(b, " ms\t"...)
	}
	if status != "" {
		b = append(b, "Status: "...)
		b = append(b, status...)
	}
	if errorType != "" {
		b = append(b, "\tError Type: "...)
		b = append(b, errorType...)
	}
	return append(b, '\n')
}

// startLine is written when the sandbox takes an invocation.
func startLine(inv *invocation) []byte {
	return []byte("START RequestId: " + inv.id + " Version: " + inv.req.Function.Version + "\n")
}

// validJSON reports whether b is one JSON value.
func validJSON(b []byte) bool { return json.Valid(b) }
