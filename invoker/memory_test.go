package invoker

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/portico-dev/portico/functions"
)

// TestFirstReportShowsInvocationPeak: the REPORT line of a sandbox's first
// (cold) invocation shows the memory the invocation used, not the memory the
// sandbox had after its init.
func TestFirstReportShowsInvocationPeak(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "alloc", MemorySize: 1024})
	res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"allocMB":200}`), LogTail: true})
	if err != nil || res.FunctionError != "" {
		t.Fatalf("invoke: %v %s", err, res.Payload)
	}
	m := regexp.MustCompile(`Max Memory Used: (\d+) MB`).FindSubmatch(res.LogTail)
	if m == nil {
		t.Fatalf("no REPORT line with Max Memory Used in the tail:\n%s", res.LogTail)
	}
	if mb, _ := strconv.Atoi(string(m[1])); mb < 200 {
		t.Fatalf("first invocation's REPORT says Max Memory Used: %d MB; the handler allocated 200 MB", mb)
	}
}
