package console_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleFunctionDeletedUnderItsPageInChromium: a function deleted while
// its page is open: the live log says that it no longer exists, the page says
// so at its top and offers no Invoke, and the live log goes on reading; once
// the function is created again the page shows it anew, and the log of its
// invocations appears.
func TestConsoleFunctionDeletedUnderItsPageInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions/echo")
	thrown := exceptions(t, b)
	b.poll("the live log", `document.body.dataset.page === "functions/echo" && document.getElementById("logs").dataset.status === "live"`)
	if !eval[bool](b, `document.getElementById("function-gone").hidden`) {
		t.Errorf("a function that exists is said to be gone")
	}
	if st, body := call(t, env, "DELETE", "/2015-03-31/functions/echo", nil); st != 204 {
		t.Fatalf("delete echo: %d %s", st, body)
	}
	b.poll("the page saying the function is gone", `document.getElementById("logs").dataset.status === "gone" &&
		!document.getElementById("function-gone").hidden && document.getElementById("invoke-form").hidden`)
	b.shot("function-gone")
	if got := eval[string](b, `document.getElementById("function-gone").textContent`); !strings.Contains(got, "Function echo no longer exists") {
		t.Errorf("the notice reads %q", got)
	}
	if got := eval[string](b, `document.getElementById("logs").textContent`); !strings.Contains(got, "The function no longer exists") || !strings.Contains(got, "goes on if it is created again") {
		t.Errorf("the live log reads %q", got)
	}
	createEcho(t, env)
	if st, body := call(t, env, "POST", "/2015-03-31/functions/echo/invocations", map[string]any{}); st != 200 {
		t.Fatalf("invoke: %d %s", st, body)
	}
	b.poll("the page shown anew, with the log of the new function's invocation", `document.body.dataset.page === "functions/echo" &&
		document.getElementById("function-gone").hidden && !document.getElementById("invoke-form").hidden &&
		document.getElementById("logs").dataset.status === "live" && document.getElementById("logs").textContent.includes("START RequestId") &&
		document.getElementById("notice").textContent.includes("Function echo exists again")`)
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
