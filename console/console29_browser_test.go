package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// mustDo makes an admin API call that must answer status, decoding the
// answer into out (nil: none).
func mustDo(t *testing.T, env *apptest.Env, status int, method, path string, body, out any) {
	t.Helper()
	st, b := call(t, env, method, path, body)
	if st != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, st, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// TestConsoleShowsWhatServerSaysInChromium (r-console29): a function error is
// shown indented with the function's numbers and keys as it wrote them (a big
// integer, 1.0, a repeated key); each stage shows its URL as `portico stage
// list` prints it (a WebSocket stage's ws:// URL and its @connections URL);
// a plan with a quota shows each key's requests of the quota's period and
// what is left, a key with none left saying it is refused; the metrics page
// says since when it counts and that nothing was invoked; an environment
// value's newline shows as one; the APIs are listed in natural order with a
// filter; an API deleted under its page says so in words.
func TestConsoleShowsWhatServerSaysInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	wsID, _ := echoConnection(t, env) // creates echo too
	mustDo(t, env, 200, "PUT", "/2015-03-31/functions/echo/configuration",
		map[string]any{"Environment": map[string]any{"Variables": map[string]string{"BB": "line1\nline2"}}}, nil)
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"application/json": `{"ok": true}`}}}}
	var rest struct{ ID string }
	mustDo(t, env, 201, "POST", "/portico/v1/apis", map[string]any{"name": "r10", "protocol": "REST",
		"routes": []any{map[string]any{"method": "GET", "path": "/k", "apiKeyRequired": true, "integration": mock}}}, &rest)
	for range 2 {
		mustDo(t, env, 201, "POST", "/portico/v1/apis/"+rest.ID+"/deployments", map[string]any{"stageName": "dev"}, nil)
	}
	var doomed struct{ ID string }
	mustDo(t, env, 201, "POST", "/portico/v1/apis", map[string]any{"name": "r2", "protocol": "REST",
		"routes": []any{map[string]any{"method": "GET", "path": "/k", "integration": mock}}}, &doomed)
	for range 2 {
		mustDo(t, env, 201, "POST", "/portico/v1/apis/"+doomed.ID+"/deployments", map[string]any{"stageName": "dev"}, nil)
	}
	mustDo(t, env, 201, "POST", "/portico/v1/apis", map[string]any{"name": "r1", "protocol": "HTTP"}, nil)

	// A key in a plan of 2 requests a day, used up.
	var key, plan struct{ ID string }
	mustDo(t, env, 201, "POST", "/apikeys", map[string]any{"name": "k", "enabled": true, "value": "SECRETVALUE_abcdefghijklmnop123"}, &key)
	mustDo(t, env, 201, "POST", "/usageplans", map[string]any{"name": "daily", "quota": map[string]any{"limit": 2, "period": "DAY"},
		"apiStages": []any{map[string]any{"apiId": rest.ID, "stage": "dev"}}}, &plan)
	mustDo(t, env, 201, "POST", "/usageplans/"+plan.ID+"/keys", map[string]any{"keyId": key.ID, "keyType": "API_KEY"}, nil)
	var got []int
	for range 3 {
		req, _ := http.NewRequest("GET", env.GatewayURL+"/"+rest.ID+"/dev/k", nil)
		req.Header.Set("x-api-key", "SECRETVALUE_abcdefghijklmnop123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		got = append(got, resp.StatusCode)
	}
	if fmt.Sprint(got) != "[200 200 429]" {
		t.Fatalf("the key's requests answered %v, want [200 200 429]", got)
	}

	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/metrics")
	thrown := exceptions(t, b)
	text := func(sel string) string {
		t.Helper()
		return eval[string](b, `(() => { const e = document.querySelector(`+strconvQuote(sel)+`); return e ? e.innerText : "(none)"; })()`)
	}
	// Nothing invoked yet; the stage had requests.
	b.poll("the metrics", `document.body.dataset.page === "metrics" && document.getElementById("requests-chart").dataset.total !== "0"`)
	if got := text("#metrics-since"); !strings.HasPrefix(got, "Counts since the server started, at 20") {
		t.Errorf("the metrics page says %q, want since when it counts", got)
	}
	if !eval[bool](b, `(() => { const f = document.getElementById("functions-empty"), s = document.getElementById("stages-empty"); return !!f && !f.hidden && !!s && s.hidden; })()`) {
		t.Errorf("the metrics page's empty-state lines: functions %q, stages %q", text("#functions-empty:not([hidden])"), text("#stages-empty:not([hidden])"))
	}

	// A function error with a big integer, 1.0 and a repeated key.
	eval[string](b, `location.hash = "#/functions/echo"`)
	b.poll("the function page", `document.body.dataset.page === "functions/echo"`)
	ctx, stop := context.WithCancel(b.tab)
	defer stop()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/invocations*"}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(b.tab, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 200,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Amz-Function-Error", Value: "Unhandled"}},
				Body:            []byte(`{"errorMessage":"big \u003c","errorType":"E","id":12345678901234567890,"f":1.0,"dup":1,"dup":2,"e":[]}`)})
			return
		}
	}()
	eval[bool](b, `(() => { document.getElementById("invoke").click(); return true; })()`)
	b.poll("the function error", `document.getElementById("invoke-result").dataset.status === "error"`)
	_, _ = chromedp.Call(b.tab, fetch.Disable, cdp.Empty{})
	want := "Function error (Unhandled):\n{\n  \"errorMessage\": \"big <\",\n  \"errorType\": \"E\",\n  \"id\": 12345678901234567890,\n  \"f\": 1.0,\n  \"dup\": 1,\n  \"dup\": 2,\n  \"e\": []\n}"
	if got := eval[string](b, `document.getElementById("invoke-result").textContent`); got != want {
		t.Errorf("the function error reads\n%s\nwant\n%s", got, want)
	}
	eval[bool](b, `(document.getElementById("reveal-env").click(), true)`)
	if got := eval[string](b, `(() => { const td = document.querySelector('#env-values tr[data-variable="BB"] td.env-value'); return td ? getComputedStyle(td).whiteSpace + " " + JSON.stringify(td.innerText) : "(none)"; })()`); got != `pre-wrap "line1\nline2"` {
		t.Errorf("the value with a newline shows as %s, want pre-wrap \"line1\\nline2\"", got)
	}

	// The stages' URLs.
	host := strings.TrimPrefix(env.GatewayURL, "http://")
	eval[string](b, `location.hash = "#/apis/`+rest.ID+`"`)
	b.poll("the REST API", `document.body.dataset.page === "apis/`+rest.ID+`"`)
	if got, want := text(`section[data-stage="dev"] .stage-url`), "Invoke URL: http://"+host+"/"+rest.ID+"/dev/"; got != want {
		t.Errorf("the REST stage's URL reads %q, want %q", got, want)
	}
	eval[string](b, `location.hash = "#/apis/`+wsID+`"`)
	b.poll("the WebSocket API", `document.body.dataset.page === "apis/`+wsID+`"`)
	if got, want := eval[string](b, `[...document.querySelectorAll('section[data-stage="dev"] .stage-url')].map(p => p.innerText).join(" | ")`),
		"WebSocket URL: ws://"+host+"/"+wsID+"/dev/ | @connections URL: http://"+host+"/"+wsID+"/dev/@connections"; got != want {
		t.Errorf("the WebSocket stage's URLs read %q, want %q", got, want)
	}

	// The APIs: r1, r2, r10 (and ws), filtered.
	eval[string](b, `location.hash = "#/apis"`)
	b.poll("the APIs", `document.body.dataset.page === "apis"`)
	if got := eval[string](b, `[...document.querySelectorAll("#apis tr[data-api] td:first-child")].map(td => td.innerText).join(" ")`); got != "r1 r2 r10 ws" {
		t.Errorf("the APIs are listed as %q, want r1 r2 r10 ws", got)
	}
	eval[bool](b, `(() => { const f = document.getElementById("api-filter"); if (f) { f.value = "R1"; f.dispatchEvent(new Event("input")); } return true; })()`)
	if got := eval[string](b, `[...document.querySelectorAll("#apis tr[data-api]:not([hidden]) td:first-child")].map(td => td.innerText).join(" ") + " / " + document.getElementById("api-count")?.textContent`); got != "r1 r10 / 2 of 4 APIs" {
		t.Errorf("filtered by R1 the APIs read %q, want r1 r10 / 2 of 4 APIs", got)
	}

	// The plan's key: 2 requests today, none left.
	eval[string](b, `location.hash = "#/keys"`)
	b.poll("the keys page", `document.body.dataset.page === "keys" && !document.body.dataset.loading`)
	if got := eval[string](b, `[...document.querySelectorAll("section table.usage th")].map(th => th.innerText).join(" | ")`); got != "Key | Requests today | Remaining today" {
		t.Errorf("the plan's usage columns: %q", got)
	}
	if got := text(`section table.usage tr[data-key="` + key.ID + `"]`); !strings.HasPrefix(got, "k\t2\t0: the key is refused (429) until 20") {
		t.Errorf("the key's usage reads %q, want 2 used and none left", got)
	}

	// An API deleted while its page is open (Roll back then reloads it).
	eval[string](b, `location.hash = "#/apis/`+doomed.ID+`"`)
	b.poll("the API to delete", `document.body.dataset.page === "apis/`+doomed.ID+`" && document.querySelector("button.rollback") !== null`)
	mustDo(t, env, 204, "DELETE", "/portico/v1/apis/"+doomed.ID, nil, nil)
	eval[bool](b, `(window.confirm = () => true, document.querySelector("button.rollback").click(), true)`)
	b.poll("the API page reloaded", `document.getElementById("api-gone") !== null || document.body.innerText.includes("Page not loaded")`)
	if got := text("#api-gone"); got != "API "+doomed.ID+" no longer exists: it was deleted after this page loaded. See the APIs." {
		t.Errorf("the deleted API's page reads %q", got)
	}
	if got := eval[string](b, `document.querySelector("#api-gone a")?.getAttribute("href") ?? "(none)"`); got != "#/apis" {
		t.Errorf("the deleted API's page links to %q, want #/apis", got)
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}

