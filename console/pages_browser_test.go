package console_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleUsagePagedInChromium: the keys page shows every key of a usage
// plan with more keys than one page of GetUsage (500) holds: it follows
// position, as it does for the lists.
func TestConsoleUsagePagedInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	var plan struct{ ID string }
	_, body := call(t, env, "POST", "/usageplans", map[string]any{"name": "bulk"})
	if err := json.Unmarshal(body, &plan); err != nil || plan.ID == "" {
		t.Fatalf("create the plan: %s", body)
	}
	const n = 503
	for i := range n {
		var key struct{ ID string }
		_, body := call(t, env, "POST", "/apikeys", map[string]any{"name": fmt.Sprintf("bulk-%03d", i), "enabled": true})
		if err := json.Unmarshal(body, &key); err != nil || key.ID == "" {
			t.Fatalf("create key %d: %s", i, body)
		}
		if st, body := call(t, env, "POST", "/usageplans/"+plan.ID+"/keys", map[string]any{"keyId": key.ID, "keyType": "API_KEY"}); st != 201 {
			t.Fatalf("add key %d to the plan: %d %s", i, st, body)
		}
	}
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/keys")
	b.poll("the keys page", `document.body.dataset.page === "keys" && document.querySelectorAll("#keys tr[data-key]").length === `+fmt.Sprint(n))
	if got := eval[int](b, `document.querySelectorAll("section table tbody tr").length`); got != n {
		t.Errorf("the plan's usage table has %d rows, want %d (one per key of the plan)", got, n)
	}
}

// TestConsoleLiveLogSessionEndsInChromium: when the session ends under an open
// function page (here the server restarts, which ends every session), the
// live log says so, without the CLI's token advice, the page shows the
// signed-out notice and its link, and the log goes on once signed in again
// (in this tab or another).
func TestConsoleLiveLogSessionEndsInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	createEcho(t, env)
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions/echo")
	thrown := exceptions(t, b)
	if err := chromedp.Do(b.tab, chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the live log", `document.body.dataset.page === "functions/echo" && document.getElementById("logs").dataset.status === "live"`)
	env.Stop()
	env.Restart()
	b.poll("the signed-out notice", `document.getElementById("error").dataset.kind === "signed-out" && !document.getElementById("error").hidden &&
		document.getElementById("sign-in-again") !== null && document.getElementById("logs").dataset.status === "signed-out"`)
	b.shot("live-log-signed-out")
	if got := eval[string](b, `document.getElementById("logs").textContent`); strings.Contains(got, "Bearer") || !strings.Contains(got, "session has ended") {
		t.Errorf("the live log reads %q: want the session's end, not the CLI's advice", got)
	}
	// Signed in again in another tab: the same browser's cookie.
	eval[bool](b, `(() => { fetch("/console/login", { method: "POST", body: new URLSearchParams({ token: "`+token+`" }) }); return true; })()`)
	b.poll("the live log going on", `document.getElementById("logs").dataset.status === "live" &&
		document.getElementById("logs").textContent.includes("Signed in again") && document.getElementById("error").hidden`)
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}

