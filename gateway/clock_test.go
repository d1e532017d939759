package gateway

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/metrics"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// wallSetBack returns the reading time.Now would give at r's instant had the
// system clock been set back by d (whole seconds) before: a wall reading d
// earlier than r's, r's monotonic reading. time's API builds no such reading
// (Add moves both), so it is built from time.Time's layout (src/time/time.go:
// with a monotonic reading, wall holds the seconds since 1885 above 30 bits of
// nanoseconds), and checked through the API before it is used.
func wallSetBack(t *testing.T, r time.Time, d time.Duration) time.Time {
	t.Helper()
	type layout struct {
		wall uint64
		ext  int64
		loc  *time.Location
	}
	const hasMonotonic, nsecShift = 1 << 63, 30
	if d <= 0 || d%time.Second != 0 || !strings.Contains(r.String(), " m=") {
		t.Fatalf("wallSetBack(%v, %v): want a reading with a monotonic reading and whole seconds", r, d)
	}
	out := r
	l := (*layout)(unsafe.Pointer(&out))
	if l.wall&hasMonotonic == 0 {
		t.Fatal("wallSetBack: time.Time's layout is not the one assumed")
	}
	l.wall -= uint64(d/time.Second) << nsecShift
	if !out.Round(0).Equal(r.Round(0).Add(-d)) || out.Sub(r) != 0 || !strings.Contains(out.String(), " m=") {
		t.Fatalf("wallSetBack: time.Time's layout is not the one assumed: %v from %v", out, r)
	}
	return out
}

// clockOf returns a clock that gives readings in turn, then the last again.
func clockOf(readings ...time.Time) func() time.Time {
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		r := readings[0]
		if len(readings) > 1 {
			readings = readings[1:]
		}
		return r
	}
}

// latencyRecorder is a pipeline stage that records the integration latency the
// stages inside it measured.
type latencyRecorder struct {
	mu  sync.Mutex
	got []time.Duration
}

func (*latencyRecorder) Name() string { return "latency recorder" }
func (*latencyRecorder) Order() int   { return pipeline.OrderCache }
func (s *latencyRecorder) Compile(*pipeline.Deployed) (pipeline.Middleware, error) {
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			err := next.ServeRequest(w, r, c)
			s.mu.Lock()
			s.got = append(s.got, c.IntegrationLatency)
			s.mu.Unlock()
			return err
		})
	}, nil
}

// TestLatenciesFollowTheMonotonicClock runs a request while the wall clock is
// set back an hour: the gateway's clock reads the request's arrival and the
// integration's start, then (5 ms later on the monotonic clock) its end with
// the wall an hour behind; the metrics stage reads the answer 9 ms after the
// arrival, also with the wall set back. IntegrationLatency and the metrics'
// latency are the monotonic differences, not an hour less; requestTime is the
// arrival's wall reading in UTC.
func TestLatenciesFollowTheMonotonicClock(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	ms, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &latencyRecorder{}
	e.gw.Use(ms, rec)
	id := e.deploy(helloAPI(apis.ProtocolREST), "prod", map[string]string{"alias": "live"})

	arrival := time.Now()
	e.gw.SetClock(clockOf(arrival, arrival, wallSetBack(t, arrival.Add(5*time.Millisecond), time.Hour)))
	ms.SetClock(clockOf(wallSetBack(t, arrival.Add(9*time.Millisecond), time.Hour)))
	if r := e.do("GET", "/"+id+"/prod/hello", nil); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}

	if len(rec.got) != 1 || rec.got[0] != 5*time.Millisecond {
		t.Errorf("IntegrationLatency %v, want [5ms]", rec.got)
	}
	if count, sum := latencySample(t, reg); count != 1 || math.Abs(sum-0.009) > 1e-9 {
		t.Errorf("metrics latency: %d samples summing %vs, want one of 0.009s", count, sum)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(e.inv.last().Payload, &ev); err != nil {
		t.Fatal(err)
	}
	want := arrival.UTC().Format("02/Jan/2006:15:04:05 +0000")
	if ev.RequestContext.RequestTime != want || ev.RequestContext.RequestTimeEpoch != arrival.UnixMilli() {
		t.Errorf("requestTime %q (%d), want %q (%d)", ev.RequestContext.RequestTime, ev.RequestContext.RequestTimeEpoch, want, arrival.UnixMilli())
	}
}

// TestDefaultClockKeepsTheMonotonicReading runs a request on the gateway's own
// clock while the metrics stage reads the answer with the wall clock set back
// an hour: the stage measures its latency from the request's RequestTime, which
// must keep time.Now's monotonic reading for the latency not to be an hour
// less than nothing.
func TestDefaultClockKeepsTheMonotonicReading(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	ms, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	e.gw.Use(ms)
	ms.SetClock(func() time.Time { return wallSetBack(t, time.Now(), time.Hour) })
	id := e.deploy(helloAPI(apis.ProtocolREST), "prod", map[string]string{"alias": "live"})
	if r := e.do("GET", "/"+id+"/prod/hello", nil); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	count, sum := latencySample(t, reg)
	if count != 1 || sum < 0 || sum >= time.Hour.Seconds()/2 {
		t.Errorf("metrics latency: %d samples summing %vs, want one, neither negative nor near the hour the wall clock moved", count, sum)
	}
}

// latencySample returns the count and sum of portico_api_latency_seconds.
func latencySample(t *testing.T, reg *prometheus.Registry) (count uint64, sum float64) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "portico_api_latency_seconds" {
			for _, m := range f.GetMetric() {
				count += m.GetHistogram().GetSampleCount()
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return count, sum
}

// TestRequestTimeFormattedInUTC stamps a request with a clock whose readings
// are in another zone than UTC (as time.Now's are, in Local): the REST event
// and $context.requestTime of a MOCK integration's response template say UTC.
func TestRequestTimeFormattedInUTC(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2026, 12, 1, 1, 2, 3, 0, time.FixedZone("UTC+5", 5*3600))
	e.gw.SetClock(func() time.Time { return at })
	const want = "30/Nov/2026:20:02:03 +0000"
	id := e.deploy(&apis.API{Name: "t", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/event", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1", HTTPMethod: "POST"}},
		{Method: "GET", Path: "/mock", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200",
				ResponseTemplates: map[string]string{"application/json": `$context.requestTime`}}}}},
	}}}, "prod", nil)
	if r := e.do("GET", "/"+id+"/prod/mock", nil); r.status != 200 || r.body != want {
		t.Errorf("$context.requestTime: %d %q, want %q", r.status, r.body, want)
	}
	if r := e.do("GET", "/"+id+"/prod/event", nil); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(e.inv.last().Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.RequestContext.RequestTime != want {
		t.Errorf("event requestTime %q, want %q", ev.RequestContext.RequestTime, want)
	}
}
