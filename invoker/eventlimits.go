package invoker

import (
	"context"
	"errors"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

// EventInvokeConfigs is an optional ability of Functions, found by type
// assertion (*functions.Service has it): the event invoke configuration of a
// qualifier of a function ("" is $LATEST), or an errdefs.ErrNotFound error
// when the function sets none there. Without it every Event invocation gets
// Lambda's defaults: as many retries as AsyncRetryDelays has, six hours.
type EventInvokeConfigs interface {
	GetEventInvokeConfig(ctx context.Context, name, qualifier string) (*functions.EventInvokeConfig, error)
}

// eventLimits returns how many times a failed Event invocation is retried and
// how old it may get before it is dropped unrun: the event invoke
// configuration of the qualifier it was invoked through (its alias, its
// version, or $LATEST for the bare name), read at each attempt so that a
// change applies to the events already queued, with no more retries than
// AsyncRetryDelays has delays for. An event whose alias was deleted keeps the
// alias's configuration as it was when the event was queued
// (asyncEvent.AliasLimits).
func (i *Invoker) eventLimits(ctx context.Context, ev asyncEvent) (retries int, maxAge time.Duration) {
	retries, maxAge = len(i.p.Config.AsyncRetryDelays), asyncMaxAge
	src, ok := i.p.Functions.(EventInvokeConfigs)
	if !ok {
		return retries, maxAge
	}
	qualifier := ev.Version
	if ref, err := functions.ParseRef(ev.InvokedARN); err == nil && ref.Name == ev.Function {
		qualifier = ref.Qualifier
	}
	c, err := src.GetEventInvokeConfig(ctx, ev.Function, qualifier)
	switch {
	case errors.Is(err, errdefs.ErrNotFound) && ev.AliasLimits != nil && qualifier == eventAlias(ev) && i.aliasGone(ctx, ev.Function, qualifier):
		// The alias went, and its configuration with it: the event keeps
		// the one it was queued under.
		return min(retries, ev.AliasLimits.RetryAttempts), time.Duration(ev.AliasLimits.MaxEventAgeSecond) * time.Second
	case errors.Is(err, errdefs.ErrNotFound):
		return retries, maxAge
	case err != nil:
		i.log.Warn("reading the event invoke configuration; using the defaults", "function", ev.Function, "qualifier", qualifier, "err", err)
		return retries, maxAge
	}
	return min(retries, c.RetryAttempts()), c.MaxEventAge()
}

// aliasGone reports whether alias of function fn no longer exists.
func (i *Invoker) aliasGone(ctx context.Context, fn, alias string) bool {
	if i.p.Resolver == nil {
		return false
	}
	_, err := i.p.Resolver.Shares(ctx, functions.Ref{Name: fn, Qualifier: alias})
	return errors.Is(err, errdefs.ErrNotFound)
}

// The function model the app composes has the ability.
var _ EventInvokeConfigs = (*functions.Service)(nil)
