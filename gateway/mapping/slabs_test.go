package mapping

import (
	"context"
	"fmt"
	"maps"
	"testing"
)

// A render's decoded body is cut from slabs the next render reuses. A value
// the template stores where it outlives the render ($context's override
// maps, here directly, through put and inside a list) must keep its value
// however many renders follow.
func TestBodyValuesStoredInContextOutliveTheRender(t *testing.T) {
	t.Run("scalars", func(t *testing.T) {
		testStoredValuesOutliveTheRender(t, `#set($root = $input.path('$'))
#set($context.responseOverride.header.X = $root.a)
$context.requestOverride.header.put("Y", $root.n)
$context.requestOverride.header.put("Z", $root.big)
#set($context.requestOverride.querystring.q = $root.obj.k)
$context.requestOverride.path.put("p", $util.parseJson('{"k": "parsed", "f": 2.5}').k)`,
			`map[Y:1.25 Z:987654] map[q:inner] map[p:parsed] map[X:kept]`, `inner`)
	})
	t.Run("maps and lists", func(t *testing.T) {
		testStoredValuesOutliveTheRender(t, `#set($root = $input.path('$'))
#set($context.responseOverride.header.X = $root.a)
$context.requestOverride.header.put("Y", $root.n)
#set($l = [])
$l.add($root.obj)
#set($context.requestOverride.querystring.q = $l)
$context.requestOverride.path.put("p", $util.parseJson('{"k": "parsed", "f": 2.5}'))`,
			`map[Y:1.25] map[q:[{k=inner, list=["x",3.5]}]] map[p:{k=parsed, f=2.5}] map[X:kept]`, `[{k=inner, list=["x",3.5]}]`)
	})
}

// A pattern read from the body is cached beyond the render: the cache must
// not share the bytes of the body's text, which the next render reuses.
func TestRuntimePatternCachedAfterTheRender(t *testing.T) {
	tm, err := Parse("t", `#set($root = $input.path('$'))$root.s.matches($root.p)`)
	if err != nil {
		t.Fatal(err)
	}
	const pattern = "(slabs-test-pattern)+z"
	for i := range 50 {
		p := pattern
		if i > 0 {
			p = fmt.Sprintf("(other-pattern-%04d)+z", i) // same length, same offsets
		}
		body := `{"s": "slabs-test-patternz", "p": "` + p + `"}`
		out, err := tm.RenderString(context.Background(), &Vars{Body: []byte(body)})
		if want := fmt.Sprint(i == 0); err != nil || out != want {
			t.Fatalf("render %d: %q %v, want %s", i, out, err, want)
		}
	}
	found := false
	runtimeRegexps.Range(func(k, v any) bool {
		if k.(string) == pattern {
			found = v.(*regexpCache).re.String() == pattern
		}
		return !found
	})
	if !found {
		t.Errorf("the cache has no entry %q for the pattern (its key or expression changed)", pattern)
	}
}

