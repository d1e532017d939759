package gateway

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/mapping"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// applyWSRequestParameters applies a WebSocket HTTP or HTTP_PROXY
// integration's requestParameters (API Gateway's WebSocket data mapping) to
// req, the request to its backend: each integration.request.header.NAME or
// .querystring.NAME is set, overwriting what was there (the connectionId
// header Portico sends, a client header on $connect), to its source's value:
// a 'literal', stageVariables.NAME, context.NAME (the connection's variables,
// as templates see them), the upgrade request's route.request.header,
// querystring, multivalueheader or multivaluequerystring.NAME on $connect, or
// route.request.body.JSONPATH of a message. A source without a value (a
// header the client did not send, a member the message lacks) leaves its
// parameter out, as API Gateway does. body is the message, decoded.
//
// Validation refuses mappings that are none of these; one stored before it
// did is a configuration error (the client gets "Internal server error"),
// never a mapping skipped.
func applyWSRequestParameters(rc *reqCtx, in *apis.Integration, ev *events.APIGatewayWebsocketProxyRequest, req *http.Request, body []byte) error {
	if len(in.RequestParameters) == 0 {
		return nil
	}
	src := wsSourceRequest(ev, body)
	mctx := wsMappingContext(rc, ev)
	var query url.Values
	for _, k := range slices.Sorted(maps.Keys(in.RequestParameters)) {
		where, name, ok := apis.WSRequestTarget(k)
		if !ok {
			return fmt.Errorf("request parameter mapping %q: not a WebSocket target: %w", k, errConfig)
		}
		v, found, err := wsParamValue(rc, ev, in.RequestParameters[k], src, mctx)
		if err != nil {
			return fmt.Errorf("request parameter mapping %q: %w", k, err)
		}
		if !found {
			continue
		}
		if where == "header" {
			req.Header.Set(name, v)
			continue
		}
		if query == nil {
			query = req.URL.Query()
		}
		query.Set(name, v)
	}
	if query != nil {
		req.URL.RawQuery = query.Encode()
	}
	return nil
}

// wsParamValue resolves one WebSocket mapping source. route.request.* reads
// src, a request made of the $connect's headers and query string and the
// message's body, through the same resolver as REST's method.request.*.
func wsParamValue(rc *reqCtx, ev *events.APIGatewayWebsocketProxyRequest, v string, src *http.Request, mctx *mapping.Map) (string, bool, error) {
	if _, ok := apis.ClassifyWSSource(v); !ok {
		return "", false, fmt.Errorf("value %q is no WebSocket mapping source: %w", v, errConfig)
	}
	if name, ok := strings.CutPrefix(v, "context.authorizer."); ok {
		// The connection's authorizer context (its $connect's), as the
		// event's requestContext.authorizer carries it.
		az, _ := ev.RequestContext.Authorizer.(map[string]any)
		val, found := az[name]
		if !found || val == nil {
			return "", false, nil
		}
		return fmt.Sprint(pipeline.StringifyContextValue(val)), true, nil
	}
	if name, ok := strings.CutPrefix(v, "context."); ok {
		val, found := mctx.GetPath(name)
		if !found || val == nil {
			return "", false, nil
		}
		return fmt.Sprint(val), true, nil
	}
	if path, ok := strings.CutPrefix(v, "route.request.body."); ok {
		path, _ = apis.BodyPath(path) // without its "$."
		v = "route.request.body." + path
	}
	if rest, ok := strings.CutPrefix(v, "route.request."); ok {
		v = "method.request." + rest
	}
	s, found := rc.ParamValue(v, src, nil)
	return s, found, nil
}

// wsSourceRequest is what route.request.* sources read: the $connect's headers
// and query string (a message and $disconnect have none) and the message.
func wsSourceRequest(ev *events.APIGatewayWebsocketProxyRequest, body []byte) *http.Request {
	r := &http.Request{Header: http.Header{}, URL: &url.URL{}, Body: pipeline.Replay(body, nil)}
	for k, vs := range ev.MultiValueHeaders {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if len(ev.MultiValueHeaders) == 0 {
		for k, v := range ev.Headers {
			r.Header.Set(k, v)
		}
	}
	q := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		q[k] = vs
	}
	for k, v := range ev.QueryStringParameters {
		if _, ok := q[k]; !ok {
			q.Set(k, v)
		}
	}
	r.URL.RawQuery = q.Encode()
	return r
}
