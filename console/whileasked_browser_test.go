package console_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// askAndChange replaces window.confirm with one that records the question and,
// while it is "open", makes the change the call (method, path, body) makes
// through the admin API (as the CLI or another tab would while the user
// reads the question), then says yes.
func askAndChange(b *browserTab, method, path, body string) {
	b.t.Helper()
	js, _ := json.Marshal([]string{method, "/console/api" + path, body})
	eval[bool](b, `(() => { const [m, p, body] = `+string(js)+`; window.asked = []; window.changed = 0;
		window.confirm = q => { window.asked.push(q); const x = new XMLHttpRequest(); x.open(m, p, false);
			x.setRequestHeader("X-Portico-Console", "1"); x.setRequestHeader("Content-Type", "application/json");
			x.send(body); window.changed = x.status; return true; }; return true; })()`)
}

// TestConsoleChangeWhileAskedInChromium: what the user confirms is what is
// done. Promote is conditional on the canary's variable overrides as well as
// its deployment: overrides changed while the question is open (the CLI's
// `portico stage canary --var`) are refused with a 409, not merged into the
// stage's variables. Roll back is conditional on the deployment the stage
// served when asked: a deployment made while the question is open (a hotfix)
// is refused with a 409, not undone; the page then shows the stage as it is,
// and the refusal says so (not the CLI's "reload").
func TestConsoleChangeWhileAskedInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	apiID, deps := restAPIWithCanary(t, env)
	stagePath := "/restapis/" + apiID + "/stages/dev"
	if st, body := call(t, env, "PATCH", stagePath, map[string]any{"patchOperations": []any{
		map[string]any{"op": "replace", "path": "/canarySettings/stageVariableOverrides/alias", "value": "two"}}}); st != 200 {
		t.Fatalf("set the canary's override: %d %s", st, body)
	}
	type stage struct {
		DeploymentID string            `json:"deploymentId"`
		Variables    map[string]string `json:"variables"`
	}
	get := func() stage {
		t.Helper()
		var s stage
		_, body := call(t, env, "GET", "/portico/v1/apis/"+apiID+"/stages/dev", nil)
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	b := newBrowser(t, browser)
	thrown := exceptions(t, b)
	b.navigate(env.AdminURL + "/console/#/apis/" + apiID)
	const promote = `section[data-stage="dev"] button.promote`
	b.poll("the stage's Promote button", `document.querySelector('`+promote+`') !== null`)

	askAndChange(b, "PATCH", stagePath, `{"patchOperations":[{"op":"replace","path":"/canarySettings/stageVariableOverrides/alias","value":"EVIL"},`+
		`{"op":"replace","path":"/canarySettings/stageVariableOverrides/admin","value":"true"}]}`)
	eval[bool](b, `(document.querySelector('`+promote+`').click(), true)`)
	b.poll("the refusal, and the page reloaded", `!document.getElementById("error").hidden && document.getElementById("error").textContent.includes("409") &&
		!document.body.dataset.loading && document.querySelector('`+promote+`') !== null`)
	if got := eval[string](b, `window.asked[0] + " / " + window.changed`); !strings.Contains(got, "(alias=two)") || !strings.HasSuffix(got, "/ 200") {
		t.Fatalf("the question and the change while it was open: %s", got)
	}
	if msg := eval[string](b, `document.getElementById("error").textContent`); !strings.Contains(msg, "admin=true, alias=EVIL") || !strings.Contains(msg, "the page now shows the stage as it is: decide on that") {
		t.Errorf("the refusal reads %q; want it to name the overrides now", msg)
	}
	if s := get(); s.DeploymentID != deps[2] || s.Variables["alias"] != "" || s.Variables["admin"] != "" {
		t.Errorf("after the refused promotion the stage serves %s with variables %v; want %s and no variables", s.DeploymentID, s.Variables, deps[2])
	}
	if n := eval[string](b, `document.getElementById("notice").textContent`); n != "" {
		t.Errorf("a refused promotion notifies %q", n)
	}

	// Roll back to deps[1] while the stage serves deps[2]; meanwhile a hotfix
	// is deployed.
	askAndChange(b, "POST", "/portico/v1/apis/"+apiID+"/deployments", `{"stageName":"dev","description":"hotfix"}`)
	eval[bool](b, `(document.querySelector('button.rollback[data-deployment="`+deps[1]+`"]').click(), true)`)
	b.poll("the refusal, and the page reloaded", `!document.getElementById("error").hidden && document.getElementById("error").textContent.includes("the page now shows what it serves: decide on that") &&
		!document.body.dataset.loading && window.asked.length === 1 && document.querySelector('section[data-stage="dev"] td.deployment').textContent !== "`+deps[2]+`"`)
	if got := eval[string](b, `window.asked[0] + " / " + window.changed`); !strings.Contains(got, "It serves deployment "+deps[2]+" now") || !strings.HasSuffix(got, "/ 201") {
		t.Fatalf("the question and the change while it was open: %s", got)
	}
	s := get()
	if s.DeploymentID == deps[1] || s.DeploymentID == deps[2] {
		t.Errorf("after the refused rollback the stage serves %s; want the hotfix", s.DeploymentID)
	}
	if got := eval[string](b, `document.querySelector('section[data-stage="dev"] td.deployment').textContent`); got != s.DeploymentID {
		t.Errorf("the page shows deployment %s; the stage serves %s", got, s.DeploymentID)
	}
	if n := eval[string](b, `document.getElementById("notice").textContent`); n != "" {
		t.Errorf("a refused rollback notifies %q", n)
	}

	// Asked and left alone, the rollback is taken, and says what it did.
	eval[bool](b, `(window.confirm = () => true, document.querySelector('button.rollback[data-deployment="`+deps[1]+`"]').click(), true)`)
	b.poll("the rollback's notice", `document.getElementById("notice").textContent !== ""`)
	if n := eval[string](b, `document.getElementById("notice").textContent`); n != "Rolled back stage dev: it now serves deployment "+deps[1]+" (it served "+s.DeploymentID+")." {
		t.Errorf("the notice reads %q", n)
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