func testStoredValuesOutliveTheRender(t *testing.T, src, wantOverrides, wantQ string) {
	keep, err := Parse("t", src)
	if err != nil {
		t.Fatal(err)
	}
	churn, err := Parse("t", `#set($root = $input.path('$'))$root.a $root.n $root.obj $util.parseJson('{"k": "other", "f": 9.75}')`)
	if err != nil {
		t.Fatal(err)
	}
	v := &Vars{Body: []byte(`{"a": "kept", "n": 1.25, "big": 987654, "obj": {"k": "inner", "list": ["x", 3.5]}}`)}
	if _, err := keep.RenderString(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	h, q, p := v.RequestOverride()
	_, rh := v.ResponseOverride()
	want := fmt.Sprint(h, q, p, rh)
	if want != wantOverrides {
		t.Fatalf("overrides %s", want)
	}
	for i := range 200 {
		body := fmt.Sprintf(`{"a": "churn%d", "n": %d.5, "big": 5000%d, "obj": {"k": "zz%d", "list": ["y", 7.25]}}`, i, i, i, i)
		out, err := churn.RenderString(context.Background(), &Vars{Body: []byte(body)})
		if wantOut := fmt.Sprintf(`churn%d %d.5 {k=zz%d, list=["y",7.25]} {k=other, f=9.75}`, i, i, i); err != nil || out != wantOut {
			t.Fatalf("render %d: %q %v, want %q", i, out, err, wantOut)
		}
	}
	h2, q2, p2 := v.RequestOverride()
	_, rh2 := v.ResponseOverride()
	if got := fmt.Sprint(h2, q2, p2, rh2); got != want || !maps.Equal(h, h2) {
		t.Errorf("after later renders the overrides read %s, want %s", got, want)
	}
	// The values themselves, not only the strings read back above.
	x, _ := v.Context.GetPath("requestOverride.querystring.q")
	if got := plainString(x); got != wantQ {
		t.Errorf("stored list %s", got)
	}
}

// SelectJSON decodes into reused slabs: what it returns is the caller's.
func TestSelectJSONResultOutlivesTheCall(t *testing.T) {
	p, err := CompileJSONPath("$.a")
	if err != nil {
		t.Fatal(err)
	}
	first, ok := SelectJSON([]byte(`{"a": "first"}`), p)
	for i := range 20 {
		if got, _ := SelectJSON(fmt.Appendf(nil, `{"a": "oth%02d"}`, i), p); got != fmt.Sprintf("oth%02d", i) {
			t.Fatalf("call %d: %q", i, got)
		}
	}
	if !ok || first != "first" {
		t.Errorf("first result reads %q after later calls", first)
	}
	if got, ok := SelectJSON([]byte(`{"a": {"b": [1, "x", 2.5]}}`), p); !ok || got != `{"b":[1,"x",2.5]}` {
		t.Errorf("object: %q %v", got, ok)
	}
	if _, ok := SelectJSON([]byte(`{"a": null}`), p); ok {
		t.Error("null selected")
	}
}

// $foreach, keySet()'s lists, $input.params(name)'s strings and the
// JSONPaths a render builds are cut from (or cached in) the pooled render
// state too: within a render each is its own, and what a template stores in
// $context outlives the renders that reuse the state.
func TestRenderValuesCutFromTheState(t *testing.T) {
	render := mustRender
	t.Run("a kept $foreach is not reused by the next loop", func(t *testing.T) {
		out := render(t, `#foreach($a in [1..2])#set($f = $foreach)#end#foreach($b in [1..5])#foreach($c in [1..3])#end#end$f.index $f.hasNext`, nil)
		if out != "1 false" {
			t.Errorf("got %q", out)
		}
	})
	t.Run("keySet lists are the template's own", func(t *testing.T) {
		out := render(t, `#set($m = {"a": 1, "b": 2})#set($k = $m.keySet())$k.add("z")#set($k2 = $m.keySet())$k.set(0, "y")$k $k2 $m.keySet() $m`, nil)
		if out != "truea[y, b, z] [a, b] [a, b] {a=1, b=2}" {
			t.Errorf("got %q", out)
		}
	})
	t.Run("stored in $context", func(t *testing.T) {
		keep, err := Parse("t", `#set($context.requestOverride.header.K = $input.params().header.keySet())#set($context.requestOverride.header.P = $input.params('p'))#foreach($i in [1])#set($context.requestOverride.header.F = $foreach)#end`)
		if err != nil {
			t.Fatal(err)
		}
		v := &Vars{Headers: map[string]string{"B": "1", "A": "2"}, QueryParams: map[string]string{"p": "kept"}}
		if _, err := keep.RenderString(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		churn, err := Parse("t", `#foreach($x in [1..3])$input.params('p')#foreach($k in $input.params().header.keySet())$k#end#end`)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			cv := &Vars{Headers: map[string]string{fmt.Sprintf("C%d", i): "x", "D": "y"}, QueryParams: map[string]string{"p": fmt.Sprintf("o%03d", i)}}
			if _, err := churn.RenderString(context.Background(), cv); err != nil {
				t.Fatal(err)
			}
		}
		for path, want := range map[string]string{"K": "[A, B]", "P": "kept"} {
			if x, _ := v.Context.GetPath("requestOverride.header." + path); plainString(x) != want {
				t.Errorf("%s reads %q, want %q", path, plainString(x), want)
			}
		}
		if x, _ := v.Context.GetPath("requestOverride.header.F"); x.(*foreachInfo).index != 0 || x.(*foreachInfo).hasNext {
			t.Errorf("$foreach reads %+v", x)
		}
	})
	t.Run("built JSONPaths", func(t *testing.T) {
		tm, err := Parse("t", `#set($root = $input.path('$'))#foreach($k in $root.keys)$input.json("$.v.$k")#if($foreach.hasNext),#end#end|$input.json($root.p)`)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			body := fmt.Sprintf(`{"keys": ["a", "k%d"], "p": "$.v.k%d", "v": {"a": 1, "k%d": "x%d"}}`, i%70, i%70, i%70, i)
			out, err := tm.RenderString(context.Background(), &Vars{Body: []byte(body)})
			if want := fmt.Sprintf(`1,"x%d"|"x%d"`, i, i); err != nil || out != want {
				t.Fatalf("render %d: %q %v, want %q", i, out, err, want)
			}
		}
	})
}

