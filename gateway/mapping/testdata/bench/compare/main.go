// Command compare renders the mapping templates of testdata/bench/cases.json
// (templates from API Gateway's developer guide and console, each with its
// input) with Portico's engine and with velocityjs on node, and reports the
// CPU time per render of each and their ratio (make bench-mapping).
//
// Both sides are measured the same way: each template is parsed once, both
// are warmed up first (velocityjs in a node process of its own for each
// template), and then, in every round, both render the same
// template with the same input the same number of times, one after the other
// (Go first in odd rounds, node first in even ones), each timing its batch in
// its own process's CPU time (getrusage here, process.cpuUsage in node: user
// and system time of all threads, so garbage collection included). A round's
// ratio compares two batches that ran seconds apart, so a change in the
// machine's load touches both; the median over the rounds is the figure.
//
// Usage (from the repository root, after velocityjs.sh installed velocityjs):
//
//	go run ./gateway/mapping/testdata/bench/compare [-rounds 9] [-batch 150ms] [-case name]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portico-dev/portico/gateway/mapping"
)

// benchCase is one entry of cases.json.
type benchCase struct {
	Name           string            `json:"name"`
	About          string            `json:"about"`
	Template       string            `json:"template"`
	Body           string            `json:"body"`
	BodyFile       string            `json:"bodyFile"`
	Path           map[string]string `json:"path"`
	Query          map[string]string `json:"query"`
	Headers        map[string]string `json:"headers"`
	StageVariables map[string]string `json:"stageVariables"`
	Context        map[string]any    `json:"context"`

	tm   *mapping.Template
	body []byte
	ctx  contextPlan
	v    mapping.Vars // the request's variables, filled per render
}

// contextPlan is how $context is filled: the top level's strings in one
// run and each map of strings in one, as the gateway's MappingContext does.
type contextPlan struct {
	strs  []string // keys and values in turn
	names []string // the maps' names
	maps  [][]string
}

func planContext(m map[string]any) (contextPlan, error) {
	var p contextPlan
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch x := m[k].(type) {
		case string:
			p.strs = append(p.strs, k, x)
		case map[string]any:
			var kv []string
			for _, sk := range slices.Sorted(maps.Keys(x)) {
				s, ok := x[sk].(string)
				if !ok {
					return p, fmt.Errorf("context.%s.%s: only strings are supported", k, sk)
				}
				kv = append(kv, sk, s)
			}
			p.names, p.maps = append(p.names, k), append(p.maps, kv)
		default:
			return p, fmt.Errorf("context.%s: only strings and maps of strings are supported", k)
		}
	}
	return p, nil
}

// BuildContext builds the request's $context, as the gateway does per
// request when a template reads it.
func (p *contextPlan) BuildContext() *mapping.Map {
	ctx := mapping.NewContextSize(len(p.strs)/2 + len(p.names))
	ctx.SetStrings(p.strs...)
	for i, name := range p.names {
		ctx.SetStringMap(name, p.maps[i]...)
	}
	return ctx
}

// vars fills the request's variables afresh, as the gateway does per
// request in the request's own storage (its integration request): $context
// is built (per render here) by the first template that reads it.
func (c *benchCase) vars() *mapping.Vars {
	c.v = mapping.Vars{Body: c.body, PathParams: c.Path, QueryParams: c.Query, Headers: c.Headers,
		StageVariables: c.StageVariables, ContextBuilder: &c.ctx}
	return &c.v
}

// run renders n times and returns the CPU time the process used meanwhile.
func (c *benchCase) run(n int) (time.Duration, error) {
	cpu0 := cpuTime()
	for range n {
		if err := c.tm.Render(context.Background(), c.vars(), io.Discard); err != nil {
			return 0, err
		}
	}
	return cpuTime() - cpu0, nil
}

// node is the velocityjs process, driven one JSON line at a time.
type node struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func (n *node) call(req, res any) error {
	line, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := n.in.Write(append(line, '\n')); err != nil {
		return err
	}
	reply, err := n.out.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("velocityjs: %w", err)
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(reply, &e) == nil && e.Error != "" {
		return errors.New("velocityjs: " + e.Error)
	}
	return json.Unmarshal(reply, res)
}

type runReply struct {
	CPUMicros float64 `json:"cpuUs"`
}

func (n *node) run(name string, count int) (time.Duration, error) {
	var r runReply
	err := n.call(map[string]any{"op": "run", "case": name, "n": count}, &r)
	return time.Duration(r.CPUMicros * float64(time.Microsecond)), err
}

