package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/client"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestInvokeWaitingNoticeNamesTheFunction: `portico invoke` of a function
// still running past its expected end says it waits for the function's
// answer, with its timeout, not for the admin API as if the server did not
// answer (the faults22 tester's finding 4).
func TestInvokeWaitingNoticeNamesTheFunction(t *testing.T) {
	for _, c := range []struct {
		status int
		want   string
	}{
		{http.StatusOK, "portico: still waiting for slow:live's answer (7s; its timeout is 5s, and a call may wait up to 29s for a sandbox first)...\n"},
		{http.StatusInternalServerError, "portico: still waiting for slow:live's answer (7s)...\n"},
	} {
		cl := client.New("http://admin.invalid", "")
		cl.HTTP = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if !strings.HasSuffix(r.URL.Path, "/configuration") {
				t.Errorf("unexpected call %s %s", r.Method, r.URL.Path)
			}
			return &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
				Body: io.NopCloser(strings.NewReader(`{"FunctionName":"slow","Timeout":5}`))}, nil
		})}
		var out bytes.Buffer
		invokeWait(context.Background(), cl, "slow:live", &out)
		if cl.Waiting == nil {
			t.Fatal("no waiting notice set")
		}
		cl.Waiting(http.MethodPost, client.FunctionPath("slow:live", "/invocations"), 7*time.Second)
		if out.String() != c.want {
			t.Errorf("status %d: notice %q, want %q", c.status, out.String(), c.want)
		}
	}
}
