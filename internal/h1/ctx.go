package h1

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// requestContext is a request's context: its connection's, cancelled when the
// request ends (its handler returned) or its connection fails, as net/http's
// server cancels a request's context. It lives in the request's response, so
// it costs no allocation of its own, and it is cancellable without
// context.WithCancel's work on every request (an allocation, and registering
// with the connection's context and leaving it again under its lock): most
// requests never ask for a Done channel, and only those that do (a child
// context, a select on Done) get one, from a context.WithCancel of the
// connection's context made then. Safe for concurrent use.
type requestContext struct {
	parent context.Context // the connection's context
	ended  atomic.Bool     // the request is over, or its connection failed
	in     atomic.Pointer[liveContext]
	mu     sync.Mutex // serializes making in
}

// liveContext is what a requestContext forwards to once a Done channel was
// asked for.
type liveContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

var _ context.Context = (*requestContext)(nil)

// Deadline implements context.Context: the connection's (none).
func (c *requestContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done implements context.Context.
func (c *requestContext) Done() <-chan struct{} { return c.live().Done() }

// Err implements context.Context.
func (c *requestContext) Err() error {
	if in := c.in.Load(); in != nil {
		return in.ctx.Err()
	}
	if c.ended.Load() {
		return context.Canceled
	}
	return c.parent.Err()
}

// Value implements context.Context. Once a Done channel exists, values are
// looked up through the context.WithCancel that made it, whose own value is
// the context package's key for its cancel state: so context.WithCancel of
// this context finds a parent it can register with directly, as it does with
// a context of its own.
func (c *requestContext) Value(key any) any {
	if in := c.in.Load(); in != nil {
		return in.ctx.Value(key)
	}
	return c.parent.Value(key)
}

// live returns the cancellable context this one forwards to, made on first
// use (cancelled at once when the request is already over).
func (c *requestContext) live() context.Context {
	if in := c.in.Load(); in != nil {
		return in.ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if in := c.in.Load(); in != nil {
		return in.ctx
	}
	ctx, cancel := context.WithCancel(c.parent)
	c.in.Store(&liveContext{ctx, cancel})
	if c.ended.Load() {
		cancel()
	}
	return ctx
}

// end cancels the context. Either end sees live's context, or live sees
// ended (the two atomics are sequentially consistent): it is cancelled once
// made either way.
func (c *requestContext) end() {
	c.ended.Store(true)
	if in := c.in.Load(); in != nil {
		in.cancel()
	}
}
