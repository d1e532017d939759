package invoker

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/shutdown"
)

// TestDrainCutSaysWhatCallersGot is what the store3 tester found: a stop
// whose drain cut a call off exited saying "their callers were answered
// 503", but a gateway route's caller gets API Gateway's 500 {"message":
// "Internal server error"} (as API Gateway answers a Lambda service error);
// only Lambda Invoke's caller gets the 503 ServiceException. The stop's
// account of the cut says both, and (the ops11 tester's) an HTTP API's
// spelling of the 500 beside the REST one.
func TestDrainCutSaysWhatCallersGot(t *testing.T) {
	e := newEnv(t, nil)
	fn := e.fns.add(&functions.Config{FunctionName: "long", Timeout: 60})
	pid := filepath.Join(t.TempDir(), "pid")
	got := make(chan error, 1)
	go func() {
		_, err := e.inv.Invoke(context.Background(), Request{Function: fn,
			Payload: []byte(`{"waitFile":"` + filepath.Join(t.TempDir(), "never") + `","pidFile":"` + pid + `"}`)})
		got <- err
	}()
	waitForFile(t, pid)
	drain := e.inv.p.Config.DrainTimeout
	drainEnds := e.clock.expectTimer(drain)
	stop, cancel := shutdown.WithGrace(context.Background(), 30*time.Second, 10*time.Second)
	defer cancel()
	if err := e.inv.BeginDrain(stop); err != nil {
		t.Fatal(err)
	}
	drainEnds(t)
	e.clock.Advance(drain)
	<-got
	if err := e.inv.Stop(stop); err != nil {
		t.Fatal(err)
	}
	_ = e.st.Close()
	e.inv = nil // stopped: the cleanup has nothing left to stop
	cuts := shutdown.Cuts(stop)
	if len(cuts) != 1 {
		t.Fatalf("cuts = %+v, want the one call", cuts)
	}
	for _, want := range []string{"1 invocation(s) still running", "503 ServiceException",
		`500: {"message": "Internal server error"} on REST APIs`, `{"message":"Internal Server Error"} on HTTP APIs`} {
		if !strings.Contains(cuts[0].What, want) {
			t.Errorf("the cut reads %q; want it to say %q", cuts[0].What, want)
		}
	}
}
