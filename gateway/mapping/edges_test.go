package mapping

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
)

// A range value whose bounds are far apart is refused by its size, computed
// without overflow: int64's extremes used to wrap the size to a small one
// (MinInt64..MaxInt64 then appended without end) or leave it negative
// (0..MinInt64 panicked in make).
func TestRangeExtremes(t *testing.T) {
	cases := []struct {
		name, body, tmpl string
	}{
		{"MinInt64 to MaxInt64", `{"a": -9223372036854775808, "b": 9223372036854775807}`, "#set($r = [$input.path('$.a')..$input.path('$.b')])$r.size()"},
		{"MaxInt64 to MinInt64", `{"a": -9223372036854775808, "b": 9223372036854775807}`, "#set($r = [$input.path('$.b')..$input.path('$.a')])$r.size()"},
		{"0 to MinInt64", `{"n": -9223372036854775808}`, "#set($r = [0..$input.path('$.n')])$r.size()"},
		{"0 to MinInt64 as text", `{}`, "#set($r = [0..'-9223372036854775808'])$r.size()"},
		{"MinInt64 as an argument", `{"n": -9223372036854775808}`, "#set($l = [])$l.addAll([0..$input.path('$.n')])"},
		{"MaxInt64 to -1", `{}`, "#set($r = ['9223372036854775807'..-1])$r.size()"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm, err := Parse("t", c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tm.RenderString(context.Background(), &Vars{Body: []byte(c.body)})
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "too large") {
				t.Fatalf("error %v, want ErrLimit (range too large)", err)
			}
		})
	}
	// A float beyond int64 is no integer bound (Go's conversion of one is
	// undefined; it gave MinInt64): the range is null, as for a bound that
	// is no number.
	for _, body := range []string{`{"n": 1e19}`, `{"n": -1e19}`, `{"n": 1e300}`} {
		tm, _ := Parse("t", "#set($r = [0..$input.path('$.n')])[$!r]")
		got, err := tm.RenderString(context.Background(), &Vars{Body: []byte(body)})
		if err != nil || got != "[]" {
			t.Errorf("%s: %q, %v; want [] and no error", body, got, err)
		}
	}
	// Ranges under the budget still work, either way round and at the edges.
	tm, _ := Parse("t", "#set($r = [$input.path('$.a')..$input.path('$.b')])$r")
	for body, want := range map[string]string{
		`{"a": 9223372036854775805, "b": 9223372036854775807}`:   "[9223372036854775805, 9223372036854775806, 9223372036854775807]",
		`{"a": -9223372036854775807, "b": -9223372036854775808}`: "[-9223372036854775807, -9223372036854775808]",
		`{"a": 2, "b": 0}`: "[2, 1, 0]",
	} {
		got, err := tm.RenderString(context.Background(), &Vars{Body: []byte(body)})
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", body, got, err, want)
		}
	}
}

type panickingHeaders struct{}

func (panickingHeaders) BuildHeaders() map[string]string { panic("headers exploded") }

type panickingContext struct{}

func (panickingContext) BuildContext() *Map { panic("context exploded") }

