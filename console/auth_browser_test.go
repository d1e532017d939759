package console_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// adminName is the name the browser tests reach the admin API by: Chromium's
// resolver rules map it to the loopback address the test server listens on.
// Unlike 127.0.0.1 or localhost it is not a potentially trustworthy origin, so
// over plain HTTP Chromium sends no Sec-Fetch-* headers to it, as to an admin
// API reached at a LAN address (http://192.0.2.2:9090).
const adminName = "admin.test"

// answer is what a test keeps of a response: the request's path, the status
// and the cookies set.
type answer struct {
	path    string
	status  int
	cookies []*http.Cookie
}

// signInForm posts the console's sign-in form as Chromium does from the
// sign-in page at origin and returns the answer (not followed).
func signInForm(t *testing.T, adminURL, origin, tok string) answer {
	t.Helper()
	req, err := http.NewRequest("POST", adminURL+"/console/login", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return answer{req.URL.Path, resp.StatusCode, resp.Cookies()}
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// sessionCookies returns the non-empty console session cookies a sets.
func sessionCookies(a answer) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range a.cookies {
		if c.Name == "portico_console" && c.Value != "" {
			out = append(out, c)
		}
	}
	return out
}

// TestConsoleSignInHeadersOffLoopback: the requests Chromium sends to an admin
// API reached over plain HTTP by a name or address that is not loopback carry
// no Sec-Fetch-Site, only Origin. The console's pages ask (Referrer-Policy) for
// their own origin to be sent on their same-origin requests, since with
// no-referrer Chromium sends "Origin: null", which cannot be told from another
// site's page (a sandboxed frame, a page that asks for no referrer) and is
// refused. A sign-in or sign-out from the console's own origin works; one
// from another origin or from "null" is refused before the token is looked at.
func TestConsoleSignInHeadersOffLoopback(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	resp, err := http.Get(env.AdminURL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("Referrer-Policy"); got != "same-origin" {
		t.Errorf("the sign-in page's Referrer-Policy is %q: want same-origin, under which Chromium sends the page's Origin on its form posts (no-referrer makes it null)", got)
	}
	origin := env.AdminURL // the Host the client sends is the URL's
	if a := signInForm(t, env.AdminURL, origin, token); a.status != 303 || len(sessionCookies(a)) != 1 {
		t.Fatalf("sign-in from the console's origin: %d, cookies %v", a.status, a.cookies)
	}
	for _, o := range []string{"null", "http://evil.example", "http://" + adminName + ":1"} {
		a := signInForm(t, env.AdminURL, o, token)
		if a.status != 403 || len(sessionCookies(a)) != 0 {
			t.Errorf("sign-in with Origin %s: %d, cookies %v: want 403 and no session", o, a.status, a.cookies)
		}
	}
}

// TestConsoleOffLoopbackInChromium: Chromium opens the console at a name that
// is not loopback over plain HTTP (no Sec-Fetch-Site; see adminName), signs in,
// makes a change through the console's API path, and signs out. The session
// cookie it held before signing out is refused afterwards: signing out ends
// the session on the server, not only in the browser. A page of another site
// that posts the sign-out form with no referrer (Origin: null) changes nothing.
func TestConsoleOffLoopbackInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	if st, body := call(t, env, "POST", "/2015-03-31/functions", map[string]any{"FunctionName": "hello", "PackageType": "Zip", "Timeout": 10,
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(apptest.ZipSample(t, "hello"))}}); st != 201 {
		t.Fatalf("create hello: %d %s", st, body)
	}
	_, adminPort, _ := net.SplitHostPort(strings.TrimPrefix(env.AdminURL, "http://"))
	admin := "http://" + adminName + ":" + adminPort
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprintf(w, `<!doctype html><meta name="referrer" content="no-referrer"><title>elsewhere</title>
<form id="f" method="post" action="%s/console/logout"></form>
<script>document.getElementById("f").submit();</script>`, admin)
	}))
	defer evil.Close()
	_, evilPort, _ := net.SplitHostPort(strings.TrimPrefix(evil.URL, "http://"))

	b := newBrowser(t, browser, chromedp.Flag("host-resolver-rules", "MAP "+adminName+" 127.0.0.1, MAP evil.test 127.0.0.1"))
	b.navigate(admin + "/console/#/functions")
	if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the function list after signing in", `document.body.dataset.page === "functions" && document.querySelector("#functions tr[data-function]") !== null`)
	if got := eval[string](b, `document.getElementById("function-count").textContent`); got != "1 function" {
		t.Errorf("the count of one function reads %q", got)
	}
	// A change through the console's API path, as console.js makes it.
	got := eval2[string](b, `fetch("/console/api/2015-03-31/functions/hello/invocations", {method: "POST", headers: {"X-Portico-Console": "1"}, body: "{}"})
		.then(r => r.text().then(t => r.status + " " + t))`)
	if !strings.HasPrefix(got, "200 ") {
		t.Fatalf("an invocation from the console: %s", got)
	}
	cookies, err := chromedp.Call(b.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{admin + "/console/api/"}})
	if err != nil {
		t.Fatal(err)
	}
	var held string
	for _, c := range cookies.Cookies {
		if c.Name == "portico_console" {
			held = c.Name + "=" + c.Value
		}
	}
	if held == "" {
		t.Fatalf("no session cookie after signing in: %v", cookies.Cookies)
	}
	const list = "/console/api/2015-03-31/functions"
	if st, body := call(t, env, "GET", list, nil, "Authorization", "", "Cookie", held, "X-Portico-Console", "1"); st != 200 {
		t.Fatalf("the session's cookie before signing out: %d %s", st, body)
	}

	// Another site's page posts the sign-out form with Origin: null.
	b.navigate("http://evil.test:" + evilPort + "/")
	b.poll("the other site's post answered", `location.href.includes("/console/")`)
	if got := eval[string](b, `document.body.innerText`); !strings.Contains(got, "another origin") {
		t.Errorf("another site's sign-out post was not refused: the page shows %.200q", got)
	}
	if st, body := call(t, env, "GET", list, nil, "Authorization", "", "Cookie", held, "X-Portico-Console", "1"); st != 200 {
		t.Fatalf("the session after another site's sign-out post: %d %s", st, body)
	}

	b.navigate(admin + "/console/#/functions")
	b.poll("the console", `document.body.dataset.page === "functions" && !document.getElementById("sign-out").hidden`)
	if err := chromedp.Do(b.tab, chromedp.Click(chromedp.CSS("#sign-out button"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the sign-in page after signing out", `document.getElementById("token") !== null`)
	if st, body := call(t, env, "GET", list, nil, "Authorization", "", "Cookie", held, "X-Portico-Console", "1"); st != 403 {
		t.Errorf("the cookie captured before signing out, replayed after: %d %s, want 403", st, body)
	}
	if st, _ := call(t, env, "GET", "/console/", nil, "Authorization", "", "Cookie", held); st != 401 {
		t.Errorf("a console page with the cookie captured before signing out: %d, want 401", st)
	}
}

// eval2 evaluates expr, a promise, on the page and returns what it resolves to.
func eval2[T any](b *browserTab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.tab, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// TestConsoleTossedCookie: a page of the gateway on the same host (cookies
// ignore ports) sets a cookie of the console's name on a narrower path
// (Path=/console/api/), which the browser then sends first with every console
// API call. The console keeps working, and signing in again works too. Over
// HTTP: the Cookie header Chromium sends then. In Chromium: the gateway's page
// (a function's, or here an HTTP backend's) sets it for real.
func TestConsoleTossedCookie(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	signedIn := signInForm(t, env.AdminURL, "", token)
	ck := sessionCookies(signedIn)
	if len(ck) != 1 {
		t.Fatalf("sign-in: %d, cookies %v", signedIn.status, signedIn.cookies)
	}
	valid := ck[0].Name + "=" + ck[0].Value
	const list = "/console/api/2015-03-31/functions"
	for _, cookie := range []string{
		"portico_console=junk; " + valid,
		"portico_console=1.2; portico_console=9999999999.00; " + valid + "; other=x",
		valid + "; portico_console=junk",
	} {
		if st, body := call(t, env, "GET", list, nil, "Authorization", "", "Cookie", cookie, "X-Portico-Console", "1"); st != 200 {
			t.Errorf("Cookie: %s: %d %s, want 200", cookie, st, body)
		}
	}
	if st, _ := call(t, env, "GET", list, nil, "Authorization", "", "Cookie", "portico_console=junk; portico_console=1.2", "X-Portico-Console", "1"); st != 403 {
		t.Errorf("junk cookies alone: %d, want 403", st)
	}
	// Signing in and out expire the console's name on every path the console
	// uses, besides setting or dropping its own.
	for _, a := range []answer{signInForm(t, env.AdminURL, "", token), func() answer {
		req, _ := http.NewRequest("POST", env.AdminURL+"/console/logout", nil)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return answer{req.URL.Path, resp.StatusCode, resp.Cookies()}
	}()} {
		expired := map[string]bool{}
		for _, c := range a.cookies {
			if c.Name == "portico_console" && c.MaxAge < 0 {
				expired[c.Path] = true
			}
		}
		for _, p := range []string{"/", "/console", "/console/api", "/console/api/"} {
			if !expired[p] {
				t.Errorf("%s: does not expire a console cookie on Path=%s: %v", a.path, p, a.cookies)
			}
		}
	}

	if testing.Short() {
		return
	}
	browser := apptest.Browser(t)
	tosser := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Add("Set-Cookie", "portico_console=junk; Path=/console/api/")
		w.Header().Add("Set-Cookie", "portico_console=junk2; Path=/console/api/2015-03-31/")
		_, _ = io.WriteString(w, "tenant page")
	}))
	defer tosser.Close()
	var api struct{ ID string }
	_, body := call(t, env, "POST", "/portico/v1/apis", map[string]any{"name": "toss", "protocol": "REST"})
	_ = json.Unmarshal(body, &api)
	if st, body := call(t, env, "POST", "/portico/v1/apis/"+api.ID+"/routes", map[string]any{"method": "GET", "path": "/t",
		"integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "GET", "uri": tosser.URL + "/t"}}); st != 201 {
		t.Fatalf("create route: %d %s", st, body)
	}
	if st, body := call(t, env, "POST", "/portico/v1/apis/"+api.ID+"/deployments", map[string]any{"stageName": "dev"}); st != 201 {
		t.Fatalf("deploy: %d %s", st, body)
	}
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/")
	if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the console after signing in", `document.body.dataset.page === "functions"`)
	b.navigate(env.GatewayURL + "/" + api.ID + "/dev/t")
	b.poll("the tenant's page", `document.body.innerText.includes("tenant page")`)
	cookies, err := chromedp.Call(b.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{env.AdminURL + "/console/api/2015-03-31/functions"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cookies.Cookies {
		if c.Name == "portico_console" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("the browser holds %d console cookies for the console's API path, want 3 (the session and two tossed): %v", n, cookies.Cookies)
	}
	for _, pg := range []string{"apis", "functions"} {
		b.navigate(env.AdminURL + "/console/#/" + pg)
		b.poll("page "+pg+" with the tossed cookies", fmt.Sprintf(`document.body.dataset.page === %q && !document.body.dataset.loading`, pg))
		if msg := eval[string](b, `document.getElementById("error").hidden ? "" : document.getElementById("error").textContent`); msg != "" {
			t.Errorf("page %s with the tossed cookies says: %s", pg, msg)
		}
	}
	// Signing in again drops the tossed cookie on the path the console uses.
	if _, err := chromedp.Call(b.tab, network.DeleteCookies, network.DeleteCookiesParams{Name: "portico_console", URL: env.AdminURL + "/console/", Path: "/console/"}); err != nil {
		t.Fatal(err)
	}
	b.navigate(env.AdminURL + "/console/?again#/apis") // a new document, not a move within the page
	if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the console's API list after signing in again", `document.body.dataset.page === "apis" && !document.body.dataset.loading`)
	if msg := eval[string](b, `document.getElementById("error").hidden ? "" : document.getElementById("error").textContent`); msg != "" {
		t.Errorf("after signing in again the console says: %s", msg)
	}
	cookies, err = chromedp.Call(b.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{env.AdminURL + "/console/api/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == "portico_console" && c.Path == "/console/api/" {
			t.Errorf("the tossed cookie on /console/api/ outlived signing in again: %+v", c)
		}
	}
}
