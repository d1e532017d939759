package mapping

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestLimits(t *testing.T) {
	small := Limits{MaxOutputBytes: 1 << 16, MaxSteps: 200_000}
	cases := []struct {
		name   string
		tmpl   string
		body   string
		limits Limits
		kind   error
		msg    string
	}{
		{name: "foreach over 1001 items", tmpl: "#foreach($i in [1..1001])#end", kind: ErrLimit, msg: "line 1, column 1: #foreach over more than 1000 items"},
		{name: "foreach over a 1001-item JSON list", body: "[" + strings.Repeat("0,", 1000) + "0]", tmpl: "x\n#foreach($i in $input.path('$'))#end", kind: ErrLimit, msg: "line 2, column 1: #foreach over more than 1000"},
		{name: "foreach of 1000 is allowed then nested loops hit the step budget", tmpl: "#foreach($a in [1..1000])#foreach($b in [1..1000])#foreach($c in [1..1000])#end#end#end", limits: small, kind: ErrLimit, msg: "evaluation steps"},
		{name: "string doubling", tmpl: "#set($s = 'aaaaaaaaaa')#foreach($i in [1..100])#set($s = \"$s$s\")#end$s", limits: small, kind: ErrLimit, msg: "bytes"},
		{name: "string doubling with plus", tmpl: "#set($s = 'aaaaaaaaaa')#foreach($i in [1..100])#set($s = $s + $s)#end", limits: small, kind: ErrLimit, msg: "string longer than"},
		{name: "output size", tmpl: "#foreach($i in [1..1000])0123456789#end", limits: Limits{MaxOutputBytes: 5000}, kind: ErrLimit, msg: "output larger than 5000 bytes"},
		{name: "replace blowup", tmpl: "#set($s = 'aaaaaaaaaaaaaaaaaaaa')#foreach($i in [1..20])#set($s = $s.replace('a', 'aaaa'))#end", limits: small, kind: ErrLimit, msg: "string longer than"},
		{name: "replaceAll blowup", tmpl: "#set($s = 'aaaaaaaaaaaaaaaaaaaa')#foreach($i in [1..20])#set($s = $s.replaceAll('a', 'aaaa'))#end", limits: Limits{MaxOutputBytes: 1 << 16}, kind: ErrLimit, msg: "string longer than"},
		{name: "escapeJavaScript blowup", tmpl: "#set($s = '\"\"\"\"\"\"\"\"\"\"')#foreach($i in [1..40])#set($s = $util.escapeJavaScript($s))#end", limits: small, kind: ErrLimit, msg: "string longer than"},
		{name: "list growth", tmpl: "#set($l = [])#foreach($a in [1..1000])#foreach($b in [1..1000])$!l.add($b)#end#end", limits: small, kind: ErrLimit, msg: ""},
		{name: "huge range literal", tmpl: "#set($r = [1..100000000])", kind: ErrLimit, msg: "range [1..100000000] too large"},
		// Under the step budget, but each would hold tens of MB per request.
		{name: "range held", tmpl: "#set($r = [1..3000000])", kind: ErrLimit, msg: "lists and maps holding more than 33554432 bytes"},
		{name: "ranges held in all", tmpl: "#set($a = [1..1500000])#set($b = [1..1500000])", kind: ErrLimit, msg: "lists and maps holding more than"},
		{name: "a large string kept many times", body: `{"s": "` + strings.Repeat("x", 1<<20) + `"}`,
			tmpl: "#set($s = $input.path('$.s'))#set($l = [])#foreach($i in [1..100])$!l.add($s)#end", kind: ErrLimit, msg: "lists and maps holding more than"},
		{name: "a large string put many times", body: `{"s": "` + strings.Repeat("x", 1<<20) + `"}`,
			tmpl: "#set($s = $input.path('$.s'))#set($m = {})#foreach($i in [1..100])$!m.put(\"k$i\", $s)#end", kind: ErrLimit, msg: "lists and maps holding more than"},
		{name: "held limit given", tmpl: "#set($l = [1..100])", limits: Limits{MaxHeldBytes: 1000}, kind: ErrLimit, msg: "holding more than 1000 bytes"},
		{name: "macro recursion", tmpl: "#macro(r)#r()#end\n#r()", kind: ErrLimit, msg: "recursion deeper than 64"},
		{name: "define recursion", tmpl: "#define($a)$a#end$a", kind: ErrLimit, msg: "recursion deeper than 64"},
		{name: "override set twice", tmpl: "#set($context.responseOverride.status = 400)\n#set($context.responseOverride.status = 500)", kind: ErrEval, msg: "line 2, column 6: $context.responseOverride.status is overridden twice"},
		// A status override that is not a status fails, as setting it twice
		// does; it used to be ignored.
		{name: "override status not a number", tmpl: "#set($context.responseOverride.status = 'abc')", kind: ErrEval, msg: `$context.responseOverride.status "abc" is not an HTTP status code (200-599)`},
		{name: "override status too small", tmpl: "#set($context.responseOverride.status = 99)", kind: ErrEval, msg: "status 99 (an integer) is not an HTTP status code"},
		{name: "override status too large", tmpl: "#set($context.responseOverride.status = '1000')", kind: ErrEval, msg: `status "1000" is not an HTTP status code`},
		{name: "override status through the map", tmpl: "#set($context.responseOverride['status'] = 2.5)", kind: ErrEval, msg: "status 2.5 (a decimal number) is not an HTTP status code"},
		{name: "override header set twice through a variable", tmpl: "#set($h = $context.requestOverride.header)#set($h.X = 'a')#set($h['X'] = 'b')", kind: ErrEval, msg: "$context.requestOverride.header.X is overridden twice"},
		// An override is final however it is written: put and putAll too.
		{name: "override header set then put", tmpl: "#set($context.requestOverride.header.X = 'a')$context.requestOverride.header.put('X', 'b')", kind: ErrEval, msg: "$context.requestOverride.header.X is overridden twice"},
		{name: "override status put twice", tmpl: "$context.responseOverride.put('status', 400)$context.responseOverride.put('status', 500)", kind: ErrEval, msg: "$context.responseOverride.status is overridden twice"},
		{name: "override status put not a status", tmpl: "$context.responseOverride.put('status', 'abc')", kind: ErrEval, msg: `$context.responseOverride.status "abc" is not an HTTP status code`},
		{name: "override query parameter putAll after set", tmpl: "#set($context.requestOverride.querystring.q = 1)$context.requestOverride.querystring.putAll({'q': 2})", kind: ErrEval, msg: "$context.requestOverride.querystring.q is overridden twice"},
		{name: "override query parameter set twice in a loop", tmpl: "#foreach($i in [1, 2])#set($context.requestOverride.querystring.q = $i)#end", kind: ErrEval, msg: "$context.requestOverride.querystring.q is overridden twice"},
		{name: "input.path root of a JSON body too deep to decode", body: strings.Repeat("[", 600) + strings.Repeat("]", 600), tmpl: "$input.path('$')", kind: ErrBodyNotJSON, msg: "nested too deeply"},
		{name: "parseJson invalid", tmpl: "$util.parseJson('{')", kind: ErrEval, msg: "line 1, column 1: $util.parseJson: invalid JSON"},
		{name: "input.json of a body with a byte order mark", body: "\xef\xbb\xbf{\"a\": 1}", tmpl: "{\"a\": $input.json('$.a')}", kind: ErrBodyNotJSON, msg: "it starts with a UTF-8 byte order mark (EF BB BF)"},
		{name: "input.path of a body with a byte order mark", body: "\xef\xbb\xbf{\"a\": 1}", tmpl: "$input.path('$.a')", kind: ErrBodyNotJSON, msg: "it starts with a UTF-8 byte order mark (EF BB BF)"},
		{name: "input.json of a non-JSON body", body: "not json", tmpl: "{\"a\": $input.json('$.a')}", kind: ErrBodyNotJSON, msg: "line 1, column 7: $input.json(\"$.a\"): the body is not JSON"},
		// A deep scan's list of matches and the JSON text $input.json makes
		// of them are held by the render, as its own lists are.
		// (The decoded body is held too: the bound leaves room for it.)
		{name: "deep scan matches held", body: deepDoc(40), tmpl: "#set($x = $input.json('$..*'))", limits: Limits{MaxHeldBytes: deepDocHeld + 100_000},
			kind: ErrLimit, msg: fmt.Sprintf("lists and maps holding more than %d bytes", deepDocHeld+100_000)},
		{name: "deep scan held by $input.path", body: deepDoc(40), tmpl: "#set($x = $input.path('$..*'))", limits: Limits{MaxHeldBytes: deepDocHeld + 100_000},
			kind: ErrLimit, msg: fmt.Sprintf("lists and maps holding more than %d bytes", deepDocHeld+100_000)},
		// A body whose values would take more memory than the render may
		// hold is not read: it cannot be parsed, as a body nested too
		// deeply cannot (400 for a request template), however small it is.
		{name: "body decoding to more than MaxHeldBytes", body: "[" + strings.Repeat("{},", 10_000) + "{}]", tmpl: "$input.json('$[0]')",
			limits: Limits{MaxHeldBytes: 100_000}, kind: ErrBodyNotJSON, msg: "the body is too large to read as JSON"},
		{name: "body decoding past what the render holds", body: "[" + strings.Repeat("0,", 5_000) + "0]",
			tmpl:   "#set($l = [])#foreach($i in [1..900])#set($d = $l.add('x'))#end$input.path('$[0]')",
			limits: Limits{MaxHeldBytes: 100_000}, kind: ErrBodyNotJSON, msg: "its values take more than"},
		{name: "parseJson of a document taking more than MaxHeldBytes", tmpl: "#set($d = $util.parseJson('[' + '" + strings.Repeat("[],", 5_000) + "[]]'))",
			limits: Limits{MaxHeldBytes: 100_000}, kind: ErrLimit, msg: "$util.parseJson: lists and maps holding more than 100000 bytes"},
		{name: "input.json text held", body: `{"a": {"b": "` + strings.Repeat("x", 200_000) + `"}}`, tmpl: "#set($x = $input.json('$..*'))",
			limits: Limits{MaxHeldBytes: 300_000}, kind: ErrLimit, msg: "lists and maps holding more than 300000 bytes"},
		{name: "input.path of a non-JSON body", body: "{", tmpl: "$input.path('$.a')", kind: ErrBodyNotJSON, msg: "the body is not JSON"},
		{name: "invalid JSONPath", body: "{}", tmpl: "$input.json('$[')", kind: ErrEval, msg: "invalid JSONPath"},
		{name: "invalid JSONPath from a variable", body: "{}", tmpl: "#set($p = '$.a[')$input.path($p)", kind: ErrEval, msg: "unclosed '['"},
		{name: "base64Decode invalid", tmpl: "$util.base64Decode('!!!')", kind: ErrEval, msg: "$util.base64Decode"},
		{name: "urlDecode invalid", tmpl: "$util.urlDecode('%zz')", kind: ErrEval, msg: "$util.urlDecode"},
		{name: "substring out of range", tmpl: "#set($s = 'abc')$s.substring(5)", kind: ErrEval, msg: "substring(5, 3) out of range"},
		{name: "list get out of range", tmpl: "#set($l = [])$l.get(0)", kind: ErrEval, msg: "get(0) out of range"},
		{name: "negative index beyond the start", tmpl: "#set($l = [1])$l[-2]", kind: ErrEval, msg: "index -2 out of range for a list of 1"},
		{name: "invalid regular expression", tmpl: "#set($s = 'abc')$s.replaceAll('(', 'x')", kind: ErrEval, msg: "invalid regular expression"},
		{name: "invalid regular expression at run time", tmpl: "#set($s = 'abc')#set($p = '[')$s.matches($p)", kind: ErrEval, msg: "invalid regular expression"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm, err := Parse("application/json", c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if c.limits != (Limits{}) {
				tm = tm.WithLimits(c.limits)
			}
			var buf bytes.Buffer
			err = tm.Render(context.Background(), &Vars{Body: []byte(c.body)}, &buf)
			if !errors.Is(err, c.kind) {
				t.Fatalf("error %v, want %v", err, c.kind)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), `template "application/json"`) {
				t.Errorf("error %q, want it to contain %q", err, c.msg)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes on failure", buf.Len())
			}
		})
	}
}

