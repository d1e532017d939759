package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// TestEventOverPayloadLimitIsLogged: a function event the invoker refuses
// as over the function's payload limit (an AWS integration's template made
// it larger than the client's request) answers 413 as before, and the log
// says why at warn level with the event's size: the client's request was
// within the gateway's limits, so its owner has only the log to go by.
func TestEventOverPayloadLimitIsLogged(t *testing.T) {
	e := newEnv(t)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		return nil, fmt.Errorf("payload of %d bytes: %w", len(req.Payload), errdefs.ErrTooLarge)
	}
	a := &apis.API{Name: "big", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/big", Integration: &apis.Integration{Type: apis.IntegrationAWS, URI: "function:probe",
			RequestTemplates: map[string]string{"application/json": `{"a": "$input.body$input.body"}`}}},
	}}}
	id := e.deploy(a, "dev", nil)
	resp := e.do("POST", "/"+id+"/dev/big", strings.NewReader(`{}`))
	if resp.status != 413 {
		t.Fatalf("got %d %s, want 413", resp.status, resp.body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "function event over the function's payload limit") ||
		!strings.Contains(logs, "eventBytes=") {
		t.Errorf("the log does not say why:\n%s", logs)
	}
}

// TestHTTPAPIEventOverLimitLogsTheRequestID guards r-httpapi29's finding 6:
// on an HTTP API the warn line names the request id the client sees
// (apigw-requestid, also its x-amzn-RequestId), whether the invoker refused
// the event or the body's Content-Length was over the limit already (which
// logged nothing before).
func TestHTTPAPIEventOverLimitLogsTheRequestID(t *testing.T) {
	e := newEnv(t)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		return nil, fmt.Errorf("payload of %d bytes: %w", len(req.Payload), errdefs.ErrTooLarge)
	}
	a := &apis.API{Name: "big", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/big", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:probe", PayloadFormatVersion: "2.0"}},
	}}}
	id := e.deploy(a, "dev", nil)
	for _, c := range []struct {
		name string
		body string
		hdr  []string
		attr string
	}{
		{"invoker refuses the event", `{}`, nil, "eventBytes="},
		{"content-length over the limit", strings.Repeat("a", int(proxyEventLimit)+1), []string{"Expect", "100-continue"}, "contentLength="},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(e.logs.String())
			resp := e.do("POST", "/"+id+"/dev/big", strings.NewReader(c.body), c.hdr...)
			if resp.status != 413 {
				t.Fatalf("got %d %s, want 413", resp.status, resp.body)
			}
			rid := resp.header.Get("Apigw-Requestid")
			if rid == "" || resp.header.Get("x-amzn-RequestId") != rid {
				t.Fatalf("ids: apigw-requestid %q, x-amzn-RequestId %q", rid, resp.header.Get("x-amzn-RequestId"))
			}
			logs := e.logs.String()[before:]
			if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "function event over the function's payload limit") ||
				!strings.Contains(logs, c.attr) || !strings.Contains(logs, "requestId="+strconv.Quote(rid)) && !strings.Contains(logs, "requestId="+rid+" ") {
				t.Errorf("the log does not name request %s:\n%s", rid, logs)
			}
		})
	}
}
