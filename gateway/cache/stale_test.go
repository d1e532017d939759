package cache

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// TestRepeatedKeyParameterKeysEveryValue: a cache-key parameter or header
// sent more than once keys on all its values in order, as an HTTP_PROXY
// backend sees them, so an answer to ?q=evil&q=victim is never served to
// ?q=victim.
func TestRepeatedKeyParameterKeysEveryValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"single-value forms", []string{"method.request.querystring.q", "method.request.header.X-K"}},
		{"multivalue forms", []string{"method.request.multivaluequerystring.q", "method.request.multivalueheader.X-K"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, cachedStage(), route("GET", tc.keys...))
			evil := h.get("/items?q=evil&q=victim", nil)
			if got := h.get("/items?q=victim", nil); got == evil {
				t.Fatalf("?q=victim served the answer to ?q=evil&q=victim: %q", got)
			}
			if got := h.get("/items?q=victim&q=evil", nil); got == evil {
				t.Fatalf("the values in another order shared the entry: %q", got)
			}
			if got := h.get("/items?q=evil&q=victim", nil); got != evil {
				t.Fatalf("the same repeated values: %q, want the cached %q", got, evil)
			}
			h.wantCalls(3, "calls %d, want 3")

			evil = h.get("/items?q=1", http.Header{"X-K": {"evil", "victim"}})
			if got := h.get("/items?q=1", http.Header{"X-K": {"victim"}}); got == evil {
				t.Fatalf("X-K: victim served the answer to X-K: evil, X-K: victim: %q", got)
			}
			if got := h.get("/items?q=1", http.Header{"X-K": {"evil", "victim"}}); got != evil {
				t.Fatalf("the same repeated header: %q, want the cached %q", got, evil)
			}
			h.wantCalls(5, "calls %d, want 5")
		})
	}
}

// TestSetCookieNotStored: an answer that sets a cookie is one client's; it
// is passed through but never stored, so no other client gets the cookie.
func TestSetCookieNotStored(t *testing.T) {
	h := newHarness(t, cachedStage(), route("GET"))
	h.header = http.Header{"Set-Cookie": {"session=1"}}
	w, c, err := h.do(false, http.MethodGet, "/items", nil, nil)
	if err != nil || w.Header().Get("Set-Cookie") != "session=1" || !c.CacheMiss {
		t.Fatalf("first answer: %v, Set-Cookie %q, miss %v", err, w.Header().Get("Set-Cookie"), c.CacheMiss)
	}
	h.header = http.Header{"Set-Cookie": {"session=2"}}
	w, c, _ = h.do(false, http.MethodGet, "/items", nil, nil)
	if c.CacheHit || w.Header().Get("Set-Cookie") != "session=2" {
		t.Fatalf("second client: hit %v, Set-Cookie %q; want a fresh answer with its own cookie", c.CacheHit, w.Header().Get("Set-Cookie"))
	}
	h.header = nil
	h.get("/items", nil)
	h.get("/items", nil)
	h.wantCalls(3, "an answer without Set-Cookie was not cached (calls %d, want 3)")
}

// setting returns a method setting with caching as given.
func setting(enabled bool, ttl int) apis.MethodSetting {
	m := apis.DefaultMethodSetting()
	m.CachingEnabled, m.CacheTTLInSeconds = enabled, ttl
	return m
}

// TestLoweredTTLTakesEffectAtOnce: an entry is served while younger than the
// TTL in force, not the one it was stored with; raising the TTL does not
// extend entries stored under a shorter one either.
func TestLoweredTTLTakesEffectAtOnce(t *testing.T) {
	st := cachedStage()
	st.MethodSettings = map[string]apis.MethodSetting{"/items/GET": setting(true, 300)}
	h := newHarness(t, st, route("GET"))
	h.get("/items", nil)
	st.MethodSettings["/items/GET"] = setting(true, 1)
	h.compile(st, h.dep, false)
	h.clock.advance(2 * time.Second)
	h.get("/items", nil)
	h.wantCalls(2, "an entry older than the lowered TTL was served (calls %d, want 2)")

	st.MethodSettings["/items/GET"] = setting(true, 300)
	h.compile(st, h.dep, false)
	h.clock.advance(2 * time.Second)
	h.get("/items", nil)
	h.wantCalls(3, "raising the TTL extended an entry stored under 1 s (calls %d, want 3)")
	h.clock.advance(299 * time.Second)
	h.get("/items", nil)
	h.wantCalls(3, "an entry within the TTL was not served (calls %d, want 3)")
}

// TestCachingOffThenOnStartsAfresh: entries stored before caching was turned
// off for a method (enabled false, or TTL 0) do not come back when it is
// turned on again.
func TestCachingOffThenOnStartsAfresh(t *testing.T) {
	for _, off := range []apis.MethodSetting{setting(false, 300), setting(true, 0)} {
		st := cachedStage()
		st.MethodSettings = map[string]apis.MethodSetting{"/items/GET": setting(true, 300)}
		h := newHarness(t, st, route("GET"))
		old := h.get("/items", nil)
		st.MethodSettings["/items/GET"] = off
		h.compile(st, h.dep, false)
		h.get("/items", nil)
		st.MethodSettings["/items/GET"] = setting(true, 300)
		h.compile(st, h.dep, false)
		if got := h.get("/items", nil); got == old {
			t.Fatalf("caching off (enabled %v, TTL %d) and on again served the entry stored before: %q", off.CachingEnabled, off.CacheTTLInSeconds, got)
		}
		h.get("/items", nil)
		h.wantCalls(3, "calls %d, want 3 (the fresh answer cached)")
	}
}

// TestCachingOffThenOnWithoutARequestBetween: turning a method's caching off
// and on again starts afresh even when no request compiled the stage while it
// was off (the cache watches the stage's changes).
func TestCachingOffThenOnWithoutARequestBetween(t *testing.T) {
	_, svc := gwtest.APIs(t)
	ctx := context.Background()
	a, err := svc.Create(ctx, &apis.API{Name: "c", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{route("GET")}}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cachedStage(), route("GET"))
	h.s.Watch(svc)
	on := true
	_, stg, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "prod", CacheClusterEnabled: &on})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := svc.GetDeployment(ctx, a.ID, stg.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	h.dep = dep
	h.compile(stg, dep, false)
	old := h.get("/items", nil)
	set := func(ms apis.MethodSetting) *apis.Stage {
		t.Helper()
		st, err := svc.UpdateStage(ctx, a.ID, "prod", apis.StagePatch{SetMethodSettings: map[string]apis.MethodSetting{"/items/GET": ms}})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	set(setting(false, 300))
	stg = set(setting(true, 300))
	h.compile(stg, dep, false)
	if got := h.get("/items", nil); got == old {
		t.Fatalf("caching off and on again served the entry stored before: %q", got)
	}
}
