package gateway

import (
	"fmt"
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
