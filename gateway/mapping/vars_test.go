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
