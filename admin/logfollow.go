package admin

import (
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/signin"
)

// Default caps on the log follows (GET /portico/v1/functions/{name}/logs?follow=1)
// open at once.
const (
	// DefaultLogFollowsPerClient is how many follows one client may hold open.
	DefaultLogFollowsPerClient = 8
	// DefaultLogFollows is how many follows the server holds open in all.
	DefaultLogFollows = 256
)

// LogFollowLimits cap the log follows open at once. A follow holds its slot
// until it ends: its client goes away or closes it, or the server stops.
type LogFollowLimits struct {
	// PerClient caps the follows of one client address (an IPv4 address, or an
	// IPv6 /64), token or not: the admin API has one token, which a team
	// shares, so it names no one client. Zero: DefaultLogFollowsPerClient;
	// negative: no cap.
	PerClient int `yaml:"per-client"`
	// Total caps the follows of all clients together. Zero:
	// DefaultLogFollows; negative: no cap.
	Total int `yaml:"total"`
}

// withDefaults returns l with zero fields set to the defaults.
func (l LogFollowLimits) withDefaults() LogFollowLimits {
	if l.PerClient == 0 {
		l.PerClient = DefaultLogFollowsPerClient
	}
	if l.Total == 0 {
		l.Total = DefaultLogFollows
	}
	return l
}

// followSlots counts the log follows open, per client and in all, and refuses
// one past either cap. The zero value takes the default limits. Safe for
// concurrent use.
type followSlots struct {
	limits LogFollowLimits

	mu   sync.Mutex
	open map[string]int // by client key; no entry: none open
	n    int
}

// acquire takes a slot for client (who names it in a message) and returns the
// function that gives it back (idempotent), or an ErrThrottled error that says
// how many follows are open and what to do.
func (f *followSlots) acquire(client, who string) (release func(), err error) {
	l := f.limits.withDefaults()
	f.mu.Lock()
	defer f.mu.Unlock()
	if l.PerClient > 0 && f.open[client] >= l.PerClient {
		return nil, tooManyFollows(fmt.Sprintf("%s already has %s open, the most one client may hold", who, logFollows(f.open[client])))
	}
	if l.Total > 0 && f.n >= l.Total {
		return nil, tooManyFollows(fmt.Sprintf("the server already has %s open, the most it holds for all clients together", logFollows(f.n)))
	}
	if f.open == nil {
		f.open = make(map[string]int)
	}
	f.open[client]++
	f.n++
	var once sync.Once
	return func() { once.Do(func() { f.release(client) }) }, nil
}

// release gives back a slot of client.
func (f *followSlots) release(client string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open[client]--; f.open[client] <= 0 {
		delete(f.open, client)
	}
	f.n--
}

// count is the number of follows open.
func (f *followSlots) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// logFollows is "N log follows", or "1 log follow".
func logFollows(n int) string {
	if n == 1 {
		return "1 log follow"
	}
	return fmt.Sprintf("%d log follows", n)
}

// tooManyFollows is the 429 of a follow past a cap, given why.
func tooManyFollows(why string) error {
	return errdefs.New(errdefs.ErrThrottled, "TooManyRequestsException", why+
		": close one (end a `portico logs --follow`) and try again, "+
		"or read the log without follow")
}

// followClient is the client whose log follows r counts against, and its name
// for a message: the client's address, counted as failed sign-ins are
// (signin.Client). The admin token does not name a client: every holder of
// the one token would share one cap.
func followClient(r *http.Request) (key, who string) {
	if p, ok := signin.Client(r.RemoteAddr); ok {
		if p.Addr().Is4() {
			return "addr " + p.String(), "client address " + p.Addr().String()
		}
		return "addr " + p.String(), "client network " + p.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr " + host, "client address " + host
}
