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

// TestConsolePromoteInChromium promotes a REST stage's canary with the
// console's Promote button and checks what API Gateway's "Promote a canary
// release" (and `portico stage promote`) leave: the stage on the canary's
// deployment, the canary's variable overrides merged into the stage's
// variables, and the canary kept with 0% of the traffic.
func TestConsolePromoteInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	var api struct{ ID string }
	st, body := call(t, env, "POST", "/portico/v1/apis", map[string]any{"name": "promoted", "protocol": "REST"})
	if st != 201 && st != 200 {
		t.Fatalf("create api: %d %s", st, body)
	}
	_ = json.Unmarshal(body, &api)
	// The MOCK answers with the deployment it is (v) and the stage variable
	// color, so a request shows both.
	mock := func(v string) map[string]any {
		return map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
			"responses": map[string]any{"default": map[string]any{"statusCode": "200",
				"responseTemplates": map[string]string{"application/json": `{"v":"` + v + `","color":"$stageVariables.color"}`}}}}
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
	var dep2 struct{ Deployment struct{ ID string } }
	_, body = call(t, env, "POST", "/portico/v1/apis/"+api.ID+"/deployments", map[string]any{"stageName": "dev"})
	_ = json.Unmarshal(body, &dep2)
	if dep1.Deployment.ID == "" || dep2.Deployment.ID == "" {
		t.Fatalf("deployments %q and %q", dep1.Deployment.ID, dep2.Deployment.ID)
	}
	// The stage: deployment 2, color=blue and keep=yes; its canary: 100% of
	// the traffic to deployment 1 with color=green.
	stagePath := "/restapis/" + api.ID + "/stages/dev"
	op := func(path, value string) map[string]any {
		return map[string]any{"op": "replace", "path": path, "value": value}
	}
	if st, body := call(t, env, "PATCH", stagePath, map[string]any{"patchOperations": []any{
		op("/variables/color", "blue"), op("/variables/keep", "yes"),
		op("/canarySettings/percentTraffic", "100"), op("/canarySettings/deploymentId", dep1.Deployment.ID),
		op("/canarySettings/stageVariableOverrides/color", "green"),
	}}); st != 200 {
		t.Fatalf("set up the canary: %d %s", st, body)
	}
	serves := func() string {
		resp, err := http.Get(env.GatewayURL + "/" + api.ID + "/dev/v")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := serves(); got != `{"v":"1","color":"green"}` {
		t.Fatalf("the canary serves %s", got)
	}
	// The page loads with another canary (deployment 2, color=red); the CLI
	// or another tab then puts back the one above (deployment 1, green).
	canary := func(dep, color string) {
		t.Helper()
		if st, body := call(t, env, "PATCH", stagePath, map[string]any{"patchOperations": []any{
			op("/canarySettings/deploymentId", dep), op("/canarySettings/stageVariableOverrides/color", color)}}); st != 200 {
			t.Fatalf("change the canary: %d %s", st, body)
		}
	}
	canary(dep2.Deployment.ID, "red")

	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/")
	if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the console after signing in", `document.body.dataset.page !== undefined`)
	b.navigate(env.AdminURL + "/console/#/apis/" + api.ID)
	const button = `section[data-stage="dev"] button.promote`
	b.poll("the stage's Promote button", `document.querySelector('`+button+`') !== null`)
	if got := eval[string](b, `document.querySelector('section[data-stage="dev"] td.canary').textContent`); !strings.Contains(got, dep2.Deployment.ID) {
		t.Fatalf("the canary cell reads %q, want deployment %s", got, dep2.Deployment.ID)
	}
	canary(dep1.Deployment.ID, "green")
	// The page asks before it promotes, naming the canary as it is now
	// (read again, not the page's): yes. The focus is on the button, as a
	// keyboard user's would be.
	eval[bool](b, `(window.confirm = q => { window.asked = q; return true; }, true)`)
	eval[bool](b, `(document.querySelector('`+button+`').focus(), true)`)
	if err := chromedp.Do(b.tab, chromedp.Click(chromedp.CSS(button))); err != nil {
		t.Fatal(err)
	}
	b.poll("the question", `typeof window.asked === "string"`)
	if q := eval[string](b, `window.asked`); !strings.Contains(q, "changed since this page was loaded") || !strings.Contains(q, "Deployment "+dep1.Deployment.ID+" becomes") ||
		!strings.Contains(q, "(color=green)") {
		t.Errorf("the question reads %q; want it to name the canary now: deployment %s, color=green", q, dep1.Deployment.ID)
	}
	b.poll("the stage on the canary's deployment", fmt.Sprintf(`(document.querySelector('section[data-stage="dev"] td.deployment') || {}).textContent === %q`, dep1.Deployment.ID))
	b.poll("the canary at 0%", `document.querySelector('section[data-stage="dev"]').textContent.includes("0% to ")`)
	// The success is announced (a live region), and the focus is where the
	// button was, the stage's heading, not back at the document's start.
	b.poll("the success notice", `document.getElementById("notice").textContent.startsWith("Promoted the canary of stage dev")`)
	if got := eval[string](b, `document.activeElement.tagName + " " + document.activeElement.textContent`); got != "H3 Stage dev" {
		t.Errorf("after the promotion the focus is on %q, want the stage's heading", got)
	}
	// Promoting again would change nothing: no button, a word that it is done.
	if got := eval[string](b, `document.querySelector('section[data-stage="dev"] td.canary').textContent`); strings.Contains(got, "Promote") || !strings.Contains(got, "promoted") ||
		eval[bool](b, `document.querySelector('`+button+`') !== null`) {
		t.Errorf("after the promotion the canary cell reads %q, want no Promote button and that it is promoted", got)
	}
	b.shot("api-promoted")
	if msg := eval[string](b, `document.getElementById("error").hidden ? "" : document.getElementById("error").textContent`); msg != "" {
		t.Errorf("the page shows an error: %s", msg)
	}

	// What the admin API reports, as `portico stage promote` leaves it.
	st, body = call(t, env, "GET", stagePath, nil)
	if st != 200 {
		t.Fatalf("get stage: %d %s", st, body)
	}
	var stage struct {
		DeploymentID   string            `json:"deploymentId"`
		Variables      map[string]string `json:"variables"`
		CanarySettings *struct {
			PercentTraffic         float64           `json:"percentTraffic"`
			DeploymentID           string            `json:"deploymentId"`
			StageVariableOverrides map[string]string `json:"stageVariableOverrides"`
		} `json:"canarySettings"`
	}
	if err := json.Unmarshal(body, &stage); err != nil {
		t.Fatal(err)
	}
	if stage.DeploymentID != dep1.Deployment.ID {
		t.Errorf("deploymentId %q, want the canary's %q", stage.DeploymentID, dep1.Deployment.ID)
	}
	if stage.Variables["color"] != "green" || stage.Variables["keep"] != "yes" {
		t.Errorf("variables %v, want the canary's color=green merged into keep=yes", stage.Variables)
	}
	if c := stage.CanarySettings; c == nil || c.PercentTraffic != 0 {
		t.Errorf("canarySettings %+v, want the canary kept with percentTraffic 0", c)
	}
	// Every request now goes to the promoted release, with its variables.
	for range 5 {
		if got := serves(); got != `{"v":"1","color":"green"}` {
			t.Fatalf("after the promotion the stage serves %s", got)
		}
	}
}
