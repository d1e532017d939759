package invoker

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"weak"
)

// TestIdleSandboxHoldsNoResult checks that a sandbox back in next, idle, keeps
// nothing of the invocation it last ran: once its caller has the Result, the
// payload is the caller's alone (and the garbage collector's once the caller
// drops it), however long the sandbox then stays idle. A caller with a client
// to answer (Request.Answer) whose result is too big to answer inline, and a
// plain caller.
func TestIdleSandboxHoldsNoResult(t *testing.T) {
	big := `"` + strings.Repeat("x", 1<<20) + `"`
	cases := []struct {
		name string
		// call starts a call whose invocation the next on c gets, and
		// returns the caller's result and the invocation's id.
		call func(t *testing.T, ce *clientEnv, c *rapiClient) (<-chan *Result, string)
	}{
		{"a caller with a client to answer", func(t *testing.T, ce *clientEnv, c *rapiClient) (<-chan *Result, string) {
			return ce.deliverParked(t, c, `{"n":1}`, newTestAnswer(t, true))
		}},
		{"a plain caller", func(t *testing.T, ce *clientEnv, c *rapiClient) (<-chan *Result, string) {
			res := ce.call(t, `{"n":1}`)
			resp, body := c.read(t)
			if resp.StatusCode != http.StatusOK || body != `{"n":1}` {
				t.Fatalf("next: %d %s", resp.StatusCode, body)
			}
			return res, resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ce := newClientEnv(t)
			c := ce.poll(t)
			res, id := tc.call(t, ce, c)
			c.respond(t, id, big)
			held := func() weak.Pointer[byte] {
				r := <-res
				if r == nil || len(r.Payload) != len(big) {
					t.Fatalf("the caller got %+v", r)
				}
				return weak.Make(&r.Payload[0])
			}()
			// The runtime is back in next: the sandbox is idle.
			c.send(t, http.MethodGet, pathNext, "")
			waitFor(t, "the sandbox idle", func() bool {
				ce.sb.mu.Lock()
				defer ce.sb.mu.Unlock()
				return ce.sb.state == stIdle
			})
			runtime.GC()
			runtime.GC()
			if held.Value() != nil {
				t.Fatal("the idle sandbox still holds its last result's payload")
			}
		})
	}
}
