package console_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleInvokeNamesTheQualifiersTimeoutInChromium: while a call runs,
// the function page gives the timeout of what the chosen qualifier runs: the
// version's own, $LATEST's for none, and for a weighted alias the longest of
// its versions'. Before, it gave $LATEST's timeout whatever was chosen.
func TestConsoleInvokeNamesTheQualifiersTimeoutInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	must := func(method, path string, body any, want int) {
		t.Helper()
		mustCall(t, env, want, method, path, body, nil)
	}
	must("POST", "/2015-03-31/functions", map[string]any{"FunctionName": "slow", "PackageType": "Zip", "Timeout": 30,
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(apptest.ZipProgram(t, "./console/testdata/waitfn"))}}, 201)
	must("POST", "/2015-03-31/functions/slow/versions", map[string]any{}, 201) // 1: 30 s
	must("PUT", "/2015-03-31/functions/slow/configuration", map[string]any{"Timeout": 90}, 200)
	must("POST", "/2015-03-31/functions/slow/versions", map[string]any{}, 201) // 2: 90 s
	must("PUT", "/2015-03-31/functions/slow/configuration", map[string]any{"Timeout": 60}, 200)
	must("POST", "/2015-03-31/functions/slow/aliases", map[string]any{"Name": "split", "FunctionVersion": "1",
		"RoutingConfig": map[string]any{"AdditionalVersionWeights": map[string]float64{"2": 0.5}}}, 201)
	must("POST", "/2015-03-31/functions/slow/aliases", map[string]any{"Name": "old", "FunctionVersion": "1"}, 201)

	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions/slow")
	b.poll("the function page", `document.body.dataset.page === "functions/slow"`)
	for _, c := range []struct{ qualifier, want string }{
		{"1", "up to its 30 s timeout"},
		{"2", "up to its 90 s timeout"},
		{"", "up to its 60 s timeout"},
		{"old", "up to its 30 s timeout"},
		{"split", "up to 90 s, the longest timeout of the alias's versions"},
	} {
		until := filepath.Join(t.TempDir(), "answer")
		payload, _ := json.Marshal(map[string]string{"until": until})
		if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.ID("qualifier"), c.qualifier),
			chromedp.SetValue(chromedp.ID("payload"), string(payload)), chromedp.Click(chromedp.ID("invoke"))); err != nil {
			t.Fatal(err)
		}
		b.poll("the invocation in progress", `document.getElementById("invoke-result").dataset.status === "running"`)
		if got := eval[string](b, `document.getElementById("invoke-result").textContent`); !strings.Contains(got, "("+c.want+", and a cold start)") {
			t.Errorf("qualifier %q: the progress note reads %q, want %q", c.qualifier, got, c.want)
		}
		if err := os.WriteFile(until, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		b.poll("the invocation's result", `document.getElementById("invoke-result").dataset.status === "ok" && !document.getElementById("invoke").hasAttribute("aria-disabled")`)
	}
}
