package console_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleLayoutInChromium: long unbroken text that is valid data (a
// 256-character description, Lambda's limit; a 2,000-character environment
// value) wraps in its cell instead of widening the page, and the other rows
// keep their height; at 480 and 320 CSS px (a phone, or 250% zoom) the pages
// reflow with no horizontal scrolling and the header spans the page. On the
// API page the Promote button stands apart from the canary's text, the
// history shows the deployments' descriptions, and HTTP API stages leave out
// the REST-only Canary, Cache and Tracing columns. A function's page names its
// environment variables; their values (maybe secrets) are in the page only
// after Show environment values, and no list page shows them.
func TestConsoleLayoutInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	long := strings.Repeat("D", 256)
	if st, body := call(t, env, "POST", "/2015-03-31/functions", map[string]any{"FunctionName": "longfn", "PackageType": "Zip",
		"Description": long, "Environment": map[string]any{"Variables": map[string]string{
			"SECRET_TOKEN": strings.Repeat("v", 2000), "AB": "1", "CD": "2"}},
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(apptest.ZipSample(t, "hello"))}}); st != 201 {
		t.Fatalf("create longfn: %d %s", st, body)
	}
	restID, _ := restAPIWithCanary(t, env)
	if st, body := call(t, env, "POST", "/portico/v1/apis/"+restID+"/deployments", map[string]any{"stageName": "dev", "description": "described"}); st != 201 {
		t.Fatalf("deploy with a description: %d %s", st, body)
	}
	var httpAPI struct{ ID string }
	_, body := call(t, env, "POST", "/portico/v1/apis", map[string]any{"name": "httpapi", "protocol": "HTTP",
		"routes": []any{map[string]any{"method": "GET", "path": "/x", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo"}}}})
	if err := json.Unmarshal(body, &httpAPI); err != nil || httpAPI.ID == "" {
		t.Fatalf("http api: %s", body)
	}
	if st, body := call(t, env, "POST", "/portico/v1/apis/"+httpAPI.ID+"/deployments", map[string]any{"stageName": "dev"}); st != 201 {
		t.Fatalf("deploy the http api: %d %s", st, body)
	}

	b := newBrowser(t, browser)
	var thrown func() []string
	open := func(w int64, hash, page string) {
		t.Helper()
		if err := chromedp.Do(b.tab, chromedp.EmulateViewport(w, 900)); err != nil {
			t.Fatal(err)
		}
		b.navigate(env.AdminURL + "/console/" + hash)
		b.poll("the page "+page, fmt.Sprintf(`document.body.dataset.page === %q && !document.body.dataset.loading`, page))
	}
	// noOverflow checks that the page is no wider than the window and that the
	// header spans it.
	noOverflow := func(what string) {
		t.Helper()
		got := eval[[]int](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth, Math.round(document.querySelector("header").getBoundingClientRect().width)]`)
		if got[0] > got[1] || got[2] != got[0] {
			t.Errorf("%s: the page is %d px wide in a window of %d px, its header %d px", what, got[0], got[1], got[2])
		}
	}

	open(1280, "#/functions", "functions")
	thrown = exceptions(t, b)
	b.shot("layout-functions-1280")
	noOverflow("the functions at 1280 px")
	if h := eval[float64](b, `document.querySelector('tr[data-function="echo"]').getBoundingClientRect().height`); h > 40 {
		t.Errorf("the echo row is %.0f px high: the long description grew the other rows", h)
	}
	if right := eval[float64](b, `document.querySelector('#functions th:last-child').getBoundingClientRect().right`); right > 1280 {
		t.Errorf("the Last modified column ends at %.0f px, off the 1280 px window", right)
	}
	if eval[bool](b, `document.body.innerText.includes("vvvvvvvvvv")`) {
		t.Errorf("the functions list shows an environment value")
	}
	open(1280, "#/functions/longfn", "functions/longfn")
	b.shot("layout-function-1280")
	noOverflow("the long function at 1280 px")
	// The environment: names only, the values (maybe secrets) when asked.
	if got := eval[string](b, `document.querySelector("#env-names").textContent`); got != "AB, CD, SECRET_TOKEN" {
		t.Errorf("the Environment column shows %q, want the names only", got)
	}
	if eval[bool](b, `document.documentElement.outerHTML.includes("vvvvvvvvvv")`) {
		t.Errorf("the function page holds an environment value before Show environment values")
	}
	if err := chromedp.Do(b.tab, chromedp.Click(chromedp.ID("reveal-env"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the values shown", `(document.querySelector('#env-values tr[data-variable="SECRET_TOKEN"] td.long') || {textContent: ""}).textContent.length === 2000`)
	if got := eval[string](b, `document.querySelector("#reveal-env").getAttribute("aria-expanded") + "|" + document.querySelector('#env-values tr[data-variable="AB"]').textContent`); got != "true|AB1" {
		t.Errorf("after Show environment values: %q", got)
	}
	b.shot("layout-function-env-1280")
	noOverflow("the long function's values at 1280 px")

	for _, w := range []int64{480, 320} {
		open(w, "#/functions", "functions")
		b.shot(fmt.Sprintf("layout-functions-%d", w))
		noOverflow(fmt.Sprintf("the functions at %d px", w))
		open(w, "#/functions/longfn", "functions/longfn")
		b.shot(fmt.Sprintf("layout-function-%d", w))
		noOverflow(fmt.Sprintf("the long function at %d px", w))
		open(w, "#/functions/echo", "functions/echo")
		noOverflow(fmt.Sprintf("the echo function at %d px", w))
		open(w, "#/apis/"+restID, "apis/"+restID)
		b.shot(fmt.Sprintf("layout-api-%d", w))
		noOverflow(fmt.Sprintf("the REST API at %d px", w))
	}

	open(1280, "#/apis/"+restID, "apis/"+restID)
	b.shot("layout-api-1280")
	gap := eval[float64](b, `(() => {
		const td = document.querySelector('section[data-stage="dev"] td.canary'), button = td.querySelector("button.promote");
		const r = document.createRange(); r.selectNodeContents(td.firstChild);
		return button.getBoundingClientRect().left - r.getBoundingClientRect().right; })()`)
	if gap < 4 {
		t.Errorf("the Promote button is %.1f px from the canary's text", gap)
	}
	heads := eval[[]string](b, `[...document.querySelectorAll('section[data-stage="dev"] table.history th')].map(th => th.textContent)`)
	if !strings.Contains(strings.Join(heads, "|"), "Description") {
		t.Errorf("the history's columns: %q", heads)
	}
	if !eval[bool](b, `[...document.querySelectorAll('section[data-stage="dev"] table.history td')].some(td => td.textContent === "described")`) {
		t.Errorf("the history does not show the deployment's description")
	}
	restHeads := eval[string](b, `[...document.querySelectorAll('section[data-stage="dev"] table:first-of-type th')].map(th => th.textContent).join("|")`)
	if !strings.Contains(restHeads, "Cache") || !strings.Contains(restHeads, "Tracing") || !strings.Contains(restHeads, "Canary") {
		t.Errorf("the REST stage's columns: %s", restHeads)
	}
	open(1280, "#/apis/"+httpAPI.ID, "apis/"+httpAPI.ID)
	b.shot("layout-http-api-1280")
	httpHeads := eval[string](b, `[...document.querySelectorAll('section[data-stage="dev"] table:first-of-type th')].map(th => th.textContent).join("|")`)
	if strings.Contains(httpHeads, "Cache") || strings.Contains(httpHeads, "Tracing") || strings.Contains(httpHeads, "Canary") ||
		!strings.Contains(httpHeads, "Deployment") || eval[int](b, `document.querySelectorAll('section[data-stage="dev"] table:first-of-type tbody td').length`) != 3 {
		t.Errorf("the HTTP API stage's columns: %s", httpHeads)
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
