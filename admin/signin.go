package admin

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/netaddr"
)

// Failed sign-ins are limited per client address: a client may fail
// failedSignInBurst times in a row, then once every failedSignInEvery. Past
// that every attempt from the address, a right token included, is answered 429
// with Retry-After until the budget refills, so guessing the token gains
// nothing by going faster. A sign-in is a request that presents a credential
// (a bearer token or a SigV4 signature) or posts the console's sign-in form;
// requests that present none are not counted, and successes cost nothing.
const (
	failedSignInBurst = 10
	failedSignInEvery = 6 * time.Second
	// maxSignInClients bounds the addresses tracked at once. Past it, addresses
	// whose budget is full again are forgotten; if none is, new addresses share
	// one budget.
	maxSignInClients = 10000
)

// signInLimiter counts failed sign-ins per client address (an IPv4 address,
// or the /64 of an IPv6 one). The zero value is ready. Safe for concurrent use.
type signInLimiter struct {
	mu       sync.Mutex
	clients  map[netip.Prefix]*rate.Limiter
	overflow *rate.Limiter
}

// signInKey is the address r's failures are counted under; ok is false when
// RemoteAddr holds no IP address (a test recorder's may not).
func signInKey(r *http.Request) (netip.Prefix, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

func newSignInBudget() *rate.Limiter {
	return rate.NewLimiter(rate.Every(failedSignInEvery), failedSignInBurst)
}

// limiter returns key's budget, creating it (the caller holds mu).
func (l *signInLimiter) limiter(key netip.Prefix, now time.Time) *rate.Limiter {
	if lim, ok := l.clients[key]; ok {
		return lim
	}
	if l.clients == nil {
		l.clients = make(map[netip.Prefix]*rate.Limiter)
	}
	if len(l.clients) >= maxSignInClients {
		for k, lim := range l.clients {
			if lim.TokensAt(now) >= failedSignInBurst {
				delete(l.clients, k)
			}
		}
	}
	if len(l.clients) >= maxSignInClients {
		if l.overflow == nil {
			l.overflow = newSignInBudget()
		}
		return l.overflow
	}
	lim := newSignInBudget()
	l.clients[key] = lim
	return lim
}

// wait returns how long r's client must wait before it may try to sign in
// again at now: zero while it has failures to spare.
func (l *signInLimiter) wait(r *http.Request, now time.Time) time.Duration {
	key, ok := signInKey(r)
	if !ok {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.clients[key]
	if !ok {
		if len(l.clients) < maxSignInClients || l.overflow == nil {
			return 0
		}
		lim = l.overflow
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(failedSignInEvery))
}

// failed counts a failed sign-in by r's client at now.
func (l *signInLimiter) failed(r *http.Request, now time.Time) {
	key, ok := signInKey(r)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limiter(key, now).AllowN(now, 1)
}

// tooManySignIns returns the Retry-After value (whole seconds, rounded up) and
// the error of a client that must wait d before it signs in again.
func tooManySignIns(d time.Duration) (retryAfter string, err error) {
	secs := int(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return strconv.Itoa(secs), errdefs.New(errdefs.ErrThrottled, "TooManyRequestsException", fmt.Sprintf(
		"too many failed sign-ins from this address: wait %d s (Retry-After), then sign in with the admin token "+
			"the server was started with (portico serve --admin-token, or PORTICO_ADMIN_TOKEN)", secs))
}

// MinTokenLength is the shortest admin token accepted when the admin API
// listens off loopback: 32 characters, 128 bits or more as hex or base64 of
// random bytes, beyond any guessing that the sign-in limit lets through.
const MinTokenLength = 32

// CheckToken refuses an admin token too short to be safe for an admin API
// listening on listen off loopback, saying what length is needed and how to
// make a token. On loopback any token is taken.
func CheckToken(listen, token string) error {
	if token == "" || netaddr.IsLoopback(listen) || len(token) >= MinTokenLength {
		return nil
	}
	return fmt.Errorf("the admin token is %d characters, too short for an admin API that listens on %s, off loopback: "+
		"give one of at least %d characters, for example made with `openssl rand -hex 32`, as --admin-token (or PORTICO_ADMIN_TOKEN)",
		len(token), listen, MinTokenLength)
}
