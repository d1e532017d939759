package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/mapping"
	"github.com/portico-dev/portico/internal/redact"
)

// wsMock answers a WebSocket route's MOCK integration as API Gateway does: the
// request template (wsTemplate) renders with the message as $input and the
// connection's $context, and the statusCode it renders (200 when it renders
// JSON without one, or nothing; output that is not JSON is a configuration
// error; with templates and none selected, passthroughBehavior decides:
// wsNoTemplate)
// picks the integration response: the first whose pattern matches it, else
// default. That response's template renders the answer, which a two-way route
// sends to the client. The usual pair is {"statusCode": 200} and a static
// reply; $context.connectionId, $context.routeKey and the rest render too.
// The templates and patterns are the stage's compiled plan (compilePlan), as
// for a REST MOCK.
func (g *Gateway) wsMock(ctx context.Context, rc *reqCtx, in *apis.Integration, ev *events.APIGatewayWebsocketProxyRequest) (*connections.Response, error) {
	p := rc.entry.plans[in]
	if p == nil {
		return nil, fmt.Errorf("route %q: its MOCK integration did not compile: %w", rc.RouteKey, errConfig)
	}
	render := (&wsRenderer{rc: rc, ev: ev, p: p}).render
	status := "200"
	if key, ok := p.wsRequestTemplate(in.RequestTemplates, []byte(ev.Body)); ok {
		t := p.request[key]
		if st, ok := p.mockStatus[t]; ok {
			status = st
		} else {
			out, err := render(ctx, "request template "+key, t, []byte(ev.Body))
			if err != nil {
				return nil, err
			}
			s, found, err := mockStatus(out)
			if err != nil {
				return nil, err
			}
			if found {
				status = s
			} else if len(bytes.TrimSpace(out)) > 0 && !json.Valid(out) {
				// Output that is no JSON (a template bug, or a message
				// that broke the JSON it renders) is a configuration
				// error, not a status 200 that picks the success
				// response. JSON without a statusCode is 200.
				return nil, fmt.Errorf("route %q: %s (the rendered template is %s): %w", rc.RouteKey, errMockStatus, redact.Shape(out), errConfig)
			}
		}
	} else if len(in.RequestTemplates) > 0 {
		if err := wsNoTemplate(rc, in); err != nil {
			return nil, err
		}
	}
	code, _ := strconv.Atoi(status) // mockStatus took only numbers
	// The rendered status stays the answer's: a WebSocket integration
	// response shapes the body only (it has no status of its own), so a
	// $connect that renders 403 is refused whatever response it takes, and
	// $context.status is the rendered one.
	resp, _, _, err := wsIntegrationResponse(ctx, p, in, render, code, status, nil, nil)
	return resp, err
}

// wsIntegrationResponse maps a non-proxy (MOCK, HTTP or AWS) integration's
// answer, of status code and header, with body as $input, through its
// integration responses as API Gateway does: the first whose key (/4\d{2}/)
// matches selector (the status; a function's errorMessage, "" for a result),
// else $default's; its response template (wsResponseTemplate) renders the
// answer, and without one selected the body passes as it is. When no
// integration response is chosen, the answer has no body (ok false).
func wsIntegrationResponse(ctx context.Context, p *integrationPlan, in *apis.Integration,
	render func(context.Context, string, *mapping.Template, []byte) ([]byte, error),
	code int, selector string, header http.Header, body []byte) (*connections.Response, apis.IntegrationResponse, bool, error) {
	resp := &connections.Response{StatusCode: code}
	status := strconv.Itoa(code)
	rkey, ir, ok, err := p.selector.selectResponse(selector, false)
	if err != nil {
		return nil, ir, false, err
	}
	if !ok {
		if ir, ok = in.Responses["default"]; !ok {
			return resp, ir, false, nil
		}
		rkey = "default"
	}
	resp.Body = body
	if key, ok := wsResponseTemplate(&ir, status, header); ok {
		out, err := render(ctx, "response template "+key, p.responses[rkey][key], body)
		if err != nil {
			return nil, ir, false, err
		}
		resp.Body = out
	}
	return resp, ir, true, nil
}

// wsResponseTemplate picks an integration response's template as its
// templateSelectionExpression says: with \$default (or none), wsTemplate's;
// with ${integration.response.statuscode} or
// ${integration.response.header.NAME}, the template keyed as that value,
// else the one keyed $default, else none.
func wsResponseTemplate(ir *apis.IntegrationResponse, status string, header http.Header) (string, bool) {
	kind, name, _ := apis.WSResponseTemplateSelection(ir.TemplateSelectionExpression) // validated
	var v string
	switch kind {
	case apis.WSSelectDefault:
		return wsTemplate(ir.ResponseTemplates)
	case apis.WSSelectStatus:
		v = status
	case apis.WSSelectHeader:
		v = header.Get(name)
	}
	if _, found := ir.ResponseTemplates[v]; found && v != "" {
		return v, true
	}
	if _, found := ir.ResponseTemplates[apis.RouteDefault]; found {
		return apis.RouteDefault, true
	}
	return "", false
}

