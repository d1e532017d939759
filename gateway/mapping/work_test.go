package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestExpensiveCallsChargeTheBudget: a method call whose work grows with
// its operands (a regular expression over a large string, a split into
// many pieces, a copy of the body) charges the step budget for that work,
// so the default budget refuses templates that make one request cost
// seconds of CPU and hundreds of MB, however few steps surround the calls.
func TestExpensiveCallsChargeTheBudget(t *testing.T) {
	big := strings.Repeat("a", 1<<20)
	body := `{"s": "` + big + `", "l": [` + strings.Repeat(`{"x": 1},`, 100_000) + `{"x": 2}]}`
	const s = "#set($s = $input.path('$.s'))"
	cases := []struct{ name, tmpl string }{
		{"replaceAll over 1 MiB", s + "$s.replaceAll('a', 'b').length()"},
		{"replaceAll with groups", s + "$s.replaceAll('(a)', '$1').length()"},
		{"split into every character", s + "$s.split('').size()"},
		{"split with a limit", s + "$s.split('', 5000000).size()"},
		{"a loop of replaceAll", s + "#foreach($i in [1..12])$s.replaceAll('a', 'b').length()#end"},
		{"a loop of matches", s + "#foreach($i in [1..40])$s.matches('a*b')#end"},
		{"a loop of replace", s + "#foreach($i in [1..100])$s.replace('a', 'b').length()#end"},
		{"a loop of toUpperCase", s + "#foreach($i in [1..1000])$s.toUpperCase().length()#end"},
		{"a loop of escapeJavaScript", s + "#foreach($i in [1..1000])$util.escapeJavaScript($s).length()#end"},
		{"a loop of interpolation", s + "#foreach($i in [1..1000])#set($t = \"$s\")#end"},
		{"a loop of concatenation", s + "#foreach($i in [1..1000])#set($t = $s + 'x')#end"},
		{"a loop of body copies", "#foreach($i in [1..1000])$input.body.length()#end"},
		{"a loop of input.json", "#foreach($i in [1..1000])#set($j = $input.json('$.s'))#end"},
		{"a loop of deep scans", "#foreach($i in [1..1000])#set($j = $input.path('$..x'))#end"},
		{"a loop of filters", "#foreach($i in [1..1000])#set($j = $input.path('$.l[?(@.x == 2)]'))#end"},
		{"a loop of parseJson", "#set($b = $input.body)#foreach($i in [1..1000])#set($j = $util.parseJson($b))#end"},
		{"a loop of list toString", "#set($l = $input.path('$.l'))#foreach($i in [1..1000])#if($l.toString() == '')#end#end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm, err := Parse("application/json", c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tm.RenderString(context.Background(), &Vars{Body: []byte(body)})
			// A loop that builds lists or documents (deep scans, parseJson)
			// may reach MaxHeldBytes first: what it builds is bounded too.
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "more than 5000000 evaluation steps") &&
				!strings.Contains(err.Error(), "lists and maps holding more than 33554432 bytes") {
				t.Fatalf("got %d bytes, error %v; want the step budget's ErrLimit", len(out), err)
			}
		})
	}
}

// TestOrdinaryWorkFitsTheBudget: the charges leave room for what templates
// do with a large body.
func TestOrdinaryWorkFitsTheBudget(t *testing.T) {
	text := strings.Repeat(`say "hi", `, 100_000) // 1 MB
	body := `{"s": "` + strings.ReplaceAll(text, `"`, `\"`) + `"}`
	cases := []struct{ tmpl, want string }{
		{"#set($s = $input.path('$.s'))$s.replaceAll('\"', '\\\\\"').length()", "1200000"},
		{"#set($s = $input.path('$.s'))$s.split(', ').size()", "100000"},
		{"#set($s = $input.path('$.s'))$util.escapeJavaScript($s).length() $s.toUpperCase().length() $s.matches('.*hi.*')", "1200000 1000000 true"},
		{"$input.body.length() $input.body.length() $input.json('$').length()", "1200009 1200009 1200008"},
	}
	for _, c := range cases {
		tm, err := Parse("application/json", c.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tm.RenderString(context.Background(), &Vars{Body: []byte(body)})
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.tmpl, got, err, c.want)
		}
	}
}

// TestExpensiveCallsCheckTheContext: a render whose steps are few but whose
// calls are expensive stops when its context ends (the client left), where
// the context used to be read every 1024 steps only.
func TestExpensiveCallsCheckTheContext(t *testing.T) {
	body := `{"s": "` + strings.Repeat("ab", 64<<10) + `"}`
	tm, err := Parse("t", "#set($s = $input.path('$.s'))#foreach($i in [1..12])$s.replaceAll('a', 'c').length()#end")
	if err != nil {
		t.Fatal(err)
	}
	// Live for the check before rendering, ended for any after.
	ctx := &countdownCtx{Context: context.Background(), n: 1}
	out, err := tm.RenderString(ctx, &Vars{Body: []byte(body)})
	if !errors.Is(err, ErrLimit) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %d bytes, error %v; want ErrLimit and Canceled", len(out), err)
	}
}

