package mapping

import (
	"context"
	"strconv"
	"testing"
)

// TestContextMapsIndexedWhenTemplatesGrowThem: $context and its override
// maps, built unindexed, are indexed once a template's writes of new keys
// make them large, as plain maps are: each write no longer searches every
// key written before (n writes cost n², one step each, so a render of
// 300,000 keys held the CPU for minutes within its step budget). The values
// written read back and reach the overrides.
func TestContextMapsIndexedWhenTemplatesGrowThem(t *testing.T) {
	const n = 2000
	tpl, err := Parse("t", `#foreach($a in [0..1])#foreach($b in [1..`+strconv.Itoa(n/2)+`])#set($i = $a * `+strconv.Itoa(n/2)+` + $b)#set($k = "q$i")#set($context[$k] = "v$i")`+
		`#set($context.requestOverride.querystring[$k] = "v$i")#set($context.requestOverride.header[$k] = "v$i")#end#end`+
		`$context.q1 $context.q2000 $context.requestOverride.querystring.q77`)
	if err != nil {
		t.Fatal(err)
	}
	v := &Vars{}
	out, err := tpl.RenderString(context.Background(), v)
	if err != nil || out != "v1 v2000 v77" {
		t.Fatalf("render: %q, %v", out, err)
	}
	root := v.Context
	ro, _ := root.Get("requestOverride")
	qs, _ := ro.(*Map).Get("querystring")
	hdr, _ := ro.(*Map).Get("header")
	for name, m := range map[string]*Map{"$context": root, "querystring": qs.(*Map), "header": hdr.(*Map)} {
		if m.index == nil || len(m.index) != m.Len() {
			t.Errorf("%s: %d keys, index %v: want every key indexed", name, m.Len(), m.index != nil)
		}
	}
	h, q, _ := v.RequestOverride()
	if len(h) != n || len(q) != n || q["q1999"] != "v1999" {
		t.Errorf("overrides: %d headers, %d query parameters, q1999 %q", len(h), len(q), q["q1999"])
	}
}

// TestSmallContextNotIndexed: $context as NewContext builds it, and a few
// writes, stay unindexed (an index per request would cost allocations).
func TestSmallContextNotIndexed(t *testing.T) {
	m := NewContext()
	m.SetPath("requestOverride.header.X", "x")
	for i := range contextIndexAfter - 10 {
		m.Set("k"+strconv.Itoa(i), "v")
	}
	if m.index != nil {
		t.Errorf("$context of %d keys indexed", m.Len())
	}
}
