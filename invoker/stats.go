package invoker

import (
	"cmp"
	"context"
	"slices"

	"github.com/portico-dev/portico/functions"
)

// Stats is a snapshot of the invoker's sandboxes and budget.
type Stats struct {
	Pools     int `json:"pools"`     // versions (revisions of $LATEST) with a pool
	Sandboxes int `json:"sandboxes"` // started sandboxes, in any state
	Idle      int `json:"idle"`      // sandboxes waiting in next
	Starting  int `json:"starting"`  // sandboxes starting
	Waiting   int `json:"waiting"`   // calls waiting for a sandbox
	Spares    int `json:"spares"`    // prepared sandboxes (runtimes.Preparer)
	Preparing int `json:"preparing"` // spares being prepared
	Stopping  int `json:"stopping"`  // sandboxes and spares being stopped and removed
	// Started counts the sandboxes started since the invoker started (cold
	// starts, provisioned ones included).
	Started int64 `json:"started"`
	// LogBytesLost counts the bytes of function log output that could not be
	// written to the log files since the invoker started (a full disk): the
	// server's log says so, once a minute per function.
	LogBytesLost int64 `json:"logBytesLost"`

	// Budget is the sandbox budget and what of it is held.
	Budget BudgetStats `json:"budget"`
	// Versions are the sandboxes by function and version, sorted.
	Versions []VersionStats `json:"versions"`
}

// BudgetStats are the sandbox budget (0: no cap) and its use: sandboxes running
// or starting, and the sum of their memory sizes.
type BudgetStats struct {
	MaxSandboxes int   `json:"maxSandboxes"`
	MaxMemoryMB  int64 `json:"maxMemoryMB"`
	Sandboxes    int   `json:"sandboxes"`
	MemoryMB     int64 `json:"memoryMB"`
}

// VersionStats are one version's sandboxes. A revision of $LATEST replaced by an
// update shows as its own entry until its sandboxes are gone.
type VersionStats struct {
	Function    string `json:"function"`
	Version     string `json:"version"`
	Busy        int    `json:"busy"`        // running or about to run a call
	Idle        int    `json:"idle"`        // waiting for a call
	Starting    int    `json:"starting"`    // in init
	Provisioned int    `json:"provisioned"` // the provisioned minimum kept warm
	Waiting     int    `json:"waiting"`     // calls waiting for a sandbox
}

// Stats returns a snapshot of the invoker's pools. Safe for concurrent use.
func (i *Invoker) Stats() Stats {
	// One consistent snapshot: every pool is locked at once (the invoker's lock,
	// then each pool's, the order used everywhere), so a sandbox that stops in
	// one pool while another starts elsewhere is not counted twice.
	i.mu.Lock()
	pools := make([]*pool, 0, len(i.pools))
	for _, p := range i.pools {
		p.mu.Lock()
		pools = append(pools, p)
	}
	n, mem := i.budget.use()
	i.mu.Unlock()
	s := Stats{Pools: len(pools), Stopping: int(i.stopping.Load()), Started: i.launched.Load(), LogBytesLost: i.logs.Lost(), Versions: []VersionStats{}}
	s.Budget = BudgetStats{MaxSandboxes: i.budget.maxCount, MaxMemoryMB: i.budget.maxMemMB, Sandboxes: n, MemoryMB: mem}
	for _, p := range pools {
		s.Sandboxes += len(p.all)
		s.Idle += len(p.idle)
		s.Starting += p.starting
		s.Waiting += len(p.waiters)
		if p.spare != nil {
			s.Spares++
		}
		if p.preparing {
			s.Preparing++
		}
		initing := 0 // started, in init: counted in p.all and in p.starting
		for sb := range p.all {
			sb.mu.Lock()
			if sb.state == stStarting {
				initing++
			}
			sb.mu.Unlock()
		}
		v := VersionStats{Function: p.cfg.FunctionName, Version: p.cfg.Version,
			Busy: max(len(p.all)-len(p.idle)-initing, 0), Idle: len(p.idle), Starting: p.starting,
			Provisioned: p.minWarm, Waiting: len(p.waiters)}
		p.mu.Unlock()
		if v.Busy+v.Idle+v.Starting+v.Provisioned+v.Waiting > 0 {
			s.Versions = append(s.Versions, v)
		}
	}
	slices.SortFunc(s.Versions, func(a, b VersionStats) int {
		return cmp.Or(cmp.Compare(a.Function, b.Function), cmp.Compare(a.Version, b.Version))
	})
	return s
}

// ProvisionedStatus is how far the invoker has got with one provisioned-
// concurrency setting.
type ProvisionedStatus struct {
	// Allocated counts the setting's provisioned sandboxes past their init,
	// at most the number it requested (on-demand sandboxes of its versions
	// do not count).
	Allocated int
	// Failure says why the setting's sandboxes fail their init, while they
	// do and fewer than requested are allocated; "" otherwise.
	Failure string
}

// ProvisionedStatus reports the sandboxes started for pc, a stored setting:
// those of its version, or of its alias's versions by weight. A version's
// sandboxes count for each setting that names it. Safe for concurrent use.
func (i *Invoker) ProvisionedStatus(ctx context.Context, pc functions.ProvisionedConfig) (ProvisionedStatus, error) {
	shares, err := i.provisionedShares(ctx, pc)
	if err != nil {
		return ProvisionedStatus{}, err
	}
	var st ProvisionedStatus
	for j, n := range splitProvisioned(pc.Requested, shares) {
		if n == 0 {
			continue
		}
		i.mu.Lock()
		p := i.pools[poolKey(shares[j].Config)]
		i.mu.Unlock()
		if p == nil {
			continue
		}
		p.mu.Lock()
		ready := 0
		for sb := range p.all {
			if !sb.provisioned { // on-demand sandboxes are not the setting's
				continue
			}
			sb.mu.Lock()
			if sb.state != stStarting && sb.state != stDead {
				ready++
			}
			sb.mu.Unlock()
		}
		failure := p.provFailure
		p.mu.Unlock()
		st.Allocated += min(ready, n)
		if ready < n && st.Failure == "" {
			st.Failure = failure
		}
	}
	return st, nil
}
