package gateway

import (
	"context"
	"math"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/tracing"
)

// TestTracingOffCostsNothing: with the tracing stage in the pipeline but the
// stage's tracingEnabled off, a request allocates exactly what it does without
// the stage; turned on, the same request makes its spans.
func TestTracingOffCostsNothing(t *testing.T) {
	gw, stagePath := benchDeploy(t, "127.0.0.1:0", mockAPI(), nil)
	path := stagePath + "/mock"
	allocs := func() float64 {
		if rec := serveOnce(gw, path); rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		// The least of a few runs: goroutines of the process that allocate
		// meanwhile (the race detector's, the store's) only ever add.
		least := math.Inf(1)
		for range 5 {
			least = min(least, testing.AllocsPerRun(100, func() { serveOnce(gw, path) }))
		}
		return least
	}
	without := allocs()
	rec := tracetest.NewSpanRecorder()
	gw.Use(tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	if with := allocs(); with != without {
		t.Errorf("a request allocates %v times with the tracing stage off, %v without the stage", with, without)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("tracing off made %d spans", n)
	}
	apiID := stagePath[1:11]
	on := true
	if _, err := gw.apis.UpdateStage(context.Background(), apiID, "bench", apis.StagePatch{TracingEnabled: &on}); err != nil {
		t.Fatal(err)
	}
	serveOnce(gw, path)
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	if len(names) != 2 || names[0] != "integration MOCK" || names[1] != "GET /mock" {
		t.Errorf("tracing on made spans %q, want the integration's and the request's", names)
	}
}
