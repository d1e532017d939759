package connections

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/routeselect"
)

func TestSelectRoute(t *testing.T) {
	keys := map[string]bool{"$connect": false, "$default": false, "sendmessage": true, "1.50": false, "true": false, `{"x":1}`: false}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	noDefault := func(k string) bool { return k != "$default" && has(k) }
	sel, _ := routeselect.Parse("$request.body.action")
	nested, _ := routeselect.Parse("$request.body.meta.route")
	multi, _ := routeselect.Parse("${request.body.service}/${request.body.action}")
	cases := []struct {
		name string
		sel  *routeselect.Selector
		body string
		has  func(string) bool
		want string
	}{
		{"match", sel, `{"action":"sendmessage","data":"hi"}`, has, "sendmessage"},
		{"unknown key", sel, `{"action":"nope"}`, has, "$default"},
		{"missing", sel, `{"data":"hi"}`, has, "$default"},
		{"not json", sel, `hello`, has, "$default"},
		{"json array", sel, `["sendmessage"]`, has, "$default"},
		{"number as written", sel, `{"action":1.50}`, has, "1.50"},
		{"bool", sel, `{"action":true}`, has, "true"},
		{"object compacted", sel, `{"action": { "x" : 1 }}`, has, `{"x":1}`},
		{"null", sel, `{"action":null}`, has, "$default"},
		{"reserved key never selected", sel, `{"action":"$connect"}`, has, "$default"},
		{"nested", nested, `{"meta":{"route":"sendmessage"}}`, has, "sendmessage"},
		{"nested through a string", nested, `{"meta":"x"}`, has, "$default"},
		{"several variables", multi, `{"service":"chat","action":"sendmessage"}`, func(k string) bool { return k == "chat/sendmessage" }, "chat/sendmessage"},
		{"several variables, not json", multi, `chat/sendmessage`, has, "$default"},
		{"no default", sel, `{"action":"nope"}`, noDefault, ""},
		{"no default, match", sel, `{"action":"sendmessage"}`, noDefault, "sendmessage"},
		{"deep nesting", sel, strings.Repeat("[", 20000) + strings.Repeat("]", 20000), has, "$default"},
		{"escaped", sel, `{"act\u0069on":"send\u006dessage"}`, has, "sendmessage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := SelectRoute(c.sel, []byte(c.body), c.has); got != c.want {
				t.Fatalf("SelectRoute = %q, want %q", got, c.want)
			}
		})
	}
}

// FuzzSelectRoute checks that any body routes somewhere sensible without
// panicking: to a key that exists and is not $connect/$disconnect.
func FuzzSelectRoute(f *testing.F) {
	for _, s := range []string{`{"action":"sendmessage"}`, `{"action":{"a":[1,2]}}`, `{"meta":{"route":"x"}}`, "", "null", `{"action":`, "\xff\xfe", `{"action":"$disconnect"}`} {
		f.Add([]byte(s), "$request.body.action")
	}
	f.Add([]byte(`{"a":{"b":"x"}}`), "$request.body.a.b")
	f.Add([]byte(`{"a":"x","b":"y"}`), "${request.body.a}/${request.body.b}")
	f.Add([]byte(`{}`), "\\$default")
	f.Fuzz(func(t *testing.T, body []byte, expr string) {
		sel, err := routeselect.Parse(expr)
		if err != nil {
			return
		}
		keys := map[string]bool{"$default": false, "x": false, "sendmessage": false, "$connect": false, "$disconnect": false}
		has := func(k string) bool { _, ok := keys[k]; return ok }
		got := SelectRoute(sel, body, has)
		if got == "$connect" || got == "$disconnect" || !has(got) {
			t.Fatalf("SelectRoute(%q, %q) = %q", expr, body, got)
		}
		if v, ok := sel.Select(body); ok && has(v) && v != "$connect" && v != "$disconnect" && v != "" && got != v {
			t.Fatalf("selected %q but routed to %q", v, got)
		}
	})
}
