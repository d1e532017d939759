package console_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleKeysNaturalOrderInChromium (r-verify29a #3): the keys page
// listed keys in string order (bulk0, bulk1, bulk10, bulk2) while the APIs
// page sorts as a person does, and a plan's usage table in no visible order;
// an APIs filter that matched nothing showed "0 of N APIs" over an empty
// table. Keys and a plan's keys are now in natural order, and the filter
// says that no API matches.
func TestConsoleKeysNaturalOrderInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	var plan struct{ ID string }
	mustDo(t, env, 201, "POST", "/usageplans", map[string]any{"name": "p"}, &plan)
	for _, n := range []string{"bulk10", "bulk2", "bulk1", "bulk0", "Bulk3"} {
		var k struct{ ID string }
		mustDo(t, env, 201, "POST", "/apikeys", map[string]any{"name": n, "enabled": true}, &k)
		mustDo(t, env, 201, "POST", "/usageplans/"+plan.ID+"/keys", map[string]any{"keyId": k.ID, "keyType": "API_KEY"}, nil)
	}
	mustDo(t, env, 201, "POST", "/portico/v1/apis", map[string]any{"name": "r1", "protocol": "HTTP"}, nil)

	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/keys")
	thrown := exceptions(t, b)
	b.poll("the keys page", `document.body.dataset.page === "keys" && !document.body.dataset.loading && document.querySelector("section table.usage") !== null`)
	const want = "bulk0 bulk1 bulk2 Bulk3 bulk10"
	if got := eval[string](b, `[...document.querySelectorAll("#keys tr[data-key] td:first-child")].map(td => td.innerText).join(" ")`); got != want {
		t.Errorf("the keys are listed as %q, want %q", got, want)
	}
	if got := eval[string](b, `[...document.querySelectorAll("section table.usage tr[data-key] td:first-child")].map(td => td.innerText).join(" ")`); got != want {
		t.Errorf("the plan's keys are listed as %q, want %q", got, want)
	}

	eval[string](b, `location.hash = "#/apis"`)
	b.poll("the APIs", `document.body.dataset.page === "apis"`)
	filter := func(q string) string {
		t.Helper()
		return eval[string](b, `(() => { const f = document.getElementById("api-filter"); f.value = `+strconvQuote(q)+`; f.dispatchEvent(new Event("input"));
			const none = document.getElementById("api-none"), table = document.getElementById("apis");
			return (none && !none.hidden ? none.innerText : "-") + " / " + document.getElementById("api-count").textContent +
				" / table " + (table.offsetParent === null ? "hidden" : "shown"); })()`)
	}
	if got, want := filter("zz"), "No API matches \u201czz\u201d: the filter looks for it in names and ids. / 0 of 1 API / table hidden"; got != want {
		t.Errorf("filtered by zz the APIs page reads %q, want %q", got, want)
	}
	if got, want := filter("R1"), "- / 1 of 1 API / table shown"; got != want {
		t.Errorf("filtered by R1 the APIs page reads %q, want %q", got, want)
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