// TestConsoleKeysPageStopsWhenUnansweredInChromium: the keys page stops
// reading the plans' usage once a read gets no answer and the server is down
// (its stylesheet gets none either): the calls in flight, each tried twice,
// and no more, where it tried every plan.
func TestConsoleKeysPageStopsWhenUnansweredInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	const plans = 20
	for i := range plans {
		mustDo(t, env, 201, "POST", "/usageplans", map[string]any{"name": fmt.Sprintf("p%d", i)}, nil)
	}
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions")
	b.poll("the console", `document.body.dataset.page === "functions"`)
	ctx, stop := context.WithCancel(b.tab)
	defer stop()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*startDate=*"}, {URLPattern: "*/console.css"}}}); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = chromedp.Call(b.tab, fetch.Disable, cdp.Empty{}) }()
	failed := make(chan int, 1)
	go func() {
		n := 0
		defer func() { failed <- n }()
		for ev, err := range paused {
			if err != nil {
				return
			}
			if strings.Contains(ev.Request.URL, "startDate=") {
				n++
			}
			_, _ = chromedp.Call(b.tab, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionRefused})
		}
	}()
	eval[string](b, `location.hash = "#/keys"`)
	b.poll("the keys page", `document.body.dataset.page === "keys" && !document.body.dataset.loading`)
	stop()
	n := <-failed
	t.Logf("%d usage reads failed", n)
	if n > 2*6 {
		t.Errorf("%d usage reads made after the first got no answer, want at most 12 (6 in flight, each tried twice)", n)
	}
	if got := eval[string](b, `document.getElementById("error").textContent`); !strings.Contains(got, "Cannot reach the admin API (GET /usageplans/") {
		t.Errorf("the error reads %q", got)
	}
}

