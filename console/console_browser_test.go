package console_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	shared.close()
	apptest.Cleanup()
	os.Exit(code)
}

const token = "console-test-token"

// artifacts is where the test saves its screenshots: $PORTICO_ARTIFACTS/console,
// else a directory under the system's temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PORTICO_ARTIFACTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "portico-artifacts")
	}
	dir := filepath.Join(base, "console")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	return dir
}

// call makes an admin API request with the token and returns the status and body.
func call(t *testing.T, env *apptest.Env, method, path string, body any, hdr ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, env.AdminURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if hdr != nil && hdr[0] == "Authorization" && hdr[1] == "" {
		req.Header.Del("Authorization")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// chromium returns the Chromium for a browser test to drive (apptest.Browser:
// the test is skipped without one, or fails under REQUIRE_BROWSER=1); in
// -short mode the test is skipped.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	return apptest.Browser(t)
}

// createEcho creates function echo, the hello sample, on env.
func createEcho(t *testing.T, env *apptest.Env) {
	t.Helper()
	if st, body := call(t, env, "POST", "/2015-03-31/functions", map[string]any{"FunctionName": "echo", "PackageType": "Zip",
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(apptest.ZipSample(t, "hello"))}}); st != 201 {
		t.Fatalf("create echo: %d %s", st, body)
	}
}

// browserTab is a headless Chromium tab for a test, closed when the test ends.
type browserTab struct {
	t     *testing.T
	tab   context.Context
	shots string
}

// shared is the package's Chromium: tests open their tabs in it, each test in
// a browser context of its own (as an incognito window: cookies, storage and
// cache are the test's alone), so that a test does not pay for starting a
// browser. A test that needs flags of its own (host-resolver-rules) starts a
// browser of its own.
var shared sharedBrowser

type sharedBrowser struct {
	mu     sync.Mutex
	ctx    context.Context // the browser's first tab; nil until started
	cancel func()
	dir    string // its user data directory
}

// browser returns the shared browser's context, starting Chromium (at path)
// if it is not running (not yet, or no longer: a crash).
func (s *sharedBrowser) browser(t *testing.T, path string) context.Context {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx != nil && s.ctx.Err() == nil {
		return s.ctx
	}
	s.closeLocked()
	dir, err := os.MkdirTemp("", "portico-console-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.UserDataDir(dir))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	s.ctx, s.dir = ctx, dir
	s.cancel = func() { cancelCtx(); cancelAlloc() }
	// The first run starts the browser, which lives as long as that run's
	// context: ctx, not a context with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		s.closeLocked()
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

func (s *sharedBrowser) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
}

func (s *sharedBrowser) closeLocked() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
	s.ctx, s.cancel, s.dir = nil, nil, ""
}

// newBrowser opens a tab for t, in a browser context of its own, in the
// package's Chromium (at path); with extra flags, in a Chromium of its own. The
// tab lives until the test ends.
func newBrowser(t *testing.T, path string, flags ...chromedp.ExecAllocatorOption) *browserTab {
	t.Helper()
	var tab context.Context
	var cancelTab context.CancelFunc
	if len(flags) == 0 {
		tab, cancelTab = chromedp.NewContext(shared.browser(t, path), chromedp.WithNewBrowserContext())
	} else {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()))
		opts = append(opts, flags...)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		t.Cleanup(cancelAlloc)
		tab, cancelTab = chromedp.NewContext(alloc)
	}
	t.Cleanup(cancelTab)
	tab, cancel := context.WithTimeout(tab, 3*time.Minute) // a guard against hanging, not a timing assertion
	t.Cleanup(cancel)
	return &browserTab{t: t, tab: tab, shots: artifacts(t)}
}

func (b *browserTab) navigate(u string) {
	b.t.Helper()
	var err error
	for range 3 { // a fresh Chromium may see its network change under the first load
		if err = chromedp.Do(b.tab, chromedp.Navigate(u)); err == nil || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
			break
		}
	}
	if err != nil {
		b.t.Fatalf("navigate %s: %v", u, err)
	}
}

func (b *browserTab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.tab, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o600); err != nil {
		b.t.Fatal(err)
	}
}

