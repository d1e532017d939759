// Command authfn is a test function for the authorize stage's end-to-end tests,
// an unmodified aws-lambda-go handler. As a TOKEN authorizer the token says what
// to answer (raw:JSON answers JSON as it is; allow, trace, allow-get, allow-but-secret, deny, deny-why, spoof, unauthorized, sleep, garbage, nopolicy,
// badcontext; nopol-uik, garbage-uik, fail-uik: malformed answers and a failure carrying
// AUTHFN_UIK and ContextProbe), or, with AUTHFN_REFUSE_ALL set, refuses every token; as a REQUEST authorizer it allows, naming the X-User header, the
// tenant query parameter, its event's resourceId and identity.clientCert; as an integration it echoes its event (a
// WebSocket message "trace" gets the trace the call ran under; a $connect
// authorizer's context has it too). Authorizer
// answers carry "calls", how many authorizer events this sandbox has seen, so
// that tests can tell a cached answer from a fresh one.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

var calls int

// ContextProbe is the context value the *-uik answers carry, which no log
// line may show.
const ContextProbe = "CTXPROBE-7f3a9c"

func policy(effect, resource string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
		{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource}},
	}}
}

func handle(_ context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Type      string `json:"type"`
		Version   string `json:"version"`
		MethodArn string `json:"methodArn"`
	}
	_ = json.Unmarshal(raw, &probe)
	if probe.Type == "REQUEST" && probe.Version == "2.0" {
		// An HTTP API authorizer with simple responses (noanswer-uik, garbage-uik and fail-uik
		// answer wrongly, with AUTHFN_UIK and ContextProbe; raw:JSON answers JSON as it is).
		calls++
		var ev events.APIGatewayV2CustomAuthorizerV2Request
		_ = json.Unmarshal(raw, &ev)
		if a, ok := strings.CutPrefix(ev.Headers["authorization"], "raw:"); ok {
			return json.RawMessage(a), nil
		}
		switch ev.Headers["authorization"] {
		case "noanswer-uik":
			// No isAuthorized, secrets in the context.
			return map[string]any{"context": map[string]any{"uik": os.Getenv("AUTHFN_UIK"), "claim": ContextProbe}}, nil
		case "garbage-uik":
			return "not a simple response " + os.Getenv("AUTHFN_UIK"), nil
		case "fail-uik":
			return nil, errors.New("failed holding " + os.Getenv("AUTHFN_UIK"))
		}
		if ev.Headers["authorization"] == "trace" {
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true,
				Context: map[string]any{"trace": os.Getenv("_X_AMZN_TRACE_ID")}}, nil
		}
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: ev.Headers["authorization"] == "good",
			Context: map[string]any{"user": "carol", "calls": calls, "requestId": ev.RequestContext.RequestID,
				"identitySource": strings.Join(ev.IdentitySource, ",")}}, nil
	}
	if probe.Type == "REQUEST" && strings.HasSuffix(probe.MethodArn, "/$connect") {
		// A WebSocket $connect authorizer: the token query parameter decides;
		// the context names the connection the event's requestContext gave.
		var ev struct {
			events.APIGatewayCustomAuthorizerRequestTypeRequest
			RequestContext events.APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
		}
		_ = json.Unmarshal(raw, &ev)
		if ev.QueryStringParameters["token"] != "good" {
			return nil, errors.New("Unauthorized")
		}
		rc := ev.RequestContext
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "dave", PolicyDocument: policy("Allow", ev.MethodArn),
			Context: map[string]any{"user": "dave", "room": "lobby", "connectionId": rc.ConnectionID, "routeKey": rc.RouteKey,
				"eventType": rc.EventType, "domainName": rc.DomainName, "level": 3, "vip": true,
				"trace": os.Getenv("_X_AMZN_TRACE_ID"), "requestId": rc.RequestID, "requestTimeEpoch": rc.RequestTimeEpoch}}, nil
	}
	switch probe.Type {
	case "TOKEN":
		calls++
		var ev events.APIGatewayCustomAuthorizerRequest
		_ = json.Unmarshal(raw, &ev)
		ctx := map[string]any{"user": "alice", "admin": true, "calls": calls, "token": ev.AuthorizationToken}
		if os.Getenv("AUTHFN_REFUSE_ALL") != "" {
			// A strict authorizer: no token is good enough.
			return nil, errors.New("Unauthorized")
		}
		if a, ok := strings.CutPrefix(ev.AuthorizationToken, "raw:"); ok {
			return json.RawMessage(a), nil
		}
		switch ev.AuthorizationToken {
		case "allow":
			return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "alice", PolicyDocument: policy("Allow", ev.MethodArn), Context: ctx}, nil
		case "allow-get":
			// One policy for every GET of the API, on every stage.
			return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "alice", PolicyDocument: policy("Allow", "arn:aws:execute-api:*:*:*/*/GET/*"), Context: ctx}, nil
		case "allow-but-secret":
			// Everything but GET /secret, on every API and stage.
			doc := policy("Allow", "arn:aws:execute-api:*:*:*")
			doc.Statement = append(doc.Statement, events.IAMPolicyStatement{Action: []string{"execute-api:Invoke"}, Effect: "Deny",
				Resource: []string{"arn:aws:execute-api:*:*:*/*/GET/secret"}})
			return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "alice", PolicyDocument: doc, Context: ctx}, nil
		case "trace":
			// The trace the authorizer ran under (aws-lambda-go sets it from
			// Lambda-Runtime-Trace-Id).
			return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "alice", PolicyDocument: policy("Allow", ev.MethodArn),
				Context: map[string]any{"trace": os.Getenv("_X_AMZN_TRACE_ID")}}, nil
		case "deny":
			return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "mallory", PolicyDocument: policy("Deny", ev.MethodArn)}, nil
		case "deny-why":
			// A Deny whose context says why, for a gateway response to show.
			return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "mallory", PolicyDocument: policy("Deny", ev.MethodArn),
				Context: map[string]any{"why": "banned"}}, nil
		case "spoof":
			// A context key named principalId (as copied from a client's
			// claims), which must not stand for the principal.
			return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "alice", PolicyDocument: policy("Allow", "arn:aws:execute-api:*:*:*/*/GET/*"),
				Context: map[string]any{"principalId": "mallory", "user": "alice"}}, nil
		case "unauthorized":
			return nil, errors.New("Unauthorized")
		case "sleep":
			time.Sleep(5 * time.Second)
			return nil, nil
		case "garbage":
			return "not an authorizer response", nil
		case "nopolicy":
			return map[string]any{"principalId": "x", "policyDocument": map[string]any{"Statement": "nonsense"}}, nil
		case "nopol-uik":
			// No policyDocument; the API key (AUTHFN_UIK) and a context.
			return map[string]any{"principalId": "x", "usageIdentifierKey": os.Getenv("AUTHFN_UIK"), "context": map[string]any{"claim": ContextProbe}}, nil
		case "garbage-uik":
			return "not an authorizer response " + os.Getenv("AUTHFN_UIK"), nil
		case "fail-uik":
			return nil, errors.New("failed holding " + os.Getenv("AUTHFN_UIK"))
		case "badcontext":
			return map[string]any{"principalId": "x", "policyDocument": policy("Allow", "*"), "context": map[string]any{"nested": map[string]any{"a": 1}}}, nil
		}
		return nil, errors.New("unknown token " + ev.AuthorizationToken)
	case "REQUEST":
		calls++
		var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
		_ = json.Unmarshal(raw, &ev)
		// The context also names the event's resourceId and the JSON of its
		// identity.clientCert, for the tests to compare.
		var rc struct {
			RequestContext struct {
				Identity struct {
					ClientCert json.RawMessage `json:"clientCert"`
				} `json:"identity"`
			} `json:"requestContext"`
		}
		_ = json.Unmarshal(raw, &rc)
		ctx := map[string]any{"user": ev.Headers["X-User"], "tenant": ev.QueryStringParameters["tenant"], "calls": calls,
			"resourceId": ev.RequestContext.ResourceID, "clientCert": string(rc.RequestContext.Identity.ClientCert),
			"host": ev.Headers["Host"], "proto": ev.Headers["X-Forwarded-Proto"]}
		principal := ev.Headers["X-User"]
		if principal == "" {
			principal = "anonymous" // an empty principalId is refused
		}
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: principal, PolicyDocument: policy("Allow", ev.MethodArn), Context: ctx}, nil
	}
	var msg events.APIGatewayWebsocketProxyRequest
	_ = json.Unmarshal(raw, &msg)
	if msg.Body == "trace" {
		// A WebSocket message "trace": the trace this call ran under, and
		// the event's request id and time.
		rc := msg.RequestContext
		b, _ := json.Marshal(map[string]any{"trace": os.Getenv("_X_AMZN_TRACE_ID"), "requestId": rc.RequestID, "requestTimeEpoch": rc.RequestTimeEpoch})
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(b)}, nil
	}
	return events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(raw)}, nil
}

func main() { lambda.Start(handle) }
