// Package shutdown divides the time of a server's stop between its graceful
// part, in which listeners and the invoker let the requests and calls in flight
// finish, and the cleanup that must run however the graceful part went:
// stopping and removing sandboxes, writing counts, closing the store.
//
// fx runs a stop's OnStop hooks one after another with one context and skips
// every hook left once that context has ended. So a hook that waits for work in
// flight waits only as long as Graceful allows, then cuts that work off (closes
// its connections) and returns while the stop's context still has time for the
// hooks after it; and a hook that must run bounds its own work with Cleanup.
package shutdown

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/fx"
)

type graceKey struct{}

type cutKey struct{}

// cuts is what a stop's hooks cut off. Safe for concurrent use.
type cuts struct {
	mu   sync.Mutex
	what []Cut
}

// A Cut is work a stop's hook cut off, and the limit that cut it.
type Cut struct {
	// What was cut off: "2 invocation(s) still running (...)".
	What string
	// Limit names the limit that ended it, as the setting that sets it
	// ("drain-timeout"), when it was a hook's own limit, which ended before
	// the stop's graceful part; After is that limit's length. Empty when it
	// was the end of the graceful part (--shutdown-timeout).
	Limit string
	After time.Duration
	// Left says that What was not cut off but left behind: the stop could
	// not remove it (its container daemon did not answer), and the next
	// start removes it.
	Left bool
	// Remedy, for what was Left, is another way to remove it than the next
	// start ("start and stop Portico once the daemon answers"); empty: none.
	Remedy string
}

// WithGrace returns the context to stop a server with: waits for work in
// flight (Graceful) end after grace, and the stop as a whole, the cleanup
// after those waits included, has until grace+cleanup. Call cancel once the
// stop returned.
func WithGrace(parent context.Context, grace, cleanup time.Duration) (ctx context.Context, cancel context.CancelFunc) {
	end := time.Now().Add(grace)
	ctx, cancel = context.WithDeadline(parent, end.Add(cleanup))
	ctx = context.WithValue(ctx, cutKey{}, &cuts{})
	return context.WithValue(ctx, graceKey{}, end), cancel
}

// NoteCutOff records, in a stop's ctx made by WithGrace, work that the end of
// its graceful part cut off ("2 invocations still running"), for CutOff to
// tell once the stop is over (Cuts). A ctx WithGrace did not make records nothing.
func NoteCutOff(ctx context.Context, what string) {
	NoteCut(ctx, Cut{What: what})
}

// NoteCut records, as NoteCutOff does, work a hook cut off, with the limit
// that cut it when that was a limit of its own, which ended before the
// graceful part did (the invoker's drain).
func NoteCut(ctx context.Context, cut Cut) {
	c, ok := ctx.Value(cutKey{}).(*cuts)
	if !ok {
		return
	}
	c.mu.Lock()
	c.what = append(c.what, cut)
	c.mu.Unlock()
}

// Cuts returns what the hooks of the stop with ctx noted as cut off
// (NoteCutOff, NoteCut), in the order they noted it; none when everything in
// flight finished in time.
func Cuts(ctx context.Context) []Cut {
	c, ok := ctx.Value(cutKey{}).(*cuts)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Cut(nil), c.what...)
}

// Graceful returns the part of a stop's ctx that waiting for work in flight may
// use: until the grace of WithGrace ends; for a context that WithGrace did not
// make, half the time left before its deadline, so that what must run after the
// wait still has the other half; ctx's own time when it has no deadline. The
// caller cancels the context it got when done.
func Graceful(ctx context.Context) (context.Context, context.CancelFunc) {
	if end, ok := ctx.Value(graceKey{}).(time.Time); ok {
		return context.WithDeadline(ctx, end)
	}
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, time.Now().Add(time.Until(d)/2))
	}
	return context.WithCancel(ctx)
}

// Cleanup returns a context for work a stop must do however late it is
// (stopping sandboxes, removing what the runtime holds): it is not cancelled
// with ctx, and it ends at ctx's deadline or after atLeast from now, whichever
// is later. The caller cancels it when done.
func Cleanup(ctx context.Context, atLeast time.Duration) (context.Context, context.CancelFunc) {
	end := time.Now().Add(atLeast)
	if d, ok := ctx.Deadline(); ok && d.After(end) {
		end = d
	}
	return context.WithDeadline(context.WithoutCancel(ctx), end)
}

// Server is an HTTP server that shuts down gracefully or closes at once
// (*http.Server, *h1.Server).
type Server interface {
	Shutdown(ctx context.Context) error
	Close() error
}

// CauseCloser is a Server that can close with a cause: the contexts of the
// requests it cuts off are cancelled with it (context.Cause) before their
// connections close (*h1.Server).
type CauseCloser interface {
	CloseCause(cause error) error
}

// ErrCutOff is the cause a request's context is cancelled with when the end of
// its server's graceful stop cut it off (Stop): the server gave up on it, its
// client did not go away.
var ErrCutOff = errors.New("cut off: the server's shutdown timeout ended before the request finished")

// IsCutOff reports whether ctx, a request's, was cancelled because its server's
// stop cut the request off (ErrCutOff), rather than by its client.
func IsCutOff(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrCutOff)
}

// Stop shuts srv down, letting its requests in flight finish within
// Graceful(ctx), then closes it: the connections still busy are closed and
// their requests' contexts cancelled, with ErrCutOff as the cause when srv is
// a CauseCloser. It returns nil when every request finished, else why not
// (the requests were cut off, srv is closed).
func Stop(ctx context.Context, srv Server) error {
	gctx, cancel := Graceful(ctx)
	defer cancel()
	err := srv.Shutdown(gctx)
	if err != nil {
		if cc, ok := srv.(CauseCloser); ok {
			_ = cc.CloseCause(ErrCutOff)
		} else {
			_ = srv.Close()
		}
	}
	return err
}

// Loop is the hook of a background loop: run goes in its own goroutine at
// start, and at stop its context is cancelled and the hook waits, within the
// stop's context, for run to return (a loop that writes once more when its
// context ends, as the usage counts do, has written by then).
func Loop(run func(ctx context.Context)) fx.Hook {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	return fx.Hook{
		OnStart: func(context.Context) error {
			go func() { defer close(done); run(ctx) }()
			return nil
		},
		OnStop: func(stop context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-stop.Done():
				return stop.Err()
			}
		},
	}
}