// TestConsoleKeysPageStopsWhenLeftInChromium: the keys page left while it
// reads the plans' usage makes no more reads: the six in flight when the user
// went to another page, then a visit's twenty, where every visit went on
// through every plan.
func TestConsoleKeysPageStopsWhenLeftInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	const plans = 20
	for i := range plans {
		mustDo(t, env, 201, "POST", "/usageplans", map[string]any{"name": fmt.Sprintf("p%d", i)}, nil)
	}
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions")
	b.poll("the console", `document.body.dataset.page === "functions"`)
	ctx, stop := context.WithCancel(b.tab)
	defer stop()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*startDate=*"}}}); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = chromedp.Call(b.tab, fetch.Disable, cdp.Empty{}) }()
	answer := func(id fetch.RequestID) {
		_, _ = chromedp.Call(b.tab, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: id, ResponseCode: 200,
			ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(`{"values":{}}`)})
	}
	var mu sync.Mutex
	hold, n := true, 0
	held := make(chan fetch.RequestID, plans)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			mu.Lock()
			n++
			h := hold
			mu.Unlock()
			if h {
				held <- ev.RequestID
			} else {
				answer(ev.RequestID)
			}
		}
	}()
	eval[string](b, `location.hash = "#/keys"`)
	var inFlight []fetch.RequestID
	for range 6 {
		inFlight = append(inFlight, <-held)
	}
	eval[string](b, `location.hash = "#/connections"`)
	b.poll("the connections page", `document.body.dataset.page === "connections"`)
	mu.Lock()
	hold = false
	mu.Unlock()
	for _, id := range inFlight {
		answer(id)
	}
	eval[string](b, `location.hash = "#/keys"`)
	b.poll("the keys page", `document.body.dataset.page === "keys" && !document.body.dataset.loading && document.querySelectorAll("section").length === `+fmt.Sprint(plans))
	mu.Lock()
	defer mu.Unlock()
	if n != 6+plans {
		t.Errorf("%d usage reads, want %d: the first visit's six in flight, then the second visit's", n, 6+plans)
	}
}