func main() {
	dir := flag.String("dir", "gateway/mapping/testdata/bench", "directory of cases.json and velocityjs-bench.js")
	rounds := flag.Int("rounds", 9, "interleaved rounds per template")
	batch := flag.Duration("batch", 150*time.Millisecond, "velocityjs CPU time per batch; sets the renders per batch of both sides")
	only := flag.String("case", "", "run only the template of this name")
	flag.Parse()
	if err := compare(*dir, *rounds, *batch, *only); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func compare(dir string, rounds int, batch time.Duration, only string) error {
	if cpuTime() == 0 {
		fmt.Println("velocityjs comparison skipped: no process CPU time on this platform")
		return nil
	}
	if _, err := exec.LookPath("node"); err != nil {
		fmt.Println("velocityjs comparison skipped: node is not installed")
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "velocityjs")); err != nil {
		fmt.Println("velocityjs comparison skipped: velocityjs is not installed (run velocityjs.sh)")
		return nil
	}
	cases, err := load(dir, only)
	if err != nil {
		return err
	}

	js, err := startNode(dir)
	if err != nil {
		return err
	}
	var ver struct{ Velocityjs, Node string }
	err = js.call(map[string]string{"op": "version"}, &ver)
	js.close()
	if err != nil {
		return err
	}
	fmt.Printf("Portico (%s, GOMAXPROCS %d) against velocityjs %s (node %s): CPU time per render, %d interleaved rounds, load average %s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), ver.Velocityjs, ver.Node, rounds, loadavg())

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "template\trenders/batch\tGo µs/render\tvelocityjs µs/render\tratio (median)\tratio per round\toutput\t")
	start := time.Now()
	var notes []string
	for _, c := range cases {
		// A node process per template: velocityjs's JIT then compiles for
		// that template alone, its fastest case.
		js, err := startNode(dir)
		if err != nil {
			return err
		}
		row, note, err := measure(c, js, rounds, batch)
		js.close()
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		fmt.Fprint(tw, row)
		if note != "" {
			notes = append(notes, note)
		}
	}
	_ = tw.Flush()
	for _, n := range notes {
		fmt.Println(n)
	}
	fmt.Printf("%.1fs, load average %s\n", time.Since(start).Seconds(), loadavg())
	return nil
}

// measure compares the two engines on c over rounds and returns the table
// row and, when the outputs differ, a note saying where.
func measure(c *benchCase, js *node, rounds int, batch time.Duration) (row, note string, err error) {
	// Same output from both, or the comparison is of different work.
	goOut, err := c.tm.RenderString(context.Background(), c.vars())
	if err != nil {
		return "", "", err
	}
	var jsOut struct{ Out string }
	if err := js.call(map[string]string{"op": "render", "case": c.Name}, &jsOut); err != nil {
		return "", "", err
	}
	same := "same"
	if goOut != jsOut.Out {
		same = "differs"
		note = c.Name + " output differs " + firstDiff(goOut, jsOut.Out)
	}

	n, err := warm(c, js, batch)
	if err != nil {
		return "", "", err
	}
	goUs := make([]float64, 0, rounds)
	jsUs := make([]float64, 0, rounds)
	ratios := make([]float64, 0, rounds)
	for r := range rounds {
		var g, j time.Duration
		if r%2 == 0 {
			if g, err = c.run(n); err == nil {
				j, err = js.run(c.Name, n)
			}
		} else {
			if j, err = js.run(c.Name, n); err == nil {
				g, err = c.run(n)
			}
		}
		if err != nil {
			return "", "", err
		}
		gu := float64(g) / float64(time.Microsecond) / float64(n)
		ju := float64(j) / float64(time.Microsecond) / float64(n)
		goUs, jsUs = append(goUs, gu), append(jsUs, ju)
		if gu > 0 {
			ratios = append(ratios, ju/gu)
		}
	}
	per := make([]string, len(ratios))
	for i, r := range ratios {
		per[i] = fmt.Sprintf("%.1f", r)
	}
	row = fmt.Sprintf("%s\t%d\t%.2f\t%.1f\t%.1fx\t%s\t%s\t\n", c.Name, n, median(goUs), median(jsUs), median(ratios), strings.Join(per, " "), same)
	return row, note, nil
}

// startNode starts velocityjs-bench.js.
func startNode(dir string) (*node, error) {
	cmd := exec.Command("node", filepath.Join(dir, "velocityjs-bench.js"))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &node{cmd: cmd, in: in, out: bufio.NewReaderSize(stdout, 1<<20)}, nil
}

// close ends the node process (it exits when its input closes).
func (n *node) close() {
	_ = n.in.Close()
	_ = n.cmd.Wait()
}

// warm runs velocityjs for two batches of CPU time and at least 2,000
// renders (node's JIT has compiled the hot paths by then) and Go for a
// quarter of a batch, and returns the
// renders per batch: enough for velocityjs to spend batch on them.
func warm(c *benchCase, js *node, batch time.Duration) (int, error) {
	n, spent := 50, time.Duration(0)
	var per time.Duration
	for total := 0; spent < 2*batch || total < 2000; total += n {
		d, err := js.run(c.Name, n)
		if err != nil {
			return 0, err
		}
		spent += d
		per = d / time.Duration(n)
		if d < batch/4 && n < 1<<16 {
			n *= 2
		}
	}
	count := 100
	if per > 0 {
		count = max(int(batch/per), 20)
	}
	for spent = 0; spent < batch/4; {
		d, err := c.run(count)
		if err != nil {
			return 0, err
		}
		spent += d
	}
	return count, nil
}

func load(dir, only string) ([]*benchCase, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		return nil, err
	}
	var m struct{ Cases []*benchCase }
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("cases.json: %w", err)
	}
	var out []*benchCase
	for _, c := range m.Cases {
		if only != "" && c.Name != only {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, c.Template))
		if err != nil {
			return nil, err
		}
		if c.tm, err = mapping.Parse(c.Name, string(src)); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		c.body = []byte(c.Body)
		if c.BodyFile != "" {
			if c.body, err = os.ReadFile(filepath.Join(dir, c.BodyFile)); err != nil {
				return nil, err
			}
		}
		if c.ctx, err = planContext(c.Context); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no case named %q", only)
	}
	return out, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// firstDiff shows where two outputs part.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	clip := func(s string) string {
		s = s[i:min(len(s), i+30)]
		return strings.ReplaceAll(s, "\n", `\n`)
	}
	return fmt.Sprintf("at byte %d: Go %q, velocityjs %q", i, clip(a), clip(b))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return "unknown"
	}
	return string(bytes.Join(f[:3], []byte(" ")))
}
