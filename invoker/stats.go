package invoker

// Stats is a snapshot of the invoker's sandboxes.
type Stats struct {
	Pools     int // versions (revisions of $LATEST) with a pool
	Sandboxes int // started sandboxes, in any state
	Idle      int // sandboxes waiting in next
	Starting  int // sandboxes starting
	Waiting   int // calls waiting for a sandbox
	Spares    int // prepared sandboxes (runtimes.Preparer)
	Preparing int // spares being prepared
	Stopping  int // sandboxes and spares being stopped and removed
}

// Stats returns a snapshot of the invoker's pools. Safe for concurrent use.
func (i *Invoker) Stats() Stats {
	i.mu.Lock()
	pools := make([]*pool, 0, len(i.pools))
	for _, p := range i.pools {
		pools = append(pools, p)
	}
	i.mu.Unlock()
	s := Stats{Pools: len(pools), Stopping: int(i.stopping.Load())}
	for _, p := range pools {
		p.mu.Lock()
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
		p.mu.Unlock()
	}
	return s
}