// poll waits until the JavaScript expression expr is true on the page.
func (b *browserTab) poll(what, expr string) {
	b.t.Helper()
	var err error
	for range 3 { // a poll that a navigation (the sign-in form's) interrupts starts again on the new page
		if _, err = chromedp.Run(b.tab, chromedp.Poll[bool](expr)); err == nil || (!strings.Contains(err.Error(), "navigated or closed") && !strings.Contains(err.Error(), "Cannot find context")) {
			break
		}
	}
	if err != nil {
		page, _ := chromedp.Run(b.tab, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("%s: %v; the page shows:\n%s", what, err, page)
	}
}

// eval evaluates the JavaScript expression expr on the page.
func eval[T any](b *browserTab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.tab, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// TestConsoleAuth: without the token, console pages answer 401 with the
// sign-in page; the session cookie authenticates pages, and API calls only
// when they carry X-Portico-Console (another origin's page cannot send it).
func TestConsoleAuth(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	if st, body := call(t, env, "GET", "/console/", nil, "Authorization", ""); st != 401 || !strings.Contains(string(body), `action="/console/login"`) {
		t.Fatalf("GET /console/ without the token: %d %.80s", st, body)
	}
	if st, _ := call(t, env, "GET", "/console/console.js", nil); st != 200 {
		t.Fatalf("GET /console/console.js with the token: %d", st)
	}
	if st, body := call(t, env, "GET", "/console/console.js", nil, "Authorization", ""); st != 401 || strings.Contains(string(body), "function") {
		t.Fatalf("GET /console/console.js without the token: %d %.80s", st, body)
	}
	// Console pages may not be framed (clickjacking) nor sniffed.
	resp, err := http.Get(env.AdminURL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("the sign-in page's %s: %q, want %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("the sign-in page's Content-Security-Policy: %q", csp)
	}
	// The sign-in page's stylesheet loads before sign-in.
	if st, body := call(t, env, "GET", "/console/console.css", nil, "Authorization", ""); st != 200 || !strings.Contains(string(body), "body {") {
		t.Fatalf("GET /console/console.css without the token: %d %.80s", st, body)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// login posts the sign-in form and returns the status and the cookies set.
	login := func(tok string) (int, []*http.Cookie) {
		resp, err := noRedirect.PostForm(env.AdminURL+"/console/login", map[string][]string{"token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Cookies()
	}
	if st, cookies := login("wrong"); st != 401 || len(cookies) != 0 {
		t.Fatalf("sign-in with a wrong token: %d, cookies %v", st, cookies)
	}
	st, cookies := login(token)
	var ck *http.Cookie
	for _, c := range cookies {
		if c.Value != "" {
			ck = c
		}
	}
	if st != 303 || ck == nil {
		t.Fatalf("sign-in: %d, cookies %v", st, cookies)
	}
	// The cookie is scoped to the console's path: cookies ignore ports, so one
	// for the whole host would go with every request to the gateway there.
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || strings.Contains(ck.Value, token) || ck.Path != "/console/" {
		t.Errorf("session cookie %+v", ck)
	}
	cookie := ck.Name + "=" + ck.Value
	if st, _ := call(t, env, "GET", "/console/", nil, "Authorization", "", "Cookie", cookie); st != 200 {
		t.Errorf("a page with the session cookie: %d", st)
	}
	const viaConsole = "/console/api/2015-03-31/functions"
	if st, _ := call(t, env, "GET", viaConsole, nil, "Authorization", "", "Cookie", cookie); st != 403 {
		t.Errorf("an API call with the cookie but without X-Portico-Console: %d, want 403", st)
	}
	if st, body := call(t, env, "GET", viaConsole, nil, "Authorization", "", "Cookie", cookie, "X-Portico-Console", "1"); st != 200 || !strings.Contains(string(body), `"Functions"`) {
		t.Errorf("the console's API call: %d %s, want 200", st, body)
	}
	if st, _ := call(t, env, "GET", "/2015-03-31/functions", nil, "Authorization", "", "Cookie", cookie, "X-Portico-Console", "1"); st != 403 {
		t.Errorf("the cookie outside the console's path: %d, want 403", st)
	}
	if st, _ := call(t, env, "GET", viaConsole, nil, "Authorization", "", "Cookie", ck.Name+"=forged", "X-Portico-Console", "1"); st != 403 {
		t.Errorf("a forged cookie: %d, want 403", st)
	}
	// The session ends by itself (the cookie says when), and signing out drops it.
	if ck.Expires.IsZero() {
		t.Errorf("session cookie without an expiry: %+v", ck)
	}
	req, _ := http.NewRequest("POST", env.AdminURL+"/console/logout", nil)
	req.Header.Set("Cookie", cookie)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	dropped := false
	for _, c := range resp.Cookies() {
		dropped = dropped || (c.Name == ck.Name && c.Path == "/console/" && c.MaxAge < 0)
	}
	if resp.StatusCode != 303 || !dropped {
		t.Errorf("sign-out: %d, cookies %v: want 303 dropping the session cookie", resp.StatusCode, resp.Cookies())
	}
}

// TestConsoleInChromium drives the console in headless Chromium: sign in with
// the token; the function list shows what the API lists; invoking from the
// page shows the result, and a bad payload shows the API's error; the live
// chart takes in requests made meanwhile; rolling a stage back from the page
// changes what the stage serves. No page logs an error or throws. Screenshots
// of each page are saved (artifacts).
func TestConsoleInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	for _, fn := range []string{"hello", "hello-two"} {
		if st, body := call(t, env, "POST", "/2015-03-31/functions", map[string]any{"FunctionName": fn, "PackageType": "Zip", "Timeout": 10,
			"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(apptest.ZipSample(t, "hello"))}}); st != 201 {
			t.Fatalf("create %s: %d %s", fn, st, body)
		}
	}
	// An API whose stage has two deployments: v1, then v2.
	var api struct{ ID string }
	st, body := call(t, env, "POST", "/portico/v1/apis", map[string]any{"name": `"versions" api`, "protocol": "REST"})
	if st != 201 && st != 200 {
		t.Fatalf("create api: %d %s", st, body)
	}
	_ = json.Unmarshal(body, &api)
	mock := func(v string) map[string]any {
		return map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
			"responses": map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"application/json": `{"v":"` + v + `"}`}}}}
	}
	var route struct{ ID string }
	_, body = call(t, env, "POST", "/portico/v1/apis/"+api.ID+"/routes", map[string]any{"method": "GET", "path": "/v", "integration": mock("1")})
	_ = json.Unmarshal(body, &route)
	var dep1 struct{ Deployment struct{ ID string } }
	_, body = call(t, env, "POST", "/portico/v1/apis/"+api.ID+"/deployments", map[string]any{"stageName": "dev"})
	_ = json.Unmarshal(body, &dep1)
	if st, body := call(t, env, "PUT", "/portico/v1/apis/"+api.ID+"/routes/"+route.ID+"/integration", mock("2")); st != 200 {
		t.Fatalf("update integration: %d %s", st, body)
	}
	call(t, env, "POST", "/portico/v1/apis/"+api.ID+"/deployments", map[string]any{"stageName": "dev"})
	stageURL := env.GatewayURL + "/" + api.ID + "/dev/v"
	serves := func() string {
		resp, err := http.Get(stageURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := serves(); got != `{"v":"2"}` || dep1.Deployment.ID == "" {
		t.Fatalf("stage serves %s before the rollback (first deployment %q)", got, dep1.Deployment.ID)
	}

	b := newBrowser(t, browser)
	navigate, shot, poll, tab := b.navigate, b.shot, b.poll, b.tab

	// Sign in: the 401 page's form.
	navigate(env.AdminURL + "/console/")
	if err := chromedp.Do(tab, chromedp.SetValue(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in"))); err != nil {
		t.Fatal(err)
	}
	poll("the function list after signing in", `document.querySelectorAll("#functions tr[data-function]").length === 2`)

	// From here on, the pages must log no errors.
	var mu sync.Mutex
	var problems []string
	expectErrors := false
	cctx, stopConsole := context.WithCancel(tab)
	messages := chromedp.Console(cctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			if (m.IsException() || m.Type == chromedp.ConsoleError) && (!expectErrors || m.Source != "network") {
				problems = append(problems, m.String())
			}
			mu.Unlock()
		}
	}()
	defer stopConsole()
	navigate(env.AdminURL + "/console/#/functions")
	poll("the function list", `document.querySelectorAll("#functions tr[data-function]").length === 2`)
	shown, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#functions tr[data-function]")].map(r => r.dataset.function)`))
	if err != nil {
		t.Fatal(err)
	}
	var listed struct {
		Functions []struct{ FunctionName string }
	}
	_, body = call(t, env, "GET", "/2015-03-31/functions", nil)
	_ = json.Unmarshal(body, &listed)
	var names []string
	for _, f := range listed.Functions {
		names = append(names, f.FunctionName)
	}
	if fmt.Sprint(shown) != fmt.Sprint(names) {
		t.Errorf("the page lists %v, the API %v", shown, names)
	}
	shot("functions")

	// Invoke from the page.
	navigate(env.AdminURL + "/console/#/functions/hello")
	poll("the function page", `document.getElementById("invoke") !== null`)
	if err := chromedp.Do(tab, chromedp.SetValue(chromedp.ID("payload"), `{"path": "/from-console"}`), chromedp.Click(chromedp.ID("invoke"))); err != nil {
		t.Fatal(err)
	}
	poll("the invocation's result", `document.getElementById("invoke-result").dataset.status === "ok"`)
	result, _ := chromedp.Run(tab, chromedp.Text(chromedp.ID("invoke-result")))
	if !strings.Contains(result, "hello from portico") || !strings.Contains(result, `\"path\":\"/from-console\"`) {
		t.Errorf("the page shows the result %q", result)
	}
	poll("the live log tail", `document.getElementById("logs").textContent.includes("REPORT RequestId")`)
	shot("function-invoke")

	// A bad value: the API's error on the page.
	mu.Lock()
	expectErrors = true
	mu.Unlock()
	if err := chromedp.Do(tab, chromedp.SetValue(chromedp.ID("payload"), `{not json`), chromedp.Click(chromedp.ID("invoke"))); err != nil {
		t.Fatal(err)
	}
	poll("the API's error", `!document.getElementById("error").hidden && document.getElementById("error").textContent.includes("400")`)
	shot("function-invoke-error")
	mu.Lock()
	expectErrors = false
	mu.Unlock()

	// The live chart takes in requests.
	navigate(env.AdminURL + "/console/#/metrics")
	poll("the chart's first sample", `Number(document.getElementById("requests-chart").dataset.samples) >= 1`)
	before, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("requests-chart").dataset.total`))
	for range 5 {
		serves()
	}
	poll("the chart taking in 5 requests", fmt.Sprintf(`Number(document.getElementById("requests-chart").dataset.total) >= %s + 5 && document.querySelector("#stage-metrics tr[data-stage]") !== null`, before))
	if got := eval[string](b, `document.querySelector("#stage-metrics tr[data-stage] td").textContent`); !strings.HasPrefix(got, `"versions" api `) {
		t.Errorf("the metrics page names the stage %q, want the API's name as it is", got)
	}
	shot("metrics")

	// Roll the stage back from the page.
	navigate(env.AdminURL + "/console/#/apis/" + api.ID)
	sel := fmt.Sprintf(`section[data-stage="dev"] button.rollback[data-deployment=%q]`, dep1.Deployment.ID)
	poll("the stage's history", `document.querySelector(`+"`"+sel+"`"+`) !== null`)
	// The page asks before it rolls back: yes.
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatal(err)
	}
	poll("the stage pointing at the first deployment", fmt.Sprintf(`(document.querySelector('section[data-stage="dev"] td.deployment') || {}).textContent === %q`, dep1.Deployment.ID))
	shot("api-rolled-back")
	if got := serves(); got != `{"v":"1"}` {
		t.Errorf("after the rollback from the page the stage serves %s, want v1", got)
	}
	// The other pages load.
	for _, pg := range []struct{ hash, ready string }{
		{"#/keys", `document.getElementById("keys") !== null`},
		{"#/connections", `document.body.dataset.page === "connections"`},
		{"#/apis", `document.querySelector('#apis tr[data-api]') !== null`},
	} {
		navigate(env.AdminURL + "/console/" + pg.hash)
		poll("page "+pg.hash, pg.ready)
		shot(strings.TrimPrefix(pg.hash, "#/"))
	}
	stopConsole()
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(problems, "\n"))
	}
	t.Logf("screenshots in %s", b.shots)
}

// TestCrossOriginPageInChromium: a page of another site, open in the browser of
// someone running Portico with the default tokenless loopback admin API, makes
// the browser POST to the admin API with a simple content type (no CORS
// preflight): creating a function whose bootstrap would run on the host, and
// invoking it. Nothing is created and nothing runs. A page that rebinds its own
// name to the admin API's address (DNS rebinding; here Chromium's resolver
// rules) is refused as well.
func TestCrossOriginPageInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	marker := filepath.Join(t.TempDir(), "ran")
	pkg := zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\ntouch " + marker + "\nsleep 30\n"})
	create, _ := json.Marshal(map[string]any{"FunctionName": "csrf", "PackageType": "Zip",
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(pkg)}})
	page := `<!doctype html><title>a page elsewhere</title><script>
const admin = ` + strconvQuote(env.AdminURL) + `;
const post = (path, body) => fetch(admin + path, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body});
post("/2015-03-31/functions", ` + strconvQuote(string(create)) + `)
  .then(() => post("/2015-03-31/functions/csrf/invocations", "{}"))
  .then(() => post("/portico/v1/apis", JSON.stringify({name: "csrf", protocol: "REST"})))
  .then(() => { document.title = "sent"; }, e => { document.title = "sent: " + e; });
</script>`
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, page)
	}))
	defer evil.Close()
	_, evilPort, _ := net.SplitHostPort(strings.TrimPrefix(evil.URL, "http://"))
	_, adminPort, _ := net.SplitHostPort(strings.TrimPrefix(env.AdminURL, "http://"))
	b := newBrowser(t, browser, chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1, MAP rebound.example 127.0.0.1"))
	for _, origin := range []string{"http://evil.example:" + evilPort, evil.URL} { // another site; the same host on another port
		b.navigate(origin + "/")
		b.poll("the page's requests", `document.title.startsWith("sent")`)
	}
	if st, body := call(t, env, "GET", "/2015-03-31/functions", nil); st != 200 || strings.Contains(string(body), "csrf") {
		t.Errorf("after the pages' requests the admin API lists functions %d %s", st, body)
	}
	if st, body := call(t, env, "GET", "/portico/v1/apis", nil); st != 200 || strings.Contains(string(body), "csrf") {
		t.Errorf("after the pages' requests the admin API lists APIs %d %s", st, body)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the page's function ran on the host")
	}
	// DNS rebinding: a page at rebound.example, now resolving to the admin
	// API's address, reads what it serves as its own origin's.
	b.navigate("http://rebound.example:" + adminPort + "/2015-03-31/functions")
	if got := eval[string](b, `document.body.innerText`); !strings.Contains(got, "answers only requests addressed to localhost") || strings.Contains(got, `"Functions"`) {
		t.Errorf("a rebound name reads the admin API: %s", got)
	}
}

// zipOf returns a Zip package holding files (executable).
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestConsoleListsAndProgressInChromium: lists longer than one page of the
// admin API (functions, a function's versions, API keys) are shown whole, and
// the function list filters; dates read as dates; an invocation in progress
// says so and cannot be sent twice; when the session no longer holds (the
// cookie is gone, or the token changed), the console says to sign in again and
// links to the sign-in page, rather than repeating the API's advice for the
// CLI. No page throws.
func TestConsoleListsAndProgressInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	pkg := base64.StdEncoding.EncodeToString(zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\nexit 1\n"}))
	create := func(name, zipB64 string, timeout int) {
		t.Helper()
		if st, body := call(t, env, "POST", "/2015-03-31/functions", map[string]any{"FunctionName": name, "PackageType": "Zip",
			"Timeout": timeout, "Code": map[string]any{"ZipFile": zipB64}}); st != 201 {
			t.Fatalf("create %s: %d %s", name, st, body)
		}
	}
	const functions, versions, keys = 60, 55, 30 // past the API's pages: 50 functions or versions, 25 keys
	for i := range functions {
		create(fmt.Sprintf("fn-%02d", i), pkg, 3)
	}
	create("slow", base64.StdEncoding.EncodeToString(apptest.ZipProgram(t, "./console/testdata/waitfn")), 120)
	for i := range versions {
		if st, body := call(t, env, "PUT", "/2015-03-31/functions/slow/configuration",
			map[string]any{"Environment": map[string]any{"Variables": map[string]string{"RUN": fmt.Sprint(i)}}}); st != 200 {
			t.Fatalf("update slow: %d %s", st, body)
		}
		if st, body := call(t, env, "POST", "/2015-03-31/functions/slow/versions", map[string]any{}); st != 201 {
			t.Fatalf("publish slow: %d %s", st, body)
		}
	}
	for i := range keys {
		if st, body := call(t, env, "POST", "/apikeys", map[string]any{"name": fmt.Sprintf("key-%02d", i), "enabled": true}); st != 201 {
			t.Fatalf("create key: %d %s", st, body)
		}
	}

	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/")
	if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in"))); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var problems []string
	cctx, stopConsole := context.WithCancel(b.tab)
	defer stopConsole()
	go func() {
		for m, err := range chromedp.Console(cctx) {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()

	b.poll("every function listed", fmt.Sprintf(`document.querySelectorAll("#functions tr[data-function]").length === %d`, functions+1))
	if err := chromedp.Do(b.tab, chromedp.SendKeys(chromedp.ID("function-filter"), "fn-05")); err != nil {
		t.Fatal(err)
	}
	b.poll("the filtered list", `[...document.querySelectorAll("#functions tr[data-function]")].filter(r => !r.hidden).map(r => r.dataset.function).join() === "fn-05"`)
	if got := eval[string](b, `document.getElementById("function-count").textContent`); got != fmt.Sprintf("1 of %d functions", functions+1) {
		t.Errorf("the filter's count reads %q", got)
	}
	b.shot("functions-filtered")

	b.navigate(env.AdminURL + "/console/#/functions/slow")
	b.poll("every version listed", fmt.Sprintf(`document.querySelectorAll("#versions tr[data-version]").length === %d`, versions+1))
	if got := eval[int](b, `document.querySelectorAll("#qualifier option").length`); got != versions+1 {
		t.Errorf("the qualifier offers %d choices, want $LATEST and %d versions", got, versions)
	}

	// The invoke form and the log come before the long list of versions.
	if !eval[bool](b, `!!(document.getElementById("invoke").compareDocumentPosition(document.getElementById("versions")) & Node.DOCUMENT_POSITION_FOLLOWING) &&
		!!(document.getElementById("logs").compareDocumentPosition(document.getElementById("versions")) & Node.DOCUMENT_POSITION_FOLLOWING)`) {
		t.Errorf("the versions come before the invoke form or the log")
	}
	// An invocation in progress: it answers once the test says so.
	until := filepath.Join(t.TempDir(), "answer")
	payload, _ := json.Marshal(map[string]string{"until": until})
	if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.ID("payload"), string(payload)), chromedp.Click(chromedp.ID("invoke"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the invocation in progress", `document.getElementById("invoke-result").dataset.status === "running" && document.getElementById("invoke").getAttribute("aria-disabled") === "true" && document.getElementById("invoke-result").textContent.startsWith("Invoking slow")`)
	b.shot("function-invoking")
	if err := os.WriteFile(until, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b.poll("the invocation's result", `document.getElementById("invoke-result").dataset.status === "ok" && !document.getElementById("invoke").hasAttribute("aria-disabled")`)
	if got := eval[string](b, `document.getElementById("invoke-result").textContent`); got != `"done"` {
		t.Errorf("the result reads %q", got)
	}
	// The focus stayed on the button through the call (a disabled button
	// would have dropped it to the document's start).
	if got := eval[string](b, `document.activeElement.id || document.activeElement.tagName`); got != "invoke" {
		t.Errorf("after the invocation the focus is on %q, want the Invoke button", got)
	}

	b.navigate(env.AdminURL + "/console/#/keys")
	b.poll("every key listed", fmt.Sprintf(`document.querySelectorAll("#keys tr[data-key]").length === %d`, keys))
	if got := eval[string](b, `document.querySelector("#keys td.created").textContent`); !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$`).MatchString(got) {
		t.Errorf("a key's creation date reads %q", got)
	}
	b.shot("keys")

	// The session ends (here: its cookie is gone); the next action says so.
	b.navigate(env.AdminURL + "/console/#/functions/fn-00")
	b.poll("the function page", `document.getElementById("invoke") !== null`)
	if _, err := chromedp.Call(b.tab, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	// The live log finds it first: "Sign out" goes, there being no session.
	b.poll("the live log signed out", `document.getElementById("logs").dataset.status === "signed-out"`)
	if !eval[bool](b, `document.getElementById("sign-out").hidden`) {
		t.Errorf("the session has ended, and the console still offers Sign out")
	}
	if err := chromedp.Do(b.tab, chromedp.Click(chromedp.ID("invoke"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the signed-out notice", `document.getElementById("error").dataset.kind === "signed-out" && !document.getElementById("error").hidden && document.getElementById("sign-in-again") !== null`)
	b.shot("signed-out")
	if err := chromedp.Do(b.tab, chromedp.Click(chromedp.ID("sign-in-again"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the sign-in page", `document.getElementById("token") !== null`)

	stopConsole()
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(problems, "\n"))
	}
}

// TestConsoleNavigationInChromium: a page that is still loading when the user
// moves on (here: a function page whose aliases the browser holds back) does
// not replace the page the user moved to when it finishes, nor start its log
// tail there.
func TestConsoleNavigationInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	if st, body := call(t, env, "POST", "/2015-03-31/functions", map[string]any{"FunctionName": "held", "PackageType": "Zip",
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\nexit 1\n"}))}}); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/apis")
	b.poll("the API list", `document.body.dataset.page === "apis"`)
	// Record each response body the page has read, before the code that awaited it goes on.
	eval[bool](b, `(() => { const text = Response.prototype.text;
		Response.prototype.text = function () { return text.call(this).then(t => { (window.readURLs = window.readURLs || []).push(this.url); return t; }); };
		return true; })()`)
	paused := chromedp.Events(b.tab, fetch.RequestPaused)
	if _, err := chromedp.Call(b.tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/functions/held/aliases*"}}}); err != nil {
		t.Fatal(err)
	}
	eval[string](b, `location.hash = "#/functions/held"`)
	var held fetch.RequestID
	for ev, err := range paused {
		if err != nil {
			t.Fatal(err)
		}
		held = ev.RequestID
		break
	}
	eval[string](b, `location.hash = "#/connections"`)
	b.poll("the connections page", `document.body.dataset.page === "connections"`)
	if _, err := chromedp.Call(b.tab, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: held}); err != nil {
		t.Fatal(err)
	}
	b.poll("the held response read", `(window.readURLs || []).some(u => u.includes("/functions/held/aliases"))`)
	if got := eval[string](b, `document.body.dataset.page + " " + (document.getElementById("function-name") ? "function page shown" : "") + (document.getElementById("logs") ? " logs" : "")`); got != "connections " {
		t.Errorf("after the held function page finished loading, the page is %q, want the connections page", got)
	}
	b.shot("navigation")
}

// TestConsoleCookieStaysOnConsoleInChromium: after signing in to the console,
// a page of the gateway on the same host (another port: cookies ignore ports)
// does not get the console's session cookie, which its function or HTTP
// backend could replay against the admin API; the console keeps working.
func TestConsoleCookieStaysOnConsoleInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	var mu sync.Mutex
	var seen []string // the Cookie headers the backend got
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Cookie"))
		mu.Unlock()
		_, _ = io.WriteString(w, "backend page")
	}))
	defer backend.Close()
	var api struct{ ID string }
	_, body := call(t, env, "POST", "/portico/v1/apis", map[string]any{"name": "site", "protocol": "REST"})
	_ = json.Unmarshal(body, &api)
	if st, body := call(t, env, "POST", "/portico/v1/apis/"+api.ID+"/routes", map[string]any{"method": "GET", "path": "/page",
		"integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "GET", "uri": backend.URL + "/page"}}); st != 201 {
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
	b.navigate(env.GatewayURL + "/" + api.ID + "/dev/page")
	b.poll("the gateway's page", `document.body.innerText.includes("backend page")`)
	mu.Lock()
	got := fmt.Sprint(seen)
	mu.Unlock()
	if len(seen) == 0 || strings.Contains(got, "portico_console") {
		t.Errorf("the backend behind the gateway got the cookies %q", got)
	}
	b.navigate(env.AdminURL + "/console/#/apis")
	b.poll("the console's API list", `document.querySelector('#apis tr[data-api]') !== null`)
}
