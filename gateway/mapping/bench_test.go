package mapping

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkRenderTypical renders testdata/bench/template.vtl, a typical
// 22-line request template ($input.json, #foreach over 100 items,
// $util.escapeJavaScript), for a fresh request each time: the body is decoded
// and $context built per render, as the gateway will. The same template and
// body run in velocityjs with testdata/bench/velocityjs.sh (make bench).
func BenchmarkRenderTypical(b *testing.B) {
	src, err := os.ReadFile("testdata/bench/template.vtl")
	if err != nil {
		b.Fatal(err)
	}
	body, err := os.ReadFile("testdata/bench/body.json")
	if err != nil {
		b.Fatal(err)
	}
	tm, err := Parse("application/json", string(src))
	if err != nil {
		b.Fatal(err)
	}
	headers := map[string]string{"Authorization": "Bearer abc", "Content-Type": "application/json"}
	vars := func() *Vars {
		ctx := NewContext()
		ctx.SetPath("requestId", "r-1")
		ctx.SetPath("stage", "prod")
		ctx.SetPath("identity.sourceIp", "1.2.3.4")
		return &Vars{Body: body, Headers: headers, Context: ctx}
	}
	out, err := tm.RenderString(context.Background(), vars())
	if err != nil {
		b.Fatal(err)
	}
	var parsed struct {
		Items []map[string]any `json:"items"`
		Count int              `json:"count"`
	}
	if err := json.Unmarshal([]byte(out), &parsed); err != nil || parsed.Count != 100 || len(parsed.Items) != 100 || !strings.Contains(out, `Widget \"3\" \/ size L`) {
		b.Fatalf("unexpected output (%v):\n%s", err, out)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := tm.Render(context.Background(), vars(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cpuTime()-cpu0)
}

// BenchmarkParseTypical parses the same template (once per deployment).
func BenchmarkParseTypical(b *testing.B) {
	src, err := os.ReadFile("testdata/bench/template.vtl")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("application/json", string(src)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderTypicalPredecoded renders the same template with one Vars
// reused and its body decoded once, before: the cost of the template alone.
func BenchmarkRenderTypicalPredecoded(b *testing.B) {
	src, _ := os.ReadFile("testdata/bench/template.vtl")
	body, _ := os.ReadFile("testdata/bench/body.json")
	tm, err := Parse("application/json", string(src))
	if err != nil {
		b.Fatal(err)
	}
	ctx := NewContext()
	ctx.SetPath("requestId", "r-1")
	doc, err := decodeJSON(body)
	if err != nil {
		b.Fatal(err)
	}
	v := &Vars{Body: body, Headers: map[string]string{"Authorization": "Bearer abc"}, Context: ctx, predecoded: doc}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := tm.Render(context.Background(), v, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cpuTime()-cpu0)
}

// reportRates reports renders per second of wall time and, where the
// platform measures it, per second of the process's CPU time (which the
// velocityjs script reports too).
func reportRates(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "renders/cpu-s")
	}
}

// BenchmarkDocTemplates renders each template of testdata/bench/cases.json
// (the guide's and the console's templates that make bench-mapping compares
// with velocityjs) with its input, building the request's variables per
// render as the gateway does.
func BenchmarkDocTemplates(b *testing.B) {
	raw, err := os.ReadFile("testdata/bench/cases.json")
	if err != nil {
		b.Fatal(err)
	}
	var m struct {
		Cases []struct {
			Name, Template, Body, BodyFile string
			Path, Query, Headers           map[string]string
			StageVariables                 map[string]string
			Context                        map[string]any
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	for _, c := range m.Cases {
		b.Run(c.Name, func(b *testing.B) {
			src, err := os.ReadFile("testdata/bench/" + c.Template)
			if err != nil {
				b.Fatal(err)
			}
			body := []byte(c.Body)
			if c.BodyFile != "" {
				if body, err = os.ReadFile("testdata/bench/" + c.BodyFile); err != nil {
					b.Fatal(err)
				}
			}
			tm, err := Parse(c.Name, string(src))
			if err != nil {
				b.Fatal(err)
			}
			// $context as the gateway's MappingContext fills it (the
			// top level's strings in one run, each map of strings in
			// one), when the template first reads it.
			var bc benchContext
			for _, k := range slices.Sorted(maps.Keys(c.Context)) {
				switch x := c.Context[k].(type) {
				case string:
					bc.strs = append(bc.strs, k, x)
				case map[string]any:
					var kv []string
					for _, sk := range slices.Sorted(maps.Keys(x)) {
						kv = append(kv, sk, x[sk].(string))
					}
					bc.names, bc.runs = append(bc.names, k), append(bc.runs, kv)
				}
			}
			b.ReportAllocs()
			v := new(Vars) // filled per render, as the gateway does in the request's storage
			cpu0 := cpuTime()
			for b.Loop() {
				*v = Vars{Body: body, PathParams: c.Path, QueryParams: c.Query, Headers: c.Headers, StageVariables: c.StageVariables, ContextBuilder: &bc}
				if err := tm.Render(context.Background(), v, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			reportRates(b, cpuTime()-cpu0)
		})
	}
}

// benchContext builds a request's $context as the gateway does: per
// request, when a template first reads it.
type benchContext struct {
	strs, names []string
	runs        [][]string
}

func (c *benchContext) BuildContext() *Map {
	ctx := NewContextSize(len(c.strs)/2 + len(c.names))
	ctx.SetStrings(c.strs...)
	for i, name := range c.names {
		ctx.SetStringMap(name, c.runs[i]...)
	}
	return ctx
}
