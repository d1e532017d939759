package gateway

import (
	"crypto/tls"
	"net/http"
	"time"
)

// SetAnsweredHook makes f see each request whose function result was answered
// from the goroutine that read it (functionAnswer), until the test ends.
func SetAnsweredHook(t interface{ Cleanup(func()) }, f func(*http.Request)) {
	answeredHook.Store(&f)
	t.Cleanup(func() { answeredHook.Store(nil) })
}

// SetClientWatchHook makes f run each time a request's client starts being
// watched (clientWatch.start), until the test ends.
func SetClientWatchHook(t interface{ Cleanup(func()) }, f func()) {
	watchStartedHook.Store(&f)
	t.Cleanup(func() { watchStartedHook.Store(nil) })
}

// SetWebSocketAnsweredHook makes f see the connection id of each message whose
// function result was answered from the goroutine that read it (wsAnswer),
// until the test ends.
func SetWebSocketAnsweredHook(t interface{ Cleanup(func()) }, f func(connectionID string)) {
	wsAnsweredHook.Store(&f)
	t.Cleanup(func() { wsAnsweredHook.Store(nil) })
}

// trustBackends makes both of the gateway's backend clients (the fast proxy
// and the transport) use cfg for https: backends.
func (g *Gateway) trustBackends(cfg *tls.Config) {
	g.transport.TLSClientConfig = cfg
	if g.fast != nil {
		g.fast.SetTLSClientConfig(cfg)
	}
}

// TrustBackends is trustBackends for the package's external tests.
func TrustBackends(g *Gateway, cfg *tls.Config) { g.trustBackends(cfg) }

// FastServed is how many requests the fast proxy took.
func FastServed(g *Gateway) int64 { return g.fast.Served() }

// SetClientWatchAfter makes a request's client watched d after its
// integration starts or its body was read (clientWatchAfter), until the test
// ends.
func SetClientWatchAfter(t interface{ Cleanup(func()) }, d time.Duration) {
	old := clientWatchAfter
	clientWatchAfter = d
	t.Cleanup(func() { clientWatchAfter = old })
}
