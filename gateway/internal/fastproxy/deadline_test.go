package fastproxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// guard fails the test when ch gives nothing within a minute (a hang, not a
// timing).
func guard[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("%s: nothing after a minute", what)
		var zero T
		return zero
	}
}

// TestSoftDeadlineGoesOn: an exchange that outlives its soft deadline (here
// at once) arms the abort, goes on to the answer within the integration
// timeout, and leaves the connection fit for the pool.
func TestSoftDeadlineGoesOn(t *testing.T) {
	be := echoBackend(t)
	var writes atomic.Int64
	p, hp, u := proxyWithCounter(t, be.URL, &writes)
	p.softWait = time.Nanosecond
	for i, body := range []string{"first", "second"} {
		r := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(body))
		w := httptest.NewRecorder()
		if err := p.Serve(w, r, hp, u, http.MethodPost, 30*time.Second); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if w.Code != http.StatusOK || w.Body.String() != body {
			t.Fatalf("request %d: %d %q", i, w.Code, w.Body)
		}
	}
	if n := p.extends.Load(); n < 2 {
		t.Errorf("%d exchanges went past their soft deadline, want 2", n)
	}
	if idle, _ := p.Idle(u); idle != 1 {
		t.Errorf("%d idle connections after two requests in turn, want the one reused", idle)
	}
}

// TestCancelAbortsBackend: a request the client cancels while the backend is
// still thinking ends with the context's error, and the backend sees its
// connection go.
func TestCancelAbortsBackend(t *testing.T) {
	got, gone := make(chan struct{}), make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(got)
		<-r.Context().Done() // the gateway's connection closed
		close(gone)
	}))
	t.Cleanup(be.Close)
	p := New(8)
	p.softWait = time.Nanosecond
	u, _ := url.Parse(be.URL + "/slow")
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest(http.MethodGet, "/slow", nil).WithContext(ctx)
	hp := p.Route(u, http.MethodGet, r)
	if hp == nil {
		t.Fatal("the fast path declined a GET")
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(httptest.NewRecorder(), r, hp, u, http.MethodGet, 10*time.Minute) }()
	guard(t, got, "the backend's request")
	cancel()
	if err := guard(t, errc, "Serve's return"); !errors.Is(err, context.Canceled) {
		t.Errorf("Serve returned %v, want context.Canceled", err)
	}
	guard(t, gone, "the backend's connection closing")
}

// TestIdlePastDeadlineStillProbed: a pooled connection whose deadline passed
// while it was idle is probed and reused by a request that cannot be retried,
// not thrown away.
func TestIdlePastDeadlineStillProbed(t *testing.T) {
	be := echoBackend(t)
	var dials atomic.Int64
	p, hp, u := proxyWithCounter(t, be.URL, new(atomic.Int64))
	wrap := p.wrapConn
	p.wrapConn = func(c net.Conn) net.Conn { dials.Add(1); return wrap(c) }
	serve := func(body string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(body))
		w := httptest.NewRecorder()
		if err := p.Serve(w, r, hp, u, http.MethodPost, 30*time.Second); err != nil || w.Body.String() != body {
			t.Fatalf("%v, %q", err, w.Body)
		}
	}
	serve("one")
	hp.mu.Lock()
	if len(hp.idle) != 1 {
		hp.mu.Unlock()
		t.Fatalf("%d idle connections, want 1", len(hp.idle))
	}
	_ = hp.idle[0].nc.SetDeadline(time.Unix(1, 0)) // as if it had idled past it
	hp.mu.Unlock()
	serve("two")
	if n := dials.Load(); n != 1 {
		t.Errorf("%d dials, want the idle connection reused", n)
	}
}

// TestPoolKeepsBurstConnections: more concurrent requests than maxIdle leave
// their connections in the pool (up to burstFactor*maxIdle) for the next
// burst instead of closing them; those past maxIdle close after burstIdle
// idle, the rest after idleTimeout.
func TestPoolKeepsBurstConnections(t *testing.T) {
	const conc = 6
	arrived := make(chan struct{}, conc)
	release := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived <- struct{}{}
		<-release
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(be.Close)
	var dials atomic.Int64
	p := New(2)
	now := time.Unix(1_000_000, 0)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	p.now = func() time.Time { return time.Unix(0, clock.Load()) }
	p.wrapConn = func(c net.Conn) net.Conn { dials.Add(1); return c }
	u, _ := url.Parse(be.URL + "/")
	hp := p.Route(u, http.MethodGet, httptest.NewRequest(http.MethodGet, "/", nil))
	burst := func() {
		t.Helper()
		errc := make(chan error, conc)
		for range conc {
			go func() {
				w := httptest.NewRecorder()
				errc <- p.Serve(w, httptest.NewRequest(http.MethodGet, "/", nil), hp, u, http.MethodGet, time.Minute)
			}()
		}
		for range conc {
			guard(t, arrived, "a request at the backend")
		}
		for range conc {
			release <- struct{}{}
		}
		for range conc {
			if err := guard(t, errc, "Serve"); err != nil {
				t.Fatal(err)
			}
		}
	}
	burst()
	if idle, _ := p.Idle(u); idle != conc {
		t.Fatalf("%d idle after a burst of %d, want all kept", idle, conc)
	}
	burst()
	if n := dials.Load(); n != conc {
		t.Errorf("%d dials for two bursts of %d, want %d", n, conc, conc)
	}
	clock.Add(int64(p.burstIdle))
	hp.prune()
	if idle, _ := p.Idle(u); idle != p.maxIdle {
		t.Errorf("%d idle after burstIdle, want maxIdle %d", idle, p.maxIdle)
	}
	clock.Add(int64(p.idleTimeout))
	hp.prune()
	if idle, _ := p.Idle(u); idle != 0 {
		t.Errorf("%d idle after idleTimeout, want 0", idle)
	}
}