// mustRender parses and renders src with v, failing t on an error.
func mustRender(t *testing.T, src string, v *Vars) string {
	t.Helper()
	tm, err := Parse("t", src)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tm.RenderString(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Keys a template computes from the body and stores in $context's maps
// outlive the render as values do: the render's slabs (the text its
// decoded strings point into) are reused by the next request, so a key
// left pointing into them would read as another client's text. The test
// overwrites the slabs' text itself, as the next render would, instead of
// racing renders.
func TestBodyKeysStoredInContextOutliveTheRender(t *testing.T) {
	const body = `{"s": "Key-From-Body", "fwd": {"X-Tenant-T00013": "tenant-T00013"}}`
	cases := []struct {
		name, src, path string
	}{
		{"context put", `$context.put($input.path('$.s'), 'v')`, "Key-From-Body"},
		{"authorizer put", `$context.authorizer.put($input.path('$.s'), 'v')`, "authorizer.Key-From-Body"},
		{"identity put", `$context.identity.put($input.path('$.s'), 'v')`, "identity.Key-From-Body"},
		{"authorizer index", `#set($s = $input.path('$.s'))#set($context.authorizer[$s] = 'v')`, "authorizer.Key-From-Body"},
		{"context index", `#set($s = $input.path('$.s'))#set($context[$s] = 'v')`, "Key-From-Body"},
		{"header override index", `#set($hs = $input.path('$.fwd'))#foreach($k in $hs.keySet())#set($context.requestOverride.header[$k] = $hs.get($k))#end`, "requestOverride.header.X-Tenant-T00013"},
		{"header override put", `#set($hs = $input.path('$.fwd'))#foreach($k in $hs.keySet())$context.requestOverride.header.put($k, $hs.get($k))#end`, "requestOverride.header.X-Tenant-T00013"},
		{"querystring override from parseJson", `#set($o = $util.parseJson($input.body))#set($context.requestOverride.querystring[$o.s] = 'v')`, "requestOverride.querystring.Key-From-Body"},
		{"response header through a macro", `#macro(hdr $n)#set($context.responseOverride.header[$n] = 'v')#end#hdr($input.path('$.s'))`, "responseOverride.header.Key-From-Body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm, err := Parse("t", c.src)
			if err != nil {
				t.Fatal(err)
			}
			ctx := NewContext()
			ctx.SetPath("authorizer.principalId", "p")
			ctx.SetPath("identity.sourceIp", "1.2.3.4")
			v := &Vars{Body: []byte(body), Context: ctx}
			// A state whose text slab has room for the whole body, as a
			// pooled one has: every string decoded is in the text the
			// next render writes over.
			st := &state{}
			st.slabs.text = make([]byte, 0, 4096)
			st, err = tm.renderState(context.Background(), st, v)
			if err != nil {
				t.Fatal(err)
			}
			if !st.escaped {
				// The state goes back to the pool: what the next request
				// decodes overwrites its text.
				text := st.slabs.text[:cap(st.slabs.text)]
				for i := range text {
					text[i] = '#'
				}
			}
			tm.release(st)
			if x, ok := v.Context.GetPath(c.path); !ok || plainString(x) != "v" && plainString(x) != "tenant-T00013" {
				t.Errorf("$context.%s is gone after the slabs were reused: $context reads %s", c.path, plainString(v.Context))
			}
		})
	}
}
