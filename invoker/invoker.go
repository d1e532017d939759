package invoker

import (
	"context"
	"errors"
	"log/slog"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/store"
)

// Params are the invoker's dependencies.
type Params struct {
	Config    Config
	Runtime   runtimes.Runtime
	Functions *functions.Service
	Store     *store.Store
	Log       *slog.Logger
}

// Invoker runs invocations. Safe for concurrent use.
type Invoker struct {
	p Params
}

// New returns an Invoker; call Start before use and Stop to drain.
func New(p Params) (*Invoker, error) { return &Invoker{p: p}, nil }

var errTODO = errors.New("not implemented")

// Invoke runs one synchronous invocation. Errors are errdefs kinds: ErrThrottled at
// a concurrency limit, ErrTooLarge for payloads over the limit, ErrUnavailable when
// a sandbox cannot start; a function error, timeout or crash is a Result with
// FunctionError set, not an error.
func (i *Invoker) Invoke(ctx context.Context, req Request) (*Result, error) {
	return nil, errTODO
}

// InvokeAsync persists an Event invocation of fn and returns its request id once it
// is durable; it runs later, retried twice on error.
func (i *Invoker) InvokeAsync(ctx context.Context, fn *functions.Config, payload []byte) (string, error) {
	return "", errTODO
}

// Logs returns the function log store.
func (i *Invoker) Logs() *Logs { return nil }

// Logs keeps each function's log: sandbox output framed by START/END/REPORT lines.
type Logs struct{}

// Read returns up to the last n bytes of fn's log.
func (l *Logs) Read(fn string, n int) ([]byte, error) { return nil, errTODO }

// Follow streams fn's log lines as they are written until ctx ends.
func (l *Logs) Follow(ctx context.Context, fn string) <-chan []byte { return nil }