// TestConsoleInvokeGoneInChromium: Invoke on a function deleted since the page
// loaded shows the error and reloads the page, which then offers no Invoke.
func TestConsoleInvokeGoneInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions/echo")
	b.poll("the function page", `document.body.dataset.page === "functions/echo" && document.getElementById("invoke") !== null`)
	if st, body := call(t, env, "DELETE", "/2015-03-31/functions/echo", nil); st != 204 {
		t.Fatalf("delete echo: %d %s", st, body)
	}
	if err := chromedp.Do(b.tab, chromedp.Click(chromedp.ID("invoke"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the error, and the page reloaded", `!document.getElementById("error").hidden &&
		document.getElementById("error").textContent.includes("404") && !document.body.dataset.loading &&
		document.getElementById("invoke") === null`)
}

// TestConsoleDotAndQualifiedLinksInChromium: a console link whose function or
// API is "." or "..", a qualified function name, or a name JavaScript's
// objects inherit ("#/constructor"), names no page: "No such page", and no
// call to another route than the one it names. An ARN works.
func TestConsoleDotAndQualifiedLinksInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions")
	b.poll("the functions", `document.body.dataset.page === "functions"`)
	for _, h := range []string{"#/functions/..", "#/functions/.", "#/functions/%2e%2e", "#/apis/..", "#/apis/.", "#/functions/echo:1",
		"#/functions/arn:aws:lambda:us-east-1:000000000000:function:echo:1",
		// Names of Object's properties are no pages either.
		"#/constructor", "#/toString", "#/__proto__", "#/hasOwnProperty/x"} {
		eval[string](b, `location.hash = "`+h+`"`)
		b.poll("No such page for "+h, `document.getElementById("not-found") !== null && !document.body.dataset.loading`)
		if !eval[bool](b, `document.getElementById("error").hidden`) {
			t.Errorf("%s: the page shows the error %q", h, eval[string](b, `document.getElementById("error").textContent`))
		}
		eval[string](b, `location.hash = "#/functions"`)
		b.poll("the functions", `document.body.dataset.page === "functions"`)
	}
	eval[string](b, `location.hash = "#/functions/arn:aws:lambda:us-east-1:000000000000:function:echo"`)
	b.poll("the function page by its ARN", `document.getElementById("invoke") !== null`)
}

// TestConsoleCookieSecureBehindProxy: the session cookie is Secure when the
// browser signed in over TLS to a proxy the server trusts (--trusted-proxies,
// X-Forwarded-Proto: https); a peer that is no trusted proxy cannot make it
// so, nor is it over plain HTTP.
func TestConsoleCookieSecureBehindProxy(t *testing.T) {
	signIn := func(t *testing.T, env *apptest.Env, path, proto string) []*http.Cookie {
		t.Helper()
		req, err := http.NewRequest("POST", env.AdminURL+path, strings.NewReader("token="+token))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
		return resp.Cookies()
	}
	check := func(t *testing.T, env *apptest.Env, proto string, want bool) {
		t.Helper()
		for _, path := range []string{"/console/login", "/console/logout"} {
			cookies := signIn(t, env, path, proto)
			if len(cookies) == 0 {
				t.Fatalf("POST %s sets no cookie", path)
			}
			for _, c := range cookies {
				if c.Secure != want {
					t.Errorf("POST %s with X-Forwarded-Proto %q: cookie %s on %s Secure=%v, want %v", path, proto, c.Name, c.Path, c.Secure, want)
				}
			}
		}
	}
	t.Run("trusted", func(t *testing.T) {
		env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token; s.TrustedProxies = "127.0.0.1" }})
		check(t, env, "https", true)
		check(t, env, "http, https", true)
		check(t, env, "https, http", false)
		check(t, env, "", false)
	})
	t.Run("untrusted", func(t *testing.T) {
		env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token; s.TrustedProxies = "192.0.2.0/24" }})
		check(t, env, "https", false)
	})
}

// TestAdminAnswersNotFramed: every answer of the admin listener, its
// refusals of another site's frame included, forbids framing.
func TestAdminAnswersNotFramed(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
	}{
		{"the console in another site's frame", "/console/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}},
		{"an API route in another site's frame", "/2015-03-31/functions", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}},
		{"an API route without the token", "/2015-03-31/functions", nil},
		{"an API route", "/2015-03-31/functions", map[string]string{"Authorization": "Bearer " + token}},
		{"no route", "/nothing", map[string]string{"Authorization": "Bearer " + token}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", env.AdminURL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("GET %s (%d): X-Frame-Options %q, want DENY", tc.path, resp.StatusCode, got)
			}
			if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
				t.Errorf("GET %s (%d): Content-Security-Policy %q, want frame-ancestors 'none'", tc.path, resp.StatusCode, got)
			}
		})
	}
}
