package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
)

// wsFunction runs a WebSocket route's non-proxy AWS (Lambda) integration as
// API Gateway does: the function's event is the request template selected
// for the message (wsRequestBody, as for an HTTP integration), or under
// passthrough the message itself, never the proxy event; on $connect and
// $disconnect, which have no message, an untemplated event is {}. An event
// that is not JSON is not invoked (Lambda's Invoke refuses it).
//
// The result goes through the integration responses: a result takes the
// $default one; a function error the first whose key matches its
// errorMessage, else $default, with the error document as $input (the
// integration's integrationResponseSelectionExpression is
// ${integration.response.body.errorMessage}, as API Gateway reports it).
// Without integration responses a result is sent as the function returned
// it and a function error is the route's error. A $connect accepts the
// handshake on a result and refuses it (500) on a function error, whatever
// the integration responses say: they shape a reply, not the handshake.
// Timeouts and throttles are the route's errors, as on AWS_PROXY.
func (g *Gateway) wsFunction(r *http.Request, rc *reqCtx, in *apis.Integration, ev *events.APIGatewayWebsocketProxyRequest) (*connections.Response, error) {
	ctx := r.Context()
	p := rc.entry.plans[in]
	if p == nil {
		return nil, fmt.Errorf("route %q: its integration's templates did not compile: %w", rc.RouteKey, errConfig)
	}
	msg := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, err
		}
		msg = b
	}
	payload, err := wsRequestBody(ctx, rc, in, ev, msg) // ws_mock.go
	if err != nil {
		return nil, err
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	} else if !json.Valid(payload) {
		return nil, fmt.Errorf("route %q: the function's event is not JSON (a message passed through, or a request template's output): Lambda refuses it: %w", rc.RouteKey, errIntegration)
	}
	res, err := g.invoke(r, rc, in, payload, nil)
	selector := ""
	if err != nil {
		if !errors.Is(err, errFunction) || res == nil || ev.RequestContext.EventType == connections.EventConnect || len(in.Responses) == 0 {
			return nil, err
		}
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(res.Payload, &fe)
		selector = fe.ErrorMessage
	}
	if len(in.Responses) == 0 {
		return &connections.Response{StatusCode: http.StatusOK, Body: res.Payload}, nil
	}
	render := (&wsRenderer{rc: rc, ev: ev, p: p}).render
	resp, _, ok, mapErr := wsIntegrationResponse(ctx, p, in, render, http.StatusOK, selector, nil, res.Payload)
	if mapErr != nil {
		return nil, mapErr
	}
	if !ok && err != nil {
		// No integration response takes the error: the route's error, as
		// without any.
		return nil, err
	}
	return resp, nil
}
