package console_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleStageStatesInChromium: a history entry whose deployment was
// deleted says so instead of offering a rollback that can only fail, and a
// stage waiting for its first deployment says how to deploy it, not an empty
// cell and a table of headers.
func TestConsoleStageStatesInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	apiID, deps := restAPIWithCanary(t, env)
	// deps[1] is in dev's history, served by nothing: it can go.
	if st, body := call(t, env, "DELETE", "/portico/v1/apis/"+apiID+"/deployments/"+deps[1], nil); st != 204 {
		t.Fatalf("delete deployment %s: %d %s", deps[1], st, body)
	}
	var httpAPI struct{ ID string }
	_, body := call(t, env, "POST", "/portico/v1/apis", map[string]any{"name": "waiting", "protocol": "HTTP"})
	if err := json.Unmarshal(body, &httpAPI); err != nil || httpAPI.ID == "" {
		t.Fatalf("create api: %s", body)
	}
	if st, body := call(t, env, "POST", "/portico/v1/apis/"+httpAPI.ID+"/stages", map[string]any{"name": "next"}); st != 201 {
		t.Fatalf("create a stage without a deployment: %d %s", st, body)
	}

	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/apis/" + apiID)
	thrown := exceptions(t, b)
	b.poll("the stage's history", `document.querySelector('section[data-stage="dev"] table.history') !== null && !document.body.dataset.loading`)
	if n := eval[int](b, `document.querySelectorAll('button.rollback[data-deployment="`+deps[1]+`"]').length`); n != 0 {
		t.Errorf("the page offers %d rollbacks to the deleted deployment %s", n, deps[1])
	}
	if got := eval[string](b, `[...document.querySelectorAll('section[data-stage="dev"] table.history tr')].filter(r => r.textContent.includes("`+deps[1]+`")).map(r => r.textContent).join("|")`); !strings.Contains(got, "deployment deleted") {
		t.Errorf("the deleted deployment's history rows read %q, want them to say the deployment was deleted", got)
	}
	if n := eval[int](b, `document.querySelectorAll('button.rollback[data-deployment="`+deps[0]+`"]').length`); n == 0 {
		t.Errorf("the page offers no rollback to %s, which still exists", deps[0])
	}
	b.shot("stage-deleted-deployment")

	eval[string](b, `location.hash = "#/apis/`+httpAPI.ID+`"`)
	b.poll("the waiting stage", `document.querySelector('section[data-stage="next"]') !== null && !document.body.dataset.loading`)
	if got := eval[string](b, `document.querySelector('section[data-stage="next"] td.deployment').textContent`); !strings.Contains(got, "portico api deploy "+httpAPI.ID+" --stage next") {
		t.Errorf("the waiting stage's deployment cell reads %q, want how to deploy it", got)
	}
	if got := eval[string](b, `(document.querySelector('section[data-stage="next"] .history-empty') || {}).textContent || ""`); !strings.Contains(got, "No deployments yet") {
		t.Errorf("the waiting stage's history reads %q, want that it has none yet", got)
	}
	if n := eval[int](b, `document.querySelectorAll('section[data-stage="next"] table.history').length`); n != 0 {
		t.Errorf("the waiting stage shows %d empty history tables", n)
	}
	b.shot("stage-waiting")
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
