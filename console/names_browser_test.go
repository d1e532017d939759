package console_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleObjectNamesAndMetricsInChromium: functions named "constructor"
// and "__proto__" (valid Lambda names) read on the metrics page as /metrics
// counts them, not as JavaScript's Object properties; a throttled invoke
// gives Lambda's Reason and what to do, and the function page shows its
// reserved concurrency. With eight stages, the chart's legend gives each its
// own line style, in the Stages table's order.
func TestConsoleObjectNamesAndMetricsInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	// must calls the admin API, wanting status want, and decodes the answer into out if given.
	must := func(method, path string, body any, want int, out ...any) {
		t.Helper()
		mustCall(t, env, want, method, path, body, append(out, nil)[0])
	}
	zip := base64.StdEncoding.EncodeToString(apptest.ZipSample(t, "hello"))
	for _, name := range []string{"constructor", "__proto__"} {
		must("POST", "/2015-03-31/functions", map[string]any{"FunctionName": name, "PackageType": "Zip", "Code": map[string]any{"ZipFile": zip}}, 201)
		must("POST", "/2015-03-31/functions/"+name+"/invocations", map[string]any{}, 200)
	}
	must("PUT", "/2017-10-31/functions/__proto__/concurrency", map[string]any{"ReservedConcurrentExecutions": 0}, 200)
	must("POST", "/2015-03-31/functions/__proto__/invocations", map[string]any{}, 429)

	// Eight stages of a REST API, each with a request.
	var api struct{ ID string }
	must("POST", "/portico/v1/apis", map[string]any{"name": "many", "protocol": "REST"}, 201, &api)
	must("POST", "/portico/v1/apis/"+api.ID+"/routes", map[string]any{"method": "GET", "path": "/v", "integration": map[string]any{"type": "MOCK",
		"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses":        map[string]any{"default": map[string]any{"statusCode": "200"}}}}, 201)
	for i := range 8 {
		stage := fmt.Sprintf("s%d", i)
		must("POST", "/portico/v1/apis/"+api.ID+"/deployments", map[string]any{"stageName": stage}, 201)
		resp, err := http.Get(env.GatewayURL + "/" + api.ID + "/" + stage + "/v")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET stage %s: %d", stage, resp.StatusCode)
		}
	}

	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/metrics")
	thrown := exceptions(t, b)
	b.poll("the functions' rows and the chart's legend", `document.querySelector('#function-metrics tr[data-function="__proto__"]') !== null &&
		document.querySelectorAll('.legend span').length >= 8`)
	b.shot("metrics-object-names")
	cells := func(fn string) string {
		t.Helper()
		return eval[string](b, `[...document.querySelector('#function-metrics tr[data-function="`+fn+`"]').children].map(td => td.textContent).join("|")`)
	}
	// Function | Invocations | Errors | Throttles | ...
	if got := cells("constructor"); !strings.HasPrefix(got, "constructor|1|0|0|") || strings.Contains(got, "native code") {
		t.Errorf("the constructor row reads %q, want 1 invocation, no error, no throttle", got)
	}
	if got := cells("__proto__"); !strings.HasPrefix(got, "__proto__|1|0|1|") {
		t.Errorf("the __proto__ row reads %q, want 1 invocation and 1 throttle", got)
	}
	// Each stage its own colour and dash, listed as the table lists them.
	styles := eval[[]string](b, `[...document.querySelectorAll('.legend i')].map(i => i.dataset.color + " " + i.dataset.dash)`)
	seen := map[string]bool{}
	for _, s := range styles {
		if seen[s] {
			t.Errorf("two stages' lines are drawn alike (%s): %q", s, styles)
		}
		seen[s] = true
	}
	legend := eval[string](b, `[...document.querySelectorAll('.legend span')].map(s => s.textContent).join("|")`)
	rows := eval[string](b, `[...document.querySelectorAll('#stage-metrics tr[data-stage]')].map(r => r.dataset.stage).join("|")`)
	if legend != rows {
		t.Errorf("the legend lists %q, the Stages table %q: want one order", legend, rows)
	}

	// The throttled function: its reserved concurrency, and Lambda's reason.
	eval[string](b, `location.hash = "#/functions/__proto__"`)
	b.poll("the __proto__ page", `document.body.dataset.page === "functions/__proto__" && document.getElementById("invoke") !== null`)
	if got := eval[string](b, `(document.getElementById("reserved-concurrency") || {}).textContent || ""`); !strings.HasPrefix(got, "0") {
		t.Errorf("the reserved concurrency reads %q, want 0", got)
	}
	if err := chromedp.Do(b.tab, chromedp.Click(chromedp.ID("invoke"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the throttled invoke", `document.getElementById("invoke-result").dataset.status === "failed"`)
	if got := eval[string](b, `document.getElementById("error").textContent`); !strings.Contains(got, "ReservedFunctionConcurrentInvocationLimitExceeded") {
		t.Errorf("the error reads %q, want Lambda's Reason", got)
	}
	if got := eval[string](b, `document.getElementById("invoke-result").textContent`); !strings.Contains(got, "reserved concurrency is 0") ||
		!strings.Contains(got, "delete-function-concurrency --function-name __proto__") {
		t.Errorf("the invoke result reads %q, want why and what to do", got)
	}
	b.shot("function-throttled")
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}

// TestConsoleAutoDeployStagesInChromium: an apigatewayv2 stage with autoDeploy
// says it deploys automatically and offers no rollback (which API Gateway
// refuses), but how to turn autoDeploy off; one waiting for its first
// automatic deployment gives the reason of the last attempt, not a deploy
// command the server refuses. Long stage variables and route paths wrap
// within the window.
func TestConsoleAutoDeployStagesInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	// must calls the admin API, wanting status want, and decodes the answer into out if given.
	must := func(method, path string, body any, want int, out ...any) {
		t.Helper()
		mustCall(t, env, want, method, path, body, append(out, nil)[0])
	}
	// Quick create: a $default stage with autoDeploy; a second route deploys again.
	var quick struct{ APIID string }
	must("POST", "/v2/apis", map[string]any{"name": "quick", "protocolType": "HTTP",
		"target": "arn:aws:lambda:us-east-1:000000000000:function:echo"}, 201, &quick)
	var integrations struct {
		Items []struct{ IntegrationID string }
	}
	if must("GET", "/v2/apis/"+quick.APIID+"/integrations", nil, 200, &integrations); len(integrations.Items) == 0 {
		t.Fatal("the quick-created API has no integration")
	}
	must("POST", "/v2/apis/"+quick.APIID+"/routes", map[string]any{"routeKey": "GET /b", "target": "integrations/" + integrations.Items[0].IntegrationID}, 201)
	// A stage waiting for its first automatic deployment: a route without a target.
	var waiting struct{ APIID string }
	must("POST", "/v2/apis", map[string]any{"name": "waiting", "protocolType": "HTTP"}, 201, &waiting)
	must("POST", "/v2/apis/"+waiting.APIID+"/stages", map[string]any{"stageName": "s", "autoDeploy": true}, 201)
	must("POST", "/v2/apis/"+waiting.APIID+"/routes", map[string]any{"routeKey": "GET /x"}, 201)
	// Long values: a stage variable of 500 characters, a route path of 100.
	var long struct{ ID string }
	must("POST", "/portico/v1/apis", map[string]any{"name": "long", "protocol": "HTTP",
		"routes": []any{map[string]any{"method": "GET", "path": "/" + strings.Repeat("p", 100) + "/{q}",
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo"}}}}, 201, &long)
	must("POST", "/portico/v1/apis/"+long.ID+"/stages", map[string]any{"name": strings.Repeat("s", 120),
		"variables": map[string]string{"v": strings.Repeat("V", 500)}}, 201)

	b := newBrowser(t, browser)
	if err := chromedp.Do(b.tab, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	b.navigate(env.AdminURL + "/console/#/apis/" + quick.APIID)
	thrown := exceptions(t, b)
	const def = `section[data-stage="$default"]`
	b.poll("the $default stage", `document.querySelector('`+def+` table.history') !== null && !document.body.dataset.loading`)
	b.shot("stage-autodeploy")
	if got := eval[string](b, `(document.querySelector('`+def+` .auto-deploy') || {}).textContent || ""`); !strings.Contains(got, "Deploys automatically") {
		t.Errorf("the $default stage reads %q, want that it deploys automatically", got)
	}
	if n := eval[int](b, `document.querySelectorAll('`+def+` button.rollback').length`); n != 0 {
		t.Errorf("the autoDeploy stage offers %d rollbacks, which API Gateway refuses", n)
	}
	// The command is one to paste into a shell: $default quoted, or the
	// shell would expand it to nothing (--stage-name --no-auto-deploy).
	if got := eval[string](b, `(document.querySelector('`+def+` .auto-deploy-rollback') || {}).textContent || ""`); !strings.Contains(got, "aws apigatewayv2 update-stage --api-id "+quick.APIID+" --stage-name '$default' --no-auto-deploy.") {
		t.Errorf("the history reads %q, want how to turn autoDeploy off, $default quoted", got)
	}
	for in, want := range map[string]string{"prod": "prod", "$default": "'$default'", "it's": `'it'\''s'`, "a b": "'a b'", "": "''", "v1.2_x-y/z+": "v1.2_x-y/z+"} {
		if got := eval[string](b, `sh(`+strconvQuote(in)+`)`); got != want {
			t.Errorf("sh(%q) = %s, want %s", in, got, want)
		}
	}

	eval[string](b, `location.hash = "#/apis/`+waiting.APIID+`"`)
	b.poll("the waiting stage", `document.querySelector('section[data-stage="s"]') !== null && !document.body.dataset.loading`)
	b.shot("stage-autodeploy-waiting")
	got := eval[string](b, `document.querySelector('section[data-stage="s"] td.deployment').textContent`)
	if strings.Contains(got, "portico api deploy") || !strings.Contains(got, "Deployment attempt failed") || !strings.Contains(got, "GET /x") {
		t.Errorf("the waiting autoDeploy stage's deployment cell reads %q, want the last attempt's reason and no deploy command", got)
	}

	eval[string](b, `location.hash = "#/apis/`+long.ID+`"`)
	b.poll("the long API", `document.querySelector('#routes') !== null && document.querySelector('table.variables') !== null && !document.body.dataset.loading`)
	b.shot("stage-long-values")
	for _, sel := range []string{"#routes", "section[data-stage] table"} {
		if w := eval[[]int](b, `(t => [t.scrollWidth, t.clientWidth])(document.querySelector('`+sel+`'))`); w[0] > w[1] {
			t.Errorf("%s is %d px wide in %d px: a long value does not wrap", sel, w[0], w[1])
		}
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
