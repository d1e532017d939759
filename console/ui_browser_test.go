package console_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleManyTabsInChromium: more console tabs on function pages than the
// browser opens connections to a host (6) all show their live log, and a
// further tab loads and invokes: a live log holds no connection. A tab that
// is hidden catches up on its log when it is shown again.
func TestConsoleManyTabsInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	browser := apptest.Browser(t)
	env := apptest.Start(t, apptest.Options{})
	if st, body := call(t, env, "POST", "/2015-03-31/functions", map[string]any{"FunctionName": "echo", "PackageType": "Zip",
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(apptest.ZipSample(t, "hello"))}}); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	first := newBrowser(t, browser)
	first.navigate(env.AdminURL + "/console/#/functions/echo")
	first.poll("the function page", `document.body.dataset.page === "functions/echo"`)
	thrown := exceptions(t, first)
	tabs := []*browserTab{first}
	for i := 1; i < 8; i++ {
		ctx, cancel := chromedp.NewContext(first.tab) // another tab of the same browser
		t.Cleanup(cancel)
		b := &browserTab{t: t, tab: ctx, shots: first.shots}
		b.navigate(env.AdminURL + "/console/#/functions/echo")
		b.poll(fmt.Sprintf("the function page in tab %d", i+1), `document.body.dataset.page === "functions/echo"`)
		tabs = append(tabs, b)
	}
	// One more tab, on another page.
	ctx, cancel := chromedp.NewContext(first.tab)
	t.Cleanup(cancel)
	extra := &browserTab{t: t, tab: ctx, shots: first.shots}
	extra.navigate(env.AdminURL + "/console/#/apis")
	extra.poll("the API list in a ninth tab", `document.body.dataset.page === "apis"`)

	last := tabs[len(tabs)-1]
	if err := chromedp.Do(last.tab, chromedp.Click(chromedp.ID("invoke"))); err != nil {
		t.Fatal(err)
	}
	last.poll("the invocation's result in the eighth tab", `document.getElementById("invoke-result").dataset.status === "ok"`)
	for i, b := range tabs {
		b.poll(fmt.Sprintf("the invocation in tab %d's live log", i+1), `document.getElementById("logs").textContent.includes("REPORT RequestId")`)
	}
	last.shot("many-tabs")

	// Hidden, a tab reads nothing; shown again, it catches up.
	eval[bool](first, `(() => { Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
		document.dispatchEvent(new Event("visibilitychange")); return true; })()`)
	before := eval[int](first, `document.getElementById("logs").textContent.split("REPORT RequestId").length`)
	if st, body := call(t, env, "POST", "/2015-03-31/functions/echo/invocations", map[string]any{"path": "/while-hidden"}); st != 200 {
		t.Fatalf("invoke: %d %s", st, body)
	}
	eval[bool](first, `(() => { Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
		document.dispatchEvent(new Event("visibilitychange")); return true; })()`)
	first.poll("the hidden tab catching up", fmt.Sprintf(`document.getElementById("logs").textContent.split("REPORT RequestId").length === %d + 1`, before))
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
