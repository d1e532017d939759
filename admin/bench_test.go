package admin_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/latency"
)

// BenchmarkAdminInvoke measures warm Invoke calls of the hello sample through
// the admin API of the whole server started in-process (process runtime), one
// after another on one keep-alive connection, as section D of the side-by-side
// run calls it: the client's request, the Runtime API round trip, the answer.
// p50/p99 in µs; B/op and allocs/op are the test process's (server and client).
func BenchmarkAdminInvoke(b *testing.B) {
	env := apptest.Start(b, apptest.Options{})
	createHello(b, b.Context(), sdk(env), "hello", "bench")
	url := env.AdminURL + "/2015-03-31/functions/hello/invocations"
	c := &http.Client{}
	call := func() {
		resp, err := c.Post(url, "application/json", bytes.NewReader([]byte(`{"path":"/bench"}`)))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("Invoke: %d", resp.StatusCode)
		}
	}
	for range 200 {
		call()
	}
	var rec latency.Recorder
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec.Time(call)
	}
	rec.Report(b, "")
}
