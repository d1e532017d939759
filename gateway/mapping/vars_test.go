package mapping

import (
	"context"
	"testing"
	"time"
)

// The gateway fills $context from its own types; Set converts them.
func TestContextFromGoValues(t *testing.T) {
	ctx := NewContext()
	ctx.SetPath("requestTimeEpoch", int(1589522469000))
	ctx.SetPath("authorizer.count", int32(3))
	ctx.SetPath("authorizer.ratio", float32(0.5))
	ctx.SetPath("authorizer.admin", true)
	ctx.SetPath("authorizer.claims", map[string]any{"sub": "u1", "groups": []any{"a", "b"}, "n": 2})
	ctx.SetPath("authorizer.scopes", []string{"read", "write"})
	ctx.SetPath("when", time.Date(2020, 5, 15, 6, 1, 9, 0, time.UTC))
	checkContext(t, ctx, "$context.requestTimeEpoch $context.authorizer.count $context.authorizer.ratio $context.authorizer.admin "+
		"$context.authorizer.claims.sub $context.authorizer.claims.groups.size() $context.authorizer.claims.n $context.authorizer.scopes $context.when",
		"1589522469000 3 0.5 true u1 2 2 [read, write] 2020-05-15 06:01:09 +0000 UTC")
}

// checkContext renders src with ctx as $context and compares it with want.
func checkContext(t *testing.T, ctx *Map, src, want string) {
	t.Helper()
	tm, err := Parse("t", src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.RenderString(context.Background(), &Vars{Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestZeroTemplateAndNilArguments(t *testing.T) {
	var tm Template
	//nolint:staticcheck // a nil context is tolerated
	got, err := tm.RenderString(nil, nil)
	if err != nil || got != "" {
		t.Fatalf("zero template: %q %v", got, err)
	}
	p, err := Parse("t", "$input.body $input.params('x')|$context.requestId")
	if err != nil {
		t.Fatal(err)
	}
	//nolint:staticcheck // a nil context is tolerated
	if got, err := p.RenderString(nil, nil); err != nil || got != "{} |$context.requestId" {
		t.Fatalf("nil vars: %q %v", got, err)
	}
}

// SetStrings and SetStringMap store what Set and SetPath store.
func TestSetStrings(t *testing.T) {
	ctx := NewContext()
	ctx.SetStrings("a", "1", "b", "2", "a", "3", "odd")
	ctx.SetStringMap("identity", "sourceIp", "1.2.3.4", "user", "", "sourceIp", "5.6.7.8")
	plain := NewMapSize(2)
	plain.SetStringMap("m", "k1", "v1", "k2", "v2", "k3", "v3", "k4", "v4", "k5", "v5", "k6", "v6", "k7", "v7", "k8", "v8", "k9", "v9")
	ctx.Set("plain", plain)
	checkContext(t, ctx, "$context.a $context.b $context.odd $context.identity.keySet() $context.identity.sourceIp [$context.identity]|$context.plain.m.k9 $context.plain",
		"3 2 $context.odd [sourceIp, user] 5.6.7.8 []|v9 {m={k1=v1, k2=v2, k3=v3, k4=v4, k5=v5, k6=v6, k7=v7, k8=v8, k9=v9}}")
}

// $stageVariables is built only for templates that name it, wherever they
// name it.
func TestStageVariablesNamedAnywhere(t *testing.T) {
	v := func() *Vars { return &Vars{StageVariables: map[string]string{"env": "dev"}} }
	for src, want := range map[string]string{
		`#set($s = "at $stageVariables.env")$s`:                      "at dev",
		`#macro(show)[$stageVariables.env]#end#show()`:               "[dev]",
		`#foreach($k in $stageVariables.keySet())$k#end`:             "env",
		`#set($x = {"a": "${stageVariables.env}"})$x.a`:              "dev",
		`no stage variables here $!context.stage`:                    "no stage variables here ",
		`#if($stageVariables.env == "dev")yes#{else}no#end`:          "yes",
		`#define($d)$stageVariables.get("env")#end$d`:                "dev",
		`#set($stageVariables.extra = "x")$stageVariables.extra`:     "x",
		`$!stageVariables.missing|$stageVariables.env.toUpperCase()`: "|DEV",
	} {
		tm, err := Parse("t", src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if out, err := tm.RenderString(context.Background(), v()); err != nil || out != want {
			t.Errorf("%s: %q %v, want %q", src, out, err, want)
		}
	}
}

// countingContext is a ContextBuilder that counts its builds.
type countingContext struct{ builds int }

func (c *countingContext) BuildContext() *Map {
	c.builds++
	m := NewContext()
	m.SetStrings("requestId", "r-1", "stage", "prod")
	return m
}

// $context is built from the ContextBuilder only by a template that names
// it, once per Vars however many templates read it, and what a template
// writes there is read back from the same map.
func TestContextBuiltWhenATemplateNamesIt(t *testing.T) {
	render := func(src string, v *Vars) string {
		t.Helper()
		return mustRender(t, src, v)
	}
	var cb countingContext
	v := &Vars{Body: []byte(`{"a": 1}`), Headers: map[string]string{"H": "h"}, StageVariables: map[string]string{"s": "v"}, ContextBuilder: &cb}
	if out := render(`$input.json('$.a') $input.params('H') $stageVariables.s $util.urlEncode("a b") ##$context.stage`, v); out != "1 h v a+b " {
		t.Fatalf("got %q", out)
	}
	if cb.builds != 0 || v.Context != nil {
		t.Fatalf("a template that does not name $context built it (%d builds)", cb.builds)
	}
	if h, q, p := v.RequestOverride(); h != nil || q != nil || p != nil {
		t.Errorf("overrides without $context: %v %v %v", h, q, p)
	}
	if s, h := v.ResponseOverride(); s != 0 || h != nil {
		t.Errorf("response override without $context: %d %v", s, h)
	}
	if out := render(`#set($context.requestOverride.header.X = "x")$context.requestId`, v); out != "r-1" {
		t.Fatalf("got %q", out)
	}
	if out := render(`#macro(m)$context.stage#end#m() $context.requestOverride.header.X`, v); out != "prod x" {
		t.Fatalf("got %q", out)
	}
	if cb.builds != 1 {
		t.Errorf("$context built %d times, want once", cb.builds)
	}
	if h, _, _ := v.RequestOverride(); h["X"] != "x" {
		t.Errorf("request override %v", h)
	}
	if v.ContextMap() != v.Context || cb.builds != 1 {
		t.Error("ContextMap built $context again")
	}
	// Without a builder, an empty $context.
	if out := render(`[$!context.requestId]`, &Vars{}); out != "[]" {
		t.Errorf("got %q", out)
	}
}

// $input.params().header.get(x) (and path, querystring) reads the
// parameter without building $input.params() until something else does:
// the same value, the same undefined reference, the same changes as the
// map itself gives.
func TestParamsGetReadsTheMapsValue(t *testing.T) {
	v := func() *Vars {
		return &Vars{PathParams: map[string]string{"id": "7", "empty": ""}, QueryParams: map[string]string{"q": "s"},
			Headers: map[string]string{"Host": "example.com", "X-Y": "1"}}
	}
	for src, want := range map[string]string{
		`$input.params().header.get('Host')|$input.params().path.get("id")|$input.params().querystring.get('q')`:     "example.com|7|s",
		`$input.params().header.get('host')|$!input.params().header.get('none')|[$input.params().path.get('empty')]`: "$input.params().header.get('host')||[]",
		`#set($k = "X-Y")"$input.params().header.get($k)"|$input.params().header.get($nothing)`:                      `"1"|$input.params().header.get($nothing)`,
		`#set($h = $input.params().header)$h.put('Host', 'changed')$input.params().header.get('Host')`:               "example.comchanged",
		`$input.params().header.put('Host', 'put')$input.params().header.get('Host')`:                                "example.comput",
		`$input.params().header.get($input.params().header.put('Host', 'arg'))|$input.params().header.get('Host')`:   "$input.params().header.get($input.params().header.put('Host', 'arg'))|arg",
		`$input.params().header.get($input.params().header.keySet().get(0))`:                                         "example.com",
		`#set($input.params().path.id = "8")$input.params().path.get('id')`:                                          "8",
		`#set($p = $input.params().path.get('id'))#set($q = $p + 1)$q`:                                               "71",
		`#if($input.params().querystring.get('q') == "s")yes#end`:                                                    "yes",
		`$input.params().header.get('Host').length()`:                                                                "11",
		`#set($input = {})$input.params().header.get('Host')`:                                                        "$input.params().header.get('Host')",
	} {
		tm, err := Parse("t", src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if out, err := tm.RenderString(context.Background(), v()); err != nil || out != want {
			t.Errorf("%s: %q %v, want %q", src, out, err, want)
		}
	}
}

// Each render builds its own $input.params() and $stageVariables: what one
// template changes there, the next does not see.
func TestParamsAndStageVariablesAreEachRendersOwn(t *testing.T) {
	v := &Vars{Headers: map[string]string{"A": "1"}, StageVariables: map[string]string{"s": "v"}}
	change, err := Parse("t", `$input.params().header.put('A', '2')#set($stageVariables.s = "w")$input.params().header.A $stageVariables.s`)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if out, err := change.RenderString(context.Background(), v); err != nil || out != "12 w" {
			t.Fatalf("got %q %v", out, err)
		}
	}
}

// countingHeaders is a HeadersBuilder that counts its calls.
type countingHeaders struct{ calls int }

func (c *countingHeaders) BuildHeaders() map[string]string {
	c.calls++
	return map[string]string{"Host": "h", "x-client": "c"}
}

// TestHeadersBuiltWhenATemplateReadsThem: HeadersBuilder runs at the first
// read of a header, once, and never for a template that reads none (a path
// or query string parameter found first is no read of the headers; the whole
// $input.params() map is).
func TestHeadersBuiltWhenATemplateReadsThem(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		calls     int
	}{
		{`$input.body $input.params('id') $input.params().path.get('id') $input.params().querystring.get('q')`, `{} 7 7 $input.params().querystring.get('q')`, 0},
		{`$input.params('HOST')|$input.params('X-Client')|$input.params().header.get('x-client')`, `h|c|c`, 1},
		{`$input.params()`, `{path={id=7}, querystring={}, header={Host=h, x-client=c}}`, 1},
	} {
		b := &countingHeaders{}
		tm, err := Parse("t", tc.src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tm.RenderString(context.Background(), &Vars{PathParams: map[string]string{"id": "7"}, HeadersBuilder: b})
		if err != nil || got != tc.want || b.calls != tc.calls {
			t.Errorf("%s: %q %v, %d builds; want %q, %d", tc.src, got, err, b.calls, tc.want, tc.calls)
		}
	}
}