// countdownCtx reports Canceled after its Err has been asked n times, so a
// test can cancel mid-render without a clock.
type countdownCtx struct {
	context.Context
	mu sync.Mutex
	n  int
}

func (c *countdownCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

func TestRenderStopsWhenContextEnds(t *testing.T) {
	tm, err := Parse("t", "#foreach($a in [1..1000])#foreach($b in [1..1000])x#end#end")
	if err != nil {
		t.Fatal(err)
	}
	ctx := &countdownCtx{Context: context.Background(), n: 3}
	_, err = tm.RenderString(ctx, &Vars{})
	if !errors.Is(err, ErrLimit) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want ErrLimit and Canceled", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tm.RenderString(cctx, &Vars{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled context: %v", err)
	}
}

func TestConcurrentRenders(t *testing.T) {
	tm, err := Parse("t", "#set($r = $input.path('$'))#foreach($i in $r.items)$util.escapeJavaScript($i)#if($foreach.hasNext),#end#end $context.requestId")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				ctx := NewContext()
				id := string(rune('a'+g)) + string(rune('a'+i%26))
				ctx.SetPath("requestId", id)
				got, err := tm.RenderString(context.Background(), &Vars{Body: []byte(`{"items": ["x\"", "y"]}`), Context: ctx})
				if want := `x\",y ` + id; err != nil || got != want {
					t.Errorf("got %q %v, want %q", got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestVarsReusedAcrossTemplates(t *testing.T) {
	req, _ := Parse("req", `#set($context.responseOverride.header.X-A = $input.path('$.a'))`)
	resp, _ := Parse("resp", `$context.responseOverride.header.X-A/$input.json('$.a')`)
	v := &Vars{Body: []byte(`{"a": "b"}`)}
	if _, err := req.RenderString(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	got, err := resp.RenderString(context.Background(), v)
	if err != nil || got != `b/"b"` {
		t.Fatalf("got %q %v", got, err)
	}
}

func TestJSONPathCompileErrors(t *testing.T) {
	for _, p := range []string{"@.a", "a b", "$.", "$[", "$['a'", "$[?(@.a == )]", "$[1:2", "$.a[?(x)]", "$..", "$[abc]", "$.a b"} {
		if _, err := CompileJSONPath(p); !errors.Is(err, ErrJSONPath) {
			t.Errorf("%q: %v", p, err)
		}
	}
	// A character outside ASCII is named whole, not its first byte, and so
	// in a body that is not JSON.
	for body, want := range map[string]string{`{"a": é}`: "unexpected 'é'", `{"a": 1}日`: "unexpected '日' after the value"} {
		if _, err := decodeJSON([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decode %q: %v, want %s", body, err, want)
		}
	}
	for p, want := range map[string]string{"$[é]": "unexpected 'é' in brackets", "$.a é": "unexpected ' '", "$.a[0]日": "unexpected '日'"} {
		if _, err := CompileJSONPath(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %s", p, err, want)
		}
	}
}

func TestJSONPath(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"store": {"book": [{"title": "A", "price": 8}, {"title": "B", "price": 12, "isbn": "x"}], "bike": {"price": 19.95}}}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"$":                                   `{"store":{"book":[{"title":"A","price":8},{"title":"B","price":12,"isbn":"x"}],"bike":{"price":19.95}}}`,
		"":                                    `{"store":{"book":[{"title":"A","price":8},{"title":"B","price":12,"isbn":"x"}],"bike":{"price":19.95}}}`,
		"$.store.bike.price":                  `19.95`,
		"store.bike.price":                    `19.95`,
		" store['bike'] ":                     `{"price":19.95}`,
		"$['store']['bike']":                  `{"price":19.95}`,
		"$.store.book[1].title":               `"B"`,
		"$.store.book[*].title":               `["A","B"]`,
		"$.store.book[-1].title":              `"B"`,
		"$..price":                            `[8,12,19.95]`,
		"$.store.*":                           `[[{"title":"A","price":8},{"title":"B","price":12,"isbn":"x"}],{"price":19.95}]`,
		"$.store.book[0,1].price":             `[8,12]`,
		"$.store.book[:1].title":              `["A"]`,
		"$.store.book[-1:].title":             `["B"]`,
		"$.store.book[?(@.price < 10)].title": `["A"]`,
		"$.store.book[?(@.isbn)].title":       `["B"]`,
		"$.store.book[?(@.price > 10 && @.title == 'B')].title":   `["B"]`,
		"$.store.book[?(@.price == 1 || @.title == \"A\")].title": `["A"]`,
		"$..book[0]":     `[{"title":"A","price":8}]`,
		"$.nope[*]":      `[]`,
		"$['a','store']": `[{"book":[{"title":"A","price":8},{"title":"B","price":12,"isbn":"x"}],"bike":{"price":19.95}}]`,
	}
	for p, want := range cases {
		jp, err := CompileJSONPath(p)
		if err != nil {
			t.Errorf("%q: %v", p, err)
			continue
		}
		v, ok, err := jp.Eval(doc)
		if err != nil {
			t.Errorf("%q: %v", p, err)
			continue
		}
		if !ok {
			t.Errorf("%q matched nothing", p)
			continue
		}
		got, _ := appendJSON(nil, v, 0, 1<<20)
		if string(got) != want {
			t.Errorf("%q = %s, want %s", p, got, want)
		}
	}
	for _, p := range []string{"$.nope", "$.store.book[5]", "$.store.book.title", "$.store.bike[0]"} {
		jp, err := CompileJSONPath(p)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, _ := jp.Eval(doc); ok {
			t.Errorf("%q matched %v", p, v)
		}
	}
}

func TestJSONPathWorkBound(t *testing.T) {
	// A hostile body: deep scans over a wide document multiply.
	deep := strings.Repeat(`{"a": `, 40) + "1" + strings.Repeat("}", 40)
	body := "[" + strings.Repeat(deep+",", 200) + `{"b": 1}, {"b": 2}]`
	tm, err := Parse("t", "$input.json('$..*..*..*..*..*')")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.RenderString(context.Background(), &Vars{Body: []byte(body)})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "visits more than") {
		t.Fatalf("error %v, want ErrLimit", err)
	}
	jp, _ := CompileJSONPath("$..b")
	doc, _ := decodeJSON([]byte(body))
	if _, _, err := jp.EvalLimit(doc, 100); !errors.Is(err, ErrLimit) {
		t.Fatalf("EvalLimit: %v", err)
	}
	if v, ok, err := jp.Eval(doc); err != nil || !ok || len(v.(*List).Items) != 2 {
		t.Fatalf("Eval: %v %v", ok, err)
	}
}

// deepDoc is a JSON document of n objects, each of 50 lists of 50 objects
// with a three-item list: about 300 nodes per object.
// deepDocHeld is what deepDoc(40)'s values take decoded (MaxHeldBytes).
var deepDocHeld = func() int {
	_, used, err := decodeJSONBudget([]byte(deepDoc(40)), nil, 1<<40)
	if err != nil {
		panic(err)
	}
	return used
}()

func deepDoc(n int) string {
	inner := `{"c": [1, 2, 3]}`
	b := `{"b": [` + strings.TrimSuffix(strings.Repeat(inner+",", 5), ",") + `]}`
	d := `{"a": [` + strings.TrimSuffix(strings.Repeat(b+",", 10), ",") + `]}`
	return `{"x": [` + strings.TrimSuffix(strings.Repeat(d+",", n), ",") + `]}`
}

// TestDeepScanWithinDefaultLimits: the same deep scans of a moderate body
// succeed under the default limits (what they hold is counted, not refused).
func TestDeepScanWithinDefaultLimits(t *testing.T) {
	for _, src := range []string{"#set($x = $input.json('$..*'))$x.length()", "#set($x = $input.path('$..*'))$x.size()"} {
		tm, err := Parse("application/json", src)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tm.RenderString(context.Background(), &Vars{Body: []byte(deepDoc(40))})
		if err != nil || out == "" || out == "0" {
			t.Errorf("%s: %q %v", src, out, err)
		}
	}
}
