package gateway

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/mapping"
)

// wsMock answers a WebSocket route's MOCK integration as API Gateway does: the
// request template (wsTemplate) renders with the message as $input and the
// connection's $context, and the statusCode it renders (200 without one)
// picks the integration response: the first whose pattern matches it, else
// default. That response's template renders the answer, which a two-way route
// sends to the client. The usual pair is {"statusCode": 200} and a static
// reply; $context.connectionId, $context.routeKey and the rest render too.
func (g *Gateway) wsMock(ctx context.Context, rc *reqCtx, in *apis.Integration, ev *events.APIGatewayWebsocketProxyRequest) (*connections.Response, error) {
	var mctx *mapping.Map
	vars := func(body []byte) *mapping.Vars {
		if mctx == nil {
			mctx = wsMappingContext(rc, ev)
		}
		return &mapping.Vars{Body: body, Context: mctx, StageVariables: rc.StageVariables}
	}
	status := "200"
	if key, src, ok := wsTemplate(in.RequestTemplates); ok {
		out, err := rc.entry.renderWS(ctx, "request template "+key, src, vars([]byte(ev.Body)))
		if err != nil {
			return nil, err
		}
		s, found, err := mockStatus([]byte(out))
		if err != nil {
			return nil, err
		}
		if found {
			status = s
		}
	}
	code, _ := strconv.Atoi(status) // mockStatus took only numbers
	resp := &connections.Response{StatusCode: code}
	ir, ok := wsIntegrationResponse(in.Responses, status)
	if !ok {
		return resp, nil
	}
	if s, ok := apis.ValidateStatus(ir.StatusCode); ok {
		resp.StatusCode = s
	}
	if key, src, ok := wsTemplate(ir.ResponseTemplates); ok {
		out, err := rc.entry.renderWS(ctx, "response template "+key, src, vars(nil))
		if err != nil {
			return nil, err
		}
		resp.Body = []byte(out)
	}
	return resp, nil
}

// wsTemplate picks a WebSocket integration's template: the one keyed $default
// (the key of the only template selection expression Portico takes,
// \$default), else the only one there is.
func wsTemplate(ts map[string]string) (key, src string, ok bool) {
	if src, ok := ts[apis.RouteDefault]; ok {
		return apis.RouteDefault, src, true
	}
	if len(ts) == 1 {
		for k, v := range ts {
			return k, v, true
		}
	}
	return "", "", false
}

// wsIntegrationResponse returns the integration response for status: the first,
// in sorted order, whose pattern matches it whole, else the default one.
func wsIntegrationResponse(rs map[string]apis.IntegrationResponse, status string) (apis.IntegrationResponse, bool) {
	for _, p := range slices.Sorted(maps.Keys(rs)) {
		if p == "default" {
			continue
		}
		if re, err := regexp.Compile("^(?:" + p + ")$"); err == nil && re.MatchString(status) {
			return rs[p], true
		}
	}
	ir, ok := rs["default"]
	return ir, ok
}

// wsParsed is a parsed WebSocket template, or why it could not be parsed.
type wsParsed struct {
	t   *mapping.Template
	err error
}

// renderWS renders one template of a WebSocket integration of the stage,
// parsed once per stage deployment. A template that fails is the API's
// configuration error (the sender gets the "Internal server error" frame; the
// log says why).
func (e *stageEntry) renderWS(ctx context.Context, name, src string, vars *mapping.Vars) (string, error) {
	v, ok := e.wsTemplates.Load(src)
	if !ok {
		var p wsParsed
		p.t, p.err = mapping.Parse(name, src)
		v, _ = e.wsTemplates.LoadOrStore(src, p)
	}
	p := v.(wsParsed)
	if p.err != nil {
		return "", fmt.Errorf("%s: %w: %w", name, p.err, errConfig)
	}
	out, err := p.t.RenderString(ctx, vars)
	if err != nil {
		return "", fmt.Errorf("%s: %w: %w", name, err, errConfig)
	}
	return out, nil
}

// wsMappingContext is $context for a WebSocket message's templates: the
// request's (MappingContext) with the connection's own variables.
func wsMappingContext(rc *reqCtx, ev *events.APIGatewayWebsocketProxyRequest) *mapping.Map {
	m := rc.MappingContext()
	r := &ev.RequestContext
	m.SetStrings("connectionId", r.ConnectionID, "eventType", r.EventType, "messageDirection", r.MessageDirection)
	if id, ok := r.MessageID.(string); ok {
		m.Set("messageId", id)
	}
	m.Set("connectedAt", r.ConnectedAt)
	m.SetPath("identity.sourceIp", r.Identity.SourceIP)
	return m
}