// A panic inside a render fails the render (ErrEval, with the panic's value)
// through both entry points, and the half-built state is not reused: it
// used to return a nil state, whose release panicked again, so the caller
// (and the client) got no answer.
func TestRenderRecoversPanic(t *testing.T) {
	for _, c := range []struct {
		name, tmpl, want string
		vars             func() *Vars
	}{
		{"in a method", "a$input.params('h')b", "headers exploded", func() *Vars { return &Vars{HeadersBuilder: panickingHeaders{}} }},
		{"in setup", "$context.x", "context exploded", func() *Vars { return &Vars{ContextBuilder: panickingContext{}} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm, err := Parse("t", c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 { // the pool must hand out sound states after it
				out, err := tm.RenderString(context.Background(), c.vars())
				if !errors.Is(err, ErrEval) || !strings.Contains(err.Error(), c.want) || out != "" {
					t.Fatalf("RenderString: %q, %v; want ErrEval naming %q", out, err, c.want)
				}
				var buf strings.Builder
				if err := tm.Render(context.Background(), c.vars(), &buf); !errors.Is(err, ErrEval) || buf.Len() != 0 {
					t.Fatalf("Render: %q, %v; want ErrEval and nothing written", buf.String(), err)
				}
			}
			ok, _ := Parse("t", "#set($l = [1..3])$l")
			if got, err := ok.RenderString(context.Background(), &Vars{}); err != nil || got != "[1, 2, 3]" {
				t.Fatalf("the next render: %q, %v", got, err)
			}
		})
	}
}

// Override header names that differ only in case name one header: setting
// it a second time in another spelling is an override applied twice, which
// fails the render as the same spelling does (r-vtlval27 #2), however it was
// made (#set, put, putAll, the whole map).
func TestOverrideHeaderCaseVariants(t *testing.T) {
	for _, c := range []struct {
		name, tmpl string
		req, resp  map[string]string
		fails      bool
	}{
		{"set", `#set($context.responseOverride.header.X-A = "1")#set($context.responseOverride.header.x-a = "2")`, nil, nil, true},
		{"set by index", `#set($context.requestOverride.header["x-a"] = "1")#set($context.requestOverride.header["X-A"] = "2")`, nil, nil, true},
		{"put after set", `#set($context.requestOverride.header.X-A = "1")#set($d = $context.requestOverride.header.put("x-A", "2"))`, nil, nil, true},
		{"putAll", `#set($d = $context.responseOverride.header.putAll({"X-A": "1", "x-a": "2", "X-B": "b"}))`, nil, nil, true},
		{"putAll then put", `#set($h = $context.responseOverride.header)$h.putAll({"X-A": "1"})$h.put("X-a", "3")`, nil, nil, true},
		{"content type", `#set($context.responseOverride.header.Content-Type = "text/a")#set($context.responseOverride.header.content-type = "text/b")`, nil, nil, true},
		{"whole map", `#set($context.responseOverride.header.X-A = "1")#set($context.responseOverride = {"header": {"x-a": "2"}})`, nil, nil, true},
		{"one spelling each", `#set($context.responseOverride.header.x-a = "1")#set($context.requestOverride.header.X-A = "2")`,
			map[string]string{"X-A": "2"}, map[string]string{"x-a": "1"}, false},
		// Query string parameter names are case-sensitive: both stay.
		{"query kept", `#set($context.requestOverride.querystring.q = "1")#set($context.requestOverride.querystring.Q = "2")`, nil, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm, err := Parse("t", c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			for range 20 {
				v := &Vars{}
				_, err := tm.RenderString(context.Background(), v)
				if c.fails {
					if err == nil || !strings.Contains(err.Error(), "is overridden twice") {
						t.Fatalf("error %v; want the header overridden twice (header names are case-insensitive)", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				h, q, _ := v.RequestOverride()
				_, rh := v.ResponseOverride()
				if !maps.Equal(h, c.req) || !maps.Equal(rh, c.resp) {
					t.Fatalf("request headers %v, response headers %v; want %v, %v", h, rh, c.req, c.resp)
				}
				if c.name == "query kept" && (q["q"] != "1" || q["Q"] != "2") {
					t.Fatalf("query %v", q)
				}
			}
		})
	}
}

// A JSONPath that selects nothing is null in API Gateway: #set-ting an
// override to it leaves the override unset, as $undefined does, rather than
// failing the render with the engine's internal value.
func TestOverrideMissingValue(t *testing.T) {
	tm, err := Parse("t", `#set($context.responseOverride.status = $input.path('$.nope'))#set($context.responseOverride.status = $input.path('$.st'))#set($context.responseOverride.header.X-A = $input.path('$.nope'))#set($context.responseOverride.header.X-A = "set")ok`)
	if err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]int{`{}`: 0, `{"st": null}`: 0, `{"st": 202}`: 202} {
		v := &Vars{Body: []byte(body)}
		got, err := tm.RenderString(context.Background(), v)
		if err != nil || got != "ok" {
			t.Fatalf("%s: %q, %v", body, got, err)
		}
		if s, h := v.ResponseOverride(); s != want || h["X-A"] != "set" {
			t.Errorf("%s: status %d headers %v; want %d", body, s, h, want)
		}
	}
	// A value that is not a status is still refused, in words.
	bad, _ := Parse("t", `#set($context.responseOverride.status = $input.path('$.st'))`)
	for body, want := range map[string]string{`{"st": [1]}`: "(a list)", `{"st": {"a": 1}}`: "(a map)", `{"st": true}`: "true (a boolean)"} {
		_, err := bad.RenderString(context.Background(), &Vars{Body: []byte(body)})
		if !errors.Is(err, ErrEval) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "mapping.") {
			t.Errorf("%s: %v; want ErrEval naming %q and no Go type", body, err, want)
		}
	}
}

// Writing a map of overrides whole ($context.responseOverride = {...},
// $context.put("responseOverride", ...), ...header = {...}) sets its keys
// one by one, with the checks a key set on its own gets: a status that is
// not one and an override set twice fail the render, as documented, rather
// than being dropped silently; a valid one is applied. remove() of such a
// map empties it, and overrides set after it apply (r-vtlval27 #1).
func TestOverrideMapsWrittenWhole(t *testing.T) {
	for _, c := range []struct {
		name, tmpl string
		status     int
		req, resp  map[string]string
		query      map[string]string
		fails      string
	}{
		{name: "status 101", tmpl: `#set($context.responseOverride = {"status": 101})ok`, fails: "is not an HTTP status code"},
		{name: "status abc", tmpl: `#set($context.responseOverride = {"status": "abc"})ok`, fails: "is not an HTTP status code"},
		{name: "status 1000 by index", tmpl: `#set($context["responseOverride"] = {"status": 1000})ok`, fails: "is not an HTTP status code"},
		{name: "put", tmpl: `#set($d = $context.put("responseOverride", {"status": 99, "header": {"X-A": "1"}}))ok`, fails: "is not an HTTP status code"},
		{name: "putAll on $context", tmpl: `$context.putAll({"responseOverride": {"status": 99}})ok`, fails: "is not an HTTP status code"},
		{name: "whole then key", tmpl: `#set($context.responseOverride = {"status": 201})#set($context.responseOverride.status = 202)ok`, fails: "overridden twice"},
		{name: "key then whole", tmpl: `#set($context.responseOverride.status = 201)#set($context.responseOverride = {"status": 202})ok`, fails: "overridden twice"},
		{name: "header then whole header map", tmpl: `#set($context.responseOverride.header.X-A = "1")#set($context.responseOverride.header = {"X-A": "2"})ok`, fails: "overridden twice"},
		{name: "not a map", tmpl: `#set($context.responseOverride.header = "X-A: 1")ok`, fails: "it holds overrides"},
		{name: "valid", tmpl: `#set($context.responseOverride = {"status": 299, "header": {"X-Z": "1"}})ok`, status: 299, resp: map[string]string{"X-Z": "1"}},
		{name: "request whole", tmpl: `#set($context.requestOverride = {"header": {"X-A": "1"}, "querystring": {"q": "2"}})ok`,
			req: map[string]string{"X-A": "1"}, query: map[string]string{"q": "2"}},
		{name: "set after remove", tmpl: `#set($d = $context.responseOverride.remove("header"))#set($context.responseOverride.header.X-Q = "1")ok`,
			resp: map[string]string{"X-Q": "1"}},
		{name: "set after removing it all", tmpl: `#set($d = $context.remove("responseOverride"))#set($context.responseOverride.status = 201)#set($context.responseOverride.header.X-Q = "1")ok`,
			status: 201, resp: map[string]string{"X-Q": "1"}},
		{name: "remove empties", tmpl: `#set($context.responseOverride.header.X-A = "1")#set($d = $context.responseOverride.remove("header"))$d.X-A`,
			resp: nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm, err := Parse("t", c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			v := &Vars{}
			out, err := tm.RenderString(context.Background(), v)
			if c.fails != "" {
				if err == nil || !strings.Contains(err.Error(), c.fails) {
					t.Fatalf("rendered %q, error %v; want it to fail with %q", out, err, c.fails)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			status, rh := v.ResponseOverride()
			h, q, _ := v.RequestOverride()
			if status != c.status || !maps.Equal(rh, c.resp) || !maps.Equal(h, c.req) || !maps.Equal(q, c.query) {
				t.Fatalf("status %d, response headers %v, request headers %v, query %v; want %d %v %v %v", status, rh, h, q, c.status, c.resp, c.req, c.query)
			}
			if c.name == "remove empties" && out != "1" {
				t.Fatalf("remove returned %q, want what the map held", out)
			}
		})
	}
}