// wsRenderer renders a WebSocket route's templates, from its integration's
// compiled plan, with the message's $context (built once, when a template
// that is not static needs it) and the stage's variables.
type wsRenderer struct {
	rc   *reqCtx
	ev   *events.APIGatewayWebsocketProxyRequest
	p    *integrationPlan
	mctx *mapping.Map
}

// render renders t (named name in errors) with body as $input.
func (w *wsRenderer) render(ctx context.Context, name string, t *mapping.Template, body []byte) ([]byte, error) {
	if out, ok := w.p.static[t]; ok {
		return out, nil
	}
	if w.mctx == nil {
		w.mctx = wsMappingContext(w.rc, w.ev)
	}
	out, err := t.RenderString(ctx, &mapping.Vars{Body: body, Context: w.mctx, StageVariables: w.rc.StageVariables})
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, err, errConfig)
	}
	return []byte(out), nil
}

// wsRequestBody is what a WebSocket HTTP (non-proxy) integration sends its
// backend: the request template (wsTemplate) rendered with the message as
// $input, as API Gateway transforms the integration request; without
// templates, the message as the client sent it, unless passthroughBehavior is
// NEVER, which passes no message through (API Gateway's "never pass the
// payload through": a configuration error; $connect and $disconnect carry no
// message and go on). With templates of which none is selected, the message
// passes through under WHEN_NO_MATCH (the default) and is refused (a
// configuration error) under NEVER and WHEN_NO_TEMPLATES.
func wsRequestBody(ctx context.Context, rc *reqCtx, in *apis.Integration, ev *events.APIGatewayWebsocketProxyRequest, body []byte) ([]byte, error) {
	if len(in.RequestTemplates) == 0 {
		if in.PassthroughBehavior == "NEVER" && len(body) > 0 {
			return nil, fmt.Errorf("route %q: the integration has no request template and passthroughBehavior NEVER passes no message through: %w", rc.RouteKey, errConfig)
		}
		return body, nil
	}
	p := rc.entry.plans[in]
	if p == nil {
		return nil, fmt.Errorf("route %q: its integration's templates did not compile: %w", rc.RouteKey, errConfig)
	}
	key, ok := p.wsRequestTemplate(in.RequestTemplates, body)
	if !ok {
		return body, wsNoTemplate(rc, in)
	}
	return (&wsRenderer{rc: rc, ev: ev, p: p}).render(ctx, "request template "+key, p.request[key], body)
}

// wsNoTemplate is what an integration with request templates does when none
// is selected for the message: under passthroughBehavior WHEN_NO_MATCH (the
// default) it goes on (an HTTP or AWS integration passes the message through,
// a MOCK answers status 200); under NEVER or WHEN_NO_TEMPLATES the client
// gets the Internal server error frame.
func wsNoTemplate(rc *reqCtx, in *apis.Integration) error {
	if in.PassthroughBehavior == "" || in.PassthroughBehavior == "WHEN_NO_MATCH" {
		return nil
	}
	return fmt.Errorf("route %q: no request template is selected (none is keyed as templateSelectionExpression selects, nor $default) and passthroughBehavior is %s: %w", rc.RouteKey, in.PassthroughBehavior, errConfig)
}

// wsRequestTemplate picks a WebSocket integration's request template for a
// message body (none on $connect and $disconnect), as API Gateway does: with a
// templateSelectionExpression such as $request.body.kind (routeselect, as
// route selection), the template keyed as the value it selects, else the one
// keyed $default, else none (passthroughBehavior decides); with $default (or
// none), wsTemplate's.
func (p *integrationPlan) wsRequestTemplate(ts map[string]string, body []byte) (key string, ok bool) {
	if p.templateSel == nil {
		return wsTemplate(ts)
	}
	v, ok := p.templateSel.Static()
	if !ok {
		v, ok = p.templateSel.Select(body)
	}
	if _, found := ts[v]; ok && found {
		return v, true
	}
	if _, found := ts[apis.RouteDefault]; found {
		return apis.RouteDefault, true
	}
	return "", false
}

// wsTemplate picks a WebSocket integration's template under the template
// selection expression \$default (or none): the one keyed $default, else the
// only one there is.
func wsTemplate(ts map[string]string) (key string, ok bool) {
	if _, ok := ts[apis.RouteDefault]; ok {
		return apis.RouteDefault, true
	}
	if len(ts) == 1 {
		for k := range ts {
			return k, true
		}
	}
	return "", false
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
	if r.Identity.UserAgent != "" {
		m.SetPath("identity.userAgent", r.Identity.UserAgent)
	}
	return m
}
