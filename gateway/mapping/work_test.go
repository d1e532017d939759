package mapping

import (
	"context"
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
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "more than 5000000 evaluation steps") {
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
