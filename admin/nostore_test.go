package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAnswersAreNotStored: the admin API's answers (API key values, a
// function's environment) went out without Cache-Control, so a browser could
// keep the console's calls in its disk cache. Every answer of the admin API,
// through the console or not, errors included, says no-store; the console's
// pages keep no-cache (they hold no data).
func TestAnswersAreNotStored(t *testing.T) {
	t.Parallel()
	const token = "nostore-admin-token-0123456789"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	ctx := context.Background()
	if _, err := env.Client().Do(ctx, "POST", "/apikeys", nil, map[string]any{"name": "k", "enabled": true}, nil); err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(env.AdminURL+"/console/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	cookies := resp.Cookies()
	get := func(path string, hdr map[string]string) (int, http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.AdminURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		for _, c := range cookies {
			if c.Value != "" {
				req.AddCookie(c)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	console := map[string]string{"X-Portico-Console": "1"}
	bearer := map[string]string{"Authorization": "Bearer " + token}
	for _, c := range []struct {
		name, path string
		hdr        map[string]string
		status     int
		want       string
	}{
		{"console: key values", "/console/api/apikeys?includeValues=true", console, 200, "no-store"},
		{"console: functions", "/console/api/2015-03-31/functions", console, 200, "no-store"},
		{"console: an error", "/console/api/2015-03-31/functions/none", console, 404, "no-store"},
		{"bearer: key values", "/apikeys?includeValues=true", bearer, 200, "no-store"},
		{"bearer: Portico's API", "/portico/v1/apis", bearer, 200, "no-store"},
		{"no token", "/apikeys", nil, 403, "no-store"},
		{"console page", "/console/", nil, 200, "no-cache"},
	} {
		status, h := get(c.path, c.hdr)
		if status != c.status || h.Get("Cache-Control") != c.want {
			t.Errorf("%s: %d, Cache-Control %q; want %d, %q", c.name, status, h.Get("Cache-Control"), c.status, c.want)
		}
		if c.want == "no-store" && !strings.Contains(h.Get("Content-Type"), "json") {
			t.Errorf("%s: Content-Type %q", c.name, h.Get("Content-Type"))
		}
	}
}
