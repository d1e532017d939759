package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleExecutedVersionInChromium: Invoke says which version ran (Lambda's
// X-Amz-Executed-Version), naming the alias when the call went through one:
// for an alias that splits its calls, the one thing a test of the shift wants
// to see.
func TestConsoleExecutedVersionInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	if st, body := call(t, env, "POST", "/2015-03-31/functions/echo/versions", map[string]any{}); st != 201 {
		t.Fatalf("publish: %d %s", st, body)
	}
	if st, body := call(t, env, "POST", "/2015-03-31/functions/echo/aliases", map[string]any{"Name": "live", "FunctionVersion": "1"}); st != 201 {
		t.Fatalf("alias: %d %s", st, body)
	}
	b := newBrowser(t, browser)
	thrown := exceptions(t, b)
	b.navigate(env.AdminURL + "/console/#/functions/echo")
	b.poll("the function page", `document.querySelector('#qualifier option[value="live"]') !== null`)
	for _, c := range []struct{ qualifier, want string }{
		{"", "Version $LATEST ran."},
		{"live", "Version 1 ran (alias live)."},
		{"1", "Version 1 ran."},
	} {
		if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.ID("qualifier"), c.qualifier)); err != nil {
			t.Fatal(err)
		}
		eval[bool](b, `(document.getElementById("invoke").click(), true)`)
		b.poll("the result", `document.getElementById("invoke-result").dataset.status === "ok" && document.getElementById("executed-version").textContent !== ""`)
		if got := eval[string](b, `document.getElementById("executed-version").textContent`); got != c.want {
			t.Errorf("invoke %q: the page says %q, want %q", c.qualifier, got, c.want)
		}
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw: %v", got)
	}
}
