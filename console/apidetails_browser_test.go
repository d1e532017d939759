package console_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// mustCall makes an admin API request that must answer want, and decodes
// its answer into out (nil: not read).
func mustCall(t *testing.T, env *apptest.Env, want int, method, path string, body, out any) {
	t.Helper()
	st, raw := call(t, env, method, path, body)
	if st != want {
		t.Fatalf("%s %s: %d %s", method, path, st, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// TestConsoleAPIDetailsInChromium: the API page showed a route's key,
// integration type and URI only. It shows a WebSocket API's route selection
// expression and each route's authorization (type and authorizer), API key
// requirement and route response (one-way or two-way), each integration's
// templates, passthrough and integration responses, the API's authorizers
// and models; a REST method's authorization and API key requirement; a
// stage's description and throttles. Stage variables and canary overrides
// read one row per variable (a value may hold "," and "="), and a history
// entry of the deployment the stage serves again says so. Everything the
// API holds is shown as text.
func TestConsoleAPIDetailsInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	var fn struct{ Configuration struct{ FunctionArn string } }
	mustCall(t, env, 200, "GET", "/2015-03-31/functions/echo", nil, &fn)
	uri := "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fn.Configuration.FunctionArn + "/invocations"
	const xss = `<img src=x onerror=alert(1)>`

	var ws struct{ APIID string }
	mustCall(t, env, 201, "POST", "/v2/apis", map[string]any{"name": "wsdetails", "protocolType": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action"}, &ws)
	v2 := "/v2/apis/" + ws.APIID
	var au struct{ AuthorizerID string }
	mustCall(t, env, 201, "POST", v2+"/authorizers", map[string]any{"name": "gate", "authorizerType": "REQUEST",
		"authorizerUri": uri, "identitySource": []string{"route.request.header.Auth"}}, &au)
	mustCall(t, env, 201, "POST", v2+"/models", map[string]any{"name": "Msg", "contentType": "application/json",
		"description": "a message " + xss, "schema": `{"type":"object"}`}, nil)
	var integ struct{ IntegrationID string }
	mustCall(t, env, 201, "POST", v2+"/integrations", map[string]any{"integrationType": "AWS", "integrationUri": uri,
		"templateSelectionExpression": `\$default`, "passthroughBehavior": "WHEN_NO_MATCH",
		"requestTemplates": map[string]string{"$default": `{"said": "$input.path('$.say')", "x": "` + xss + `"}`}}, &integ)
	mustCall(t, env, 201, "POST", v2+"/integrations/"+integ.IntegrationID+"/integrationresponses", map[string]any{
		"integrationResponseKey": "$default", "responseTemplates": map[string]string{"$default": "said " + xss}}, nil)
	target := "integrations/" + integ.IntegrationID
	var two struct{ RouteID string }
	const routeKey = `<img/src=x/onerror=alert(1)>`
	mustCall(t, env, 201, "POST", v2+"/routes", map[string]any{"routeKey": routeKey, "target": target,
		"routeResponseSelectionExpression": "$default"}, &two)
	mustCall(t, env, 201, "POST", v2+"/routes/"+two.RouteID+"/routeresponses", map[string]any{"routeResponseKey": "$default"}, nil)
	mustCall(t, env, 201, "POST", v2+"/routes", map[string]any{"routeKey": "$connect", "target": target,
		"authorizationType": "CUSTOM", "authorizerId": au.AuthorizerID, "apiKeyRequired": true}, nil)
	mustCall(t, env, 201, "POST", v2+"/routes", map[string]any{"routeKey": "oneway", "target": target}, nil)
	mustCall(t, env, 201, "POST", v2+"/stages", map[string]any{"stageName": "prod", "autoDeploy": true, "description": "the stage " + xss,
		"stageVariables":       map[string]string{"plain": "a=b,c", "v": "x"},
		"defaultRouteSettings": map[string]any{"throttlingRateLimit": 12.5, "throttlingBurstLimit": 7}}, nil)

	var rest struct{ ID string }
	mustCall(t, env, 201, "POST", "/portico/v1/apis", map[string]any{"name": "restdetails", "protocol": "REST",
		"routes": []any{map[string]any{"method": "GET", "path": "/k", "apiKeyRequired": true,
			"integration": map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
				"responses": map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"application/json": `{"ok": true}`}}}}}}}, &rest)
	var deps []string
	for range 2 {
		var dep struct{ Deployment struct{ ID string } }
		mustCall(t, env, 201, "POST", "/portico/v1/apis/"+rest.ID+"/deployments", map[string]any{"stageName": "dev"}, &dep)
		deps = append(deps, dep.Deployment.ID)
	}
	mustCall(t, env, 200, "POST", "/portico/v1/apis/"+rest.ID+"/stages/dev/rollback", map[string]any{"deploymentId": deps[0]}, nil)

	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/apis/" + ws.APIID)
	thrown := exceptions(t, b)
	b.poll("the WebSocket API's page", `document.querySelector('#routes') !== null && document.querySelector('section[data-stage="prod"]') !== null`)
	b.shot("api-details-websocket")
	text := func(sel string) string {
		t.Helper()
		return eval[string](b, `(() => { const e = document.querySelector(`+strconvQuote(sel)+`); return e ? e.textContent : "(none)"; })()`)
	}
	// (The route keys hold no quote or backslash: each is a CSS string as it is.)
	row := func(route string) string { return `#routes tr[data-route="` + route + `"]` }
	for _, c := range []struct{ sel, want string }{
		{"#route-selection", "$request.body.action"},
		{row(routeKey) + " td.route-response", "two-way ($default)"},
		{row(routeKey) + " td.api-key", "no"},
		{row(routeKey) + " td.authorization", "NONE"},
		{row("$connect") + " td.api-key", "required"},
		{row("oneway") + " td.route-response", "one-way"},
		{row("$connect") + " td.authorization", "CUSTOM (gate, " + au.AuthorizerID + ")"},
		{`#authorizers tr[data-authorizer="` + au.AuthorizerID + `"]`, "gate" + au.AuthorizerID + "REQUESTroute.request.header.Auth"},
		{`#models tr[data-model="Msg"]`, "Msgapplication/jsona message " + xss},
		{`section[data-stage="prod"] .stage-description`, "the stage " + xss},
		{`section[data-stage="prod"] table.throttles tbody`, "every route (default)12.57"},
		{`section[data-stage="prod"] table.variables tr[data-variable="plain"]`, "plaina=b,c"},
		{`section[data-stage="prod"] table.variables tr[data-variable="v"]`, "vx"},
	} {
		if got := text(c.sel); got != c.want {
			t.Errorf("%s reads %q, want %q", c.sel, got, c.want)
		}
	}
	details := text(`details.route-details[data-route="` + routeKey + `"]`)
	for _, want := range []string{"Passthrough", "WHEN_NO_MATCH", "Template selection", `\$default`, `"said": "$input.path('$.say')"`,
		"Integration response $default", "said " + xss, "Route response", "$default"} {
		if !strings.Contains(details, want) {
			t.Errorf("the route's details lack %q:\n%s", want, details)
		}
	}
	if n := eval[int](b, `document.querySelectorAll('main img, main script:not([src]), main svg').length`); n != 0 {
		t.Errorf("%d elements injected by the API's texts", n)
	}

	b.navigate(env.AdminURL + "/console/#/apis/" + rest.ID)
	b.poll("the REST API's page", `document.querySelector('#routes tr[data-route="GET /k"]') !== null && document.querySelector('section[data-stage="dev"] .history') !== null`)
	b.shot("api-details-rest")
	for _, c := range []struct{ sel, want string }{
		{`#routes tr[data-route="GET /k"] td.authorization`, "NONE"},
		{`#routes tr[data-route="GET /k"] td.api-key`, "required"},
	} {
		if got := text(c.sel); got != c.want {
			t.Errorf("%s reads %q, want %q", c.sel, got, c.want)
		}
	}
	if d := text(`details.route-details[data-route="GET /k"]`); !strings.Contains(d, "Integration response default") || !strings.Contains(d, "status 200") || !strings.Contains(d, `{"ok": true}`) {
		t.Errorf("the method's details: %q", d)
	}
	// History, newest first: rollback deps[0] (current), deploy deps[1]
	// (a button), create deps[0] (served again, no button).
	cells := eval[[]string](b, `[...document.querySelectorAll('section[data-stage="dev"] .history tbody tr')].map(r => r.lastElementChild.textContent)`)
	if len(cells) != 3 || cells[0] != "current" || cells[1] != "Roll back to this" || !strings.HasPrefix(cells[2], "served now") {
		t.Errorf("the history's last cells: %q", cells)
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
