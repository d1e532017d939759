package mapping

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fuzzLimits keep each fuzzed render short.
var fuzzLimits = Limits{MaxOutputBytes: 1 << 16, MaxSteps: 20_000, MaxForeach: 1000, MaxDepth: 16}

func FuzzParse(f *testing.F) {
	for _, c := range awsDocCases {
		f.Add(c.tmpl, c.body)
	}
	for _, c := range velocityCases {
		f.Add(c.tmpl, c.body)
	}
	for _, c := range referenceCases {
		f.Add(c.tmpl, `{"x": {"a": [1, {"b": "c"}]}}`)
	}
	f.Add("#if($a)#elseif($b)#{else}#end#foreach($i in [1..3])$i#end", "")
	f.Add("#macro(m $a)$a#m($a)#end#m(1)", "{}")
	f.Fuzz(func(t *testing.T, src, body string) {
		tm, err := Parse("fuzz", src)
		if err != nil {
			if !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		tm = tm.WithLimits(fuzzLimits)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v := &Vars{Body: []byte(body), PathParams: map[string]string{"id": "1"}, QueryParams: map[string]string{"q": "x"},
			Headers: map[string]string{"H": "v"}, StageVariables: map[string]string{"s": "t"}}
		v.Context = NewContext()
		v.Context.SetPath("identity.sourceIp", "1.2.3.4")
		out, err := tm.RenderString(ctx, v)
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("panic while rendering %q: %v", src, err)
		}
		if len(out) > fuzzLimits.MaxOutputBytes {
			t.Fatalf("output of %d bytes passed the limit", len(out))
		}
	})
}

func FuzzJSONPath(f *testing.F) {
	doc := `{"store": {"book": [{"title": "A", "price": 8}, {"title": "B", "price": 12, "isbn": "x"}], "bike": {"price": 19.95}}, "a b": [[1, 2], [3]]}`
	for _, p := range []string{"$", "$.store.book[0].title", "$['a b'][0][1]", "$..price", "$.store.book[*]", "$.store.book[?(@.price < 10)]",
		"$.store.book[-1:]", "$.store.book[0,1]", "$['store','a b']", "$..[0]", "$.store.*", "$.store.book[?(@.isbn && (@.price > 1 || @.title == 'x'))]"} {
		f.Add(p, doc)
	}
	f.Add("$.a", `{"a": "\ud83d\ude00 \u00e9"}`)
	f.Add("$[0]", `[1, 2.5e10, -0, true, null, "x"]`)
	f.Fuzz(func(t *testing.T, path, body string) {
		jp, err := CompileJSONPath(path)
		root, derr := decodeJSON([]byte(body))
		if err != nil || derr != nil {
			return
		}
		v, ok, err := jp.EvalLimit(root, 100_000)
		if err != nil && !errors.Is(err, ErrLimit) {
			t.Fatalf("%q: %v", path, err)
		}
		if !ok {
			return
		}
		// A result must serialize and decode again.
		out, fits := appendJSON(nil, v, 0, 1<<24)
		if !fits {
			return
		}
		if _, err := decodeJSON(out); err != nil {
			t.Fatalf("result of %q does not decode: %s: %v", path, out, err)
		}
	})
}