// TestDeepBodies: a body nested deeper than the decoder reads (512 levels)
// is JSON that cannot be read, at any depth: $input.path('$') fails as
// $input.json does, where past encoding/json's own bound (10,000 levels) it
// used to be the body as a string, as for a body that is not JSON.
func TestDeepBodies(t *testing.T) {
	nest := func(n int, tail string) string {
		return strings.Repeat(`{"a":[`, n) + tail + strings.Repeat("]}", n)
	}
	for _, c := range []struct {
		name, body, want string
		notJSON          bool
	}{
		{name: "300 levels", body: nest(150, "1"), want: "ok"},
		{name: "600 levels", body: nest(300, "1"), notJSON: true},
		{name: "10,002 levels", body: nest(5001, "1"), notJSON: true},
		{name: "40,000 levels", body: nest(20000, `"x\"y"`), notJSON: true},
		{name: "a form post", body: "a=1&b=2", want: "body"},
		{name: "deep and broken", body: nest(20000, "1") + "]", want: "body"},
		{name: "deep and unclosed", body: strings.Repeat("[", 20000), want: "body"},
		{name: "deep with a bad scalar", body: nest(20000, "tru"), want: "body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm, err := Parse("t", "#set($b = $input.path('$'))#if($b.a)ok#elseif($b == $input.body)body#{else}$b#end")
			if err != nil {
				t.Fatal(err)
			}
			got, err := tm.RenderString(context.Background(), &Vars{Body: []byte(c.body)})
			if c.notJSON {
				if !errors.Is(err, ErrBodyNotJSON) {
					t.Fatalf("$input.path: got %.40q, %v; want ErrBodyNotJSON", got, err)
				}
				json, _ := Parse("t", "$input.json('$')")
				if _, err := json.RenderString(context.Background(), &Vars{Body: []byte(c.body)}); !errors.Is(err, ErrBodyNotJSON) {
					t.Fatalf("$input.json: %v; want ErrBodyNotJSON", err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %.40q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestValidJSON: validJSON agrees with encoding/json below its depth bound.
func TestValidJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, ` {"a": [1, 2.5e3, {"b": null}], "c": "x\"y\\", "d": [ ], "e": { }} `, `1`, `-0.5`, `"s"`, `true`, `[[[]]]`,
		``, ` `, `{`, `[1,]`, `{"a"}`, `{"a":1,}`, `[1 2]`, `{"a":1}x`, `"unterminated`, `tru`, `[1]]`, `{1:2}`, `01`,
		`[,1]`, `{"a":1 "b":2}`, `"\x"`, `[}`, `{]`, `{"a":}`, `[1,,2]`, "\"a\nb\"", `nul`, `[1]x`, `{"a":1}}`,
	} {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%q) = %v, encoding/json says %v", s, got, want)
		}
	}
}

// TestEqualTooDeepToRender: == renders a list or map compared with a string;
// one too deep to render is not equal, and the render goes on.
func TestEqualTooDeepToRender(t *testing.T) {
	body := strings.Repeat(`{"a":[`, 150) + "1" + strings.Repeat("]}", 150)
	tm, err := Parse("t", `#set($b = $input.path('$'))#if($b == "x")EQ#{else}NE#end`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tm.RenderString(context.Background(), &Vars{Body: []byte(body)}); err != nil || got != "NE" {
		t.Fatalf("got %q, %v; want NE", got, err)
	}
}

// TestNumbersOutOfRange: a body's number beyond float64's range, or an
// integer beyond int64's, keeps its text (Java's parsers read them as
// BigDecimal and BigInteger) where it used to become null or lose digits.
func TestNumbersOutOfRange(t *testing.T) {
	body := `{"a": 1e400, "b": 99999999999999999999, "c": -1E+400, "d": 1.5}`
	for tmpl, want := range map[string]string{
		"$input.json('$.a') $input.json('$.b') $input.json('$.c')": "1e400 99999999999999999999 -1E+400",
		"$input.json('$')":   `{"a":1e400,"b":99999999999999999999,"c":-1E+400,"d":1.5}`,
		"$input.json('$.*')": `[1e400,99999999999999999999,-1E+400,1.5]`,
		"$input.path('$.a') $input.path('$.b') $input.path('$')":                                               "1e400 99999999999999999999 {a=1e400, b=99999999999999999999, c=-1E+400, d=1.5}",
		"#set($b = $input.path('$.b'))#if($b > 1)GT#end #if($b == $b)EQ#end #if($input.path('$.c') < 0)LT#end": "GT EQ LT",
		"$util.parseJson('[1e400]') $util.parseJson('{\"x\": 99999999999999999999}').x":                        "[1e400] 99999999999999999999",
	} {
		tm, err := Parse("t", tmpl)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tm.RenderString(context.Background(), &Vars{Body: []byte(body)})
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", tmpl, got, err, want)
		}
	}
}
