// Package signin limits failed sign-ins per client address, for every surface
// that checks Portico's credentials: the admin API and console, the
// @connections API, the response cache's invalidation and the gateway's
// AWS_IAM routes. There are two budgets, two Limiters: one for the admin
// surface (the admin API and console), one shared by the public gateway
// surfaces, so that failures on one public surface count on the others, but
// failures anywhere on the gateway, whose callers may be anyone (or share an
// address with the operator behind a proxy or NAT), never lock the operator
// out of the admin API.
//
// A client may fail Burst times in a row, then once every Every. Past that
// every attempt from the address, a right credential included, is to be
// answered 429 with Retry-After (each surface in its own error shape) until
// the budget refills, so guessing a credential gains nothing by going faster.
// An attempt is a request that presents a credential (a bearer token, a SigV4
// signature, the console's sign-in form); requests that present none are not
// counted, and successes cost nothing.
package signin

import (
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// The budget of one client address.
const (
	Burst = 10
	Every = 6 * time.Second
	// MaxClients bounds the addresses tracked at once. Past it, addresses
	// whose budget is full again are forgotten; if none is, new addresses
	// share one budget.
	MaxClients = 10000
)

// Limiter counts failed sign-ins per client address (an IPv4 address, or the
// /64 of an IPv6 one). The zero value is ready. Safe for concurrent use.
type Limiter struct {
	// tracked is len(clients), plus one while overflow is in use: Wait
	// answers without the lock while no address has failed.
	tracked  atomic.Int64
	mu       sync.Mutex
	clients  map[netip.Prefix]*rate.Limiter
	overflow *rate.Limiter
}

// Client is the client that addr (an IP address, or host:port) belongs to: the
// address for IPv4, its /64 for IPv6, as failures are counted under; ok is
// false when addr holds no IP address. Other per-client limits (the admin
// API's log follows) count clients the same way.
func Client(addr string) (netip.Prefix, bool) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

func newBudget() *rate.Limiter { return rate.NewLimiter(rate.Every(Every), Burst) }

// limiter returns k's budget, creating it (the caller holds mu).
func (l *Limiter) limiter(k netip.Prefix, now time.Time) *rate.Limiter {
	if lim, ok := l.clients[k]; ok {
		return lim
	}
	if l.clients == nil {
		l.clients = make(map[netip.Prefix]*rate.Limiter)
	}
	if len(l.clients) >= MaxClients {
		for c, lim := range l.clients {
			if lim.TokensAt(now) >= Burst {
				delete(l.clients, c)
			}
		}
	}
	defer l.count()
	if len(l.clients) >= MaxClients {
		if l.overflow == nil {
			l.overflow = newBudget()
		}
		return l.overflow
	}
	lim := newBudget()
	l.clients[k] = lim
	return lim
}

// count sets tracked (the caller holds mu).
func (l *Limiter) count() {
	n := int64(len(l.clients))
	if l.overflow != nil {
		n++
	}
	l.tracked.Store(n)
}

// Wait returns how long the client at addr (an IP address, or host:port) must
// wait at now before it may try to sign in again: zero while it has failures
// to spare. A nil Limiter never asks to wait.
func (l *Limiter) Wait(addr string, now time.Time) time.Duration {
	if l == nil || l.tracked.Load() == 0 {
		return 0
	}
	k, ok := Client(addr)
	if !ok {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.clients[k]
	if !ok {
		if len(l.clients) < MaxClients || l.overflow == nil {
			return 0
		}
		lim = l.overflow
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(Every))
}

// Failed counts a failed sign-in by the client at addr at now. A nil Limiter
// counts nothing.
func (l *Limiter) Failed(addr string, now time.Time) {
	if l == nil {
		return
	}
	k, ok := Client(addr)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limiter(k, now).AllowN(now, 1)
}

// RetryAfter is the Retry-After value of a client that must wait d: whole
// seconds, rounded up, at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(Seconds(d))
}

// Seconds is d in whole seconds, rounded up, at least 1.
func Seconds(d time.Duration) int {
	secs := int(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return secs
}

// BearerToken returns the token of an Authorization header value with the
// Bearer scheme, whose name is matched in any case ("bearer TOKEN" too), as
// RFC 7235 has auth schemes case-insensitive; false for another scheme.
func BearerToken(authorization string) (string, bool) {
	const scheme = "Bearer "
	if len(authorization) < len(scheme) || !strings.EqualFold(authorization[:len(scheme)], scheme) {
		return "", false
	}
	return authorization[len(scheme):], true
}
