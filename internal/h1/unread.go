package h1

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// UnreadBudget bounds the response bytes that the connections of the servers
// sharing it (Options.Unread) hold in writes their clients have not taken
// yet: a client that asks for a large answer and never reads it pins that
// answer in memory until Options.WriteTimeout cuts it off, and many such
// clients together could take the process's memory. While the writes in
// progress hold more than the budget, each write, those already waiting
// included, must make progress within the budget's short stall timeout
// instead of WriteTimeout: the stalled ones fail and their connections close,
// while clients that keep reading go on. Only writes of writeChunk bytes or
// more count (a small answer holds little). Safe for concurrent use.
type UnreadBudget struct {
	limit int64
	stall time.Duration
	held  atomic.Int64
	// cut counts the writes the budget's stall timeout ended (Cut).
	cut atomic.Int64

	mu      sync.Mutex
	writers map[*conn]struct{}
	// Log, when set, is told when the writes take the budget over, at most
	// once a minute (logged: the last time, UnixNano).
	Log    *slog.Logger
	logged atomic.Int64
}

// NewUnreadBudget returns a budget of limit bytes, past which a write that
// makes no progress for stall fails.
func NewUnreadBudget(limit int64, stall time.Duration) *UnreadBudget {
	return &UnreadBudget{limit: limit, stall: stall, writers: map[*conn]struct{}{}}
}

// Limit returns the budget's bytes.
func (b *UnreadBudget) Limit() int64 { return b.limit }

// Held returns the bytes held by the counted writes in progress.
func (b *UnreadBudget) Held() int64 { return b.held.Load() }

// Cut returns how many writes the budget's stall timeout has ended.
func (b *UnreadBudget) Cut() int64 { return b.cut.Load() }

// over reports whether the writes in progress hold more than the budget.
func (b *UnreadBudget) over() bool { return b.held.Load() > b.limit }

// add counts a write of n bytes by c. When it takes the budget over, every
// write in progress gets the short stall timeout at once (the writers look
// at over after setting a deadline of their own, so either they see the
// pressure or this sees them).
func (b *UnreadBudget) add(c *conn, n int64) {
	b.mu.Lock()
	b.writers[c] = struct{}{}
	b.mu.Unlock()
	after := b.held.Add(n)
	if after > b.limit && after-n <= b.limit {
		now := time.Now()
		until := now.Add(b.stall)
		if last := b.logged.Load(); b.Log != nil && now.UnixNano()-last > int64(time.Minute) && b.logged.CompareAndSwap(last, now.UnixNano()) {
			b.Log.Warn("answers waiting for clients that do not read them hold more than the unread budget: writes that make no progress are cut off",
				"heldBytes", after, "budgetBytes", b.limit, "stall", b.stall)
		}
		b.mu.Lock()
		for w := range b.writers {
			_ = w.rwc.SetWriteDeadline(until)
		}
		b.mu.Unlock()
	}
}

// done ends the count of c's write of n bytes.
func (b *UnreadBudget) done(c *conn, n int64) {
	b.mu.Lock()
	delete(b.writers, c)
	b.mu.Unlock()
	b.held.Add(-n)
}
