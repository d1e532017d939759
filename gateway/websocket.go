package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/wirenames"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/gateway/responses"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/routeselect"
	"github.com/portico-dev/portico/invoker"
)

// wsState is the gateway's WebSocket support: the connection registry and the
// compiled routes of each deployment. It is set once by EnableWebSockets.
type wsState struct {
	m *connections.Manager
	// routes caches the connections.Routes of each compiled stage by
	// "apiID/stage"; an entry is replaced when the stage is recompiled.
	routes sync.Map
	// gone holds the ids of WebSocket APIs deleted while they had connections
	// here (ws_gone.go): their @connections URLs answer 410, where an id
	// never known answers 404.
	gone sync.Map
	// badExpr remembers expressions already reported as unparseable.
	badExpr sync.Map
	// loopbackWarning is given once when sandboxes cannot reach the listener.
	loopbackWarning sync.Once
	// callbackDomain is the sandbox-facing @connections endpoint's host:port
	// (callback.go), once it listens.
	callbackDomain atomic.Pointer[string]
}

// EnableWebSockets lets the gateway serve WEBSOCKET APIs through m: upgrades at
// stage URLs and the @connections API at {stage URL}/@connections/{id}. Without
// it, WEBSOCKET stages answer as if they had no route. Call it before serving.
func (g *Gateway) EnableWebSockets(m *connections.Manager) {
	if m != nil {
		g.ws = &wsState{m: m}
		m.SetIntegrations(g)
		m.OnSend(g.observeSent)
	}
}

// observeSent tells the WebSocketObservers of a message sent to a client of
// a stage (an @connections POST, a route response): a MESSAGE without a
// route, which CloudWatch's MessageCount counts as it counts the client's.
func (g *Gateway) observeSent(apiID, stage string) {
	if len(g.wsObservers) == 0 {
		return
	}
	var d *pipeline.Deployed
	if v, ok := g.ws.routes.Load(apiID + "/" + stage); ok {
		d = v.(*wsRoutes).entry.deployed
	} else if e := g.compiled.Load().m[stageKey{apiID, stage}]; e != nil {
		d = e.deployed
	} else {
		return
	}
	for _, o := range g.wsObservers {
		o.ObserveWebSocket(d, nil, connections.EventMessage)
	}
}

// connectionsSegment is the path segment of the @connections API.
const connectionsSegment = "@connections"

// isConnectionsSegment reports whether an escaped path segment is @connections,
// as sent or URL-encoded (%40connections, as AWS's documentation writes it).
func isConnectionsSegment(seg string) bool {
	return seg == connectionsSegment || unescape(seg) == connectionsSegment
}

// serveConnectionsShortcut serves the @connections API at
// serveConnectionsShortcut serves @connections where locate found no stage to
// serve it at (err):
//
//   - http://{domainName}/{stage}/@connections/{id}, the URL functions build from
//     an event's domainName and stage when domainName is the gateway's own
//     address (callbackDomain without the sandbox-facing endpoint): no API is in
//     the host or the path, and the connection id names it. A URL that names an
//     API, by its host, its path or a custom domain's mapping, reaches
//     @connections only as that API's, at its WEBSOCKET stage (serveWebSocket),
//     and a REST or HTTP API's routes answer their own paths.
//   - a WebSocket API's stage that was deleted, or an API that was (path- or
//     host-based): its connections were closed with it, and @connections
//     answers for them as for any connection that is gone (410, once the
//     request is signed), as docs/websockets.md promises.
//
// escaped is r's escaped path. It reports whether it served r, or the error to
// answer instead: the connection's API turned its default endpoints off
// (disableExecuteApiEndpoint), as the URLs that name the API refuse.
func (g *Gateway) serveConnectionsShortcut(w http.ResponseWriter, r *http.Request, escaped string, rc *pipeline.Context, err error) (bool, error) {
	if g.ws == nil || rc.CustomDomain {
		return false, nil
	}
	stageGone := errors.Is(err, errStageNotFound) && rc.Protocol == apis.ProtocolWebSocket
	if !stageGone && !errors.Is(err, errAPINotFound) {
		return false, nil
	}
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	apiID, named := g.hostAPIID(hostOnly(r.Host))
	if !named && len(segs) == 4 && apis.ValidAPIID(segs[0]) {
		apiID, segs = segs[0], segs[1:]
	}
	if apiID != "" && !stageGone && !g.goneAPI(apiID) {
		return false, nil // an API id never known here: not found, as any path under it
	}
	if len(segs) != 3 || segs[0] == "" || !isConnectionsSegment(segs[1]) || segs[2] == "" {
		return false, nil
	}
	stage, id := unescape(segs[0]), unescape(segs[2])
	rc.APIID, rc.Stage = apiID, stage
	if apiID == "" {
		if info, err := g.ws.m.Get("", stage, id); err == nil {
			if e, err := g.loadStage(r.Context(), info.APIID, info.Stage); err == nil {
				if err := checkDefaultEndpoint(e); err != nil {
					rc.APIID, rc.Protocol = info.APIID, apis.ProtocolWebSocket
					return false, err
				}
			}
		}
	}
	// An error here is a client gone before its body came in (nothing
	// answered): the caller records it 499.
	return true, g.ws.m.ServeManagement(w, r, apiID, stage, id)
}

// serveWebSocket serves a request at a WEBSOCKET stage: the @connections API, or
// an upgrade.
func (g *Gateway) serveWebSocket(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if g.ws == nil {
		return fmt.Errorf("api %s is a WEBSOCKET api and WebSockets are not enabled: %w", rc.APIID, errRouteNotFound)
	}
	if seg, id, ok := strings.Cut(strings.TrimPrefix(rc.Path, "/"), "/"); ok && isConnectionsSegment(seg) && id != "" && !strings.Contains(id, "/") {
		// An error is a client gone before its body came in (nothing
		// answered): the responses stage records it 499.
		return g.ws.m.ServeManagement(w, r, rc.APIID, rc.Stage, unescape(id))
	}
	if rc.Path != "/" {
		return fmt.Errorf("path %s under WEBSOCKET stage %s: %w", rc.Path, rc.Stage, errRouteNotFound)
	}
	ep := connections.Endpoint{
		APIID: rc.APIID, Stage: rc.Stage,
		DomainName:        g.callbackDomain(r),
		RequestID:         rc.ExtendedRequestID,
		ExtendedRequestID: rc.ExtendedRequestID,
		// Messages and $disconnect keep only the upgrade's trace, not the
		// request and its pipeline state, for as long as the connection lives.
		Context:  context.Background(),
		SourceIP: rc.Identity.SourceIP, // g.clientIP: trusted proxies, as REST and HTTP
		// A custom domain's truststore may change while the connection is
		// open: the connection is closed when it no longer admits it.
		Verify: g.verifyDomainConn(r, rc.Context),
		// An upgraded connection stays under the public listeners' bound.
		Conns: g.wsConns.Load(),
		PerIP: g.wsPerIP.Load(),
	}
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		ep.Context = trace.ContextWithSpanContext(ep.Context, sc)
	}
	if n := hopCount(r.Header[hopHeader]); n > 0 {
		// The connection's messages and $disconnect were caused by this
		// request: their HTTP integrations count on from its hops (wsHTTP).
		ep.Context = context.WithValue(ep.Context, upgradeHopsKey{}, n)
	}
	// $connect's IAM authorization checks the upgrade request's signature.
	g.ws.m.ServeWebSocket(w, r.WithContext(pipeline.WithRequest(r.Context(), r)), ep, wsDispatcher{g})
	return nil
}

// callbackDomain is the domainName events report: the sandbox-facing
// @connections endpoint (callback.go) when it listens; else the host at which
// sandboxes reach the gateway (the runtime's, from connections.Config.CallbackHost)
// and the port the upgrade arrived on, so that "http://" + domainName + "/" + stage is a
// working @connections endpoint for functions.
func (g *Gateway) callbackDomain(r *http.Request) string {
	if d := g.ws.callbackDomain.Load(); d != nil {
		return *d
	}
	host := g.ws.m.Config().CallbackHost
	port := ""
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if h, p, err := net.SplitHostPort(la.String()); err == nil {
			port = p
			if pp := g.plainPort(r); pp != "" { // wss: functions call back over plain HTTP (tls.go)
				port = pp
			}
			if host == "" {
				host = h
				if ip := net.ParseIP(h); ip == nil || ip.IsUnspecified() {
					host = "127.0.0.1"
				}
			} else if cb := net.ParseIP(host); cb != nil && !cb.IsLoopback() && netaddr.IsLoopback(g.cfg.Listen) {
				g.ws.loopbackWarning.Do(func() {
					g.log.Warn("the gateway listens on loopback, which sandboxes cannot reach: functions calling @connections will fail; listen on :PORT or on the callback host",
						"listen", g.cfg.Listen, "callbackHost", host)
				})
			}
		}
	}
	if host == "" || port == "" {
		return r.Host
	}
	return net.JoinHostPort(host, port)
}

// wsDispatcher runs WebSocket routes for the connections package.
type wsDispatcher struct{ g *Gateway }

var _ connections.ReplyDispatcher = wsDispatcher{}

// Routes implements connections.Dispatcher.
func (d wsDispatcher) Routes(ctx context.Context, apiID, stage string) (*connections.Routes, error) {
	e, err := d.g.loadStage(ctx, apiID, stage)
	if err != nil {
		return nil, err
	}
	key := apiID + "/" + stage
	if v, ok := d.g.ws.routes.Load(key); ok {
		if c := v.(*wsRoutes); c.entry == e {
			return c.routes, nil
		}
	}
	rt := &connections.Routes{Keys: map[string]bool{}, StageVariables: e.stage.Variables}
	sel, err := routeselect.Parse(e.dep.API.RouteSelectionExpression)
	if err != nil {
		if _, seen := d.g.ws.badExpr.LoadOrStore(apiID+"/"+e.dep.API.RouteSelectionExpression, true); !seen {
			d.g.log.Warn("websocket api has an unusable route selection expression: every message goes to $default",
				"api", apiID, "stage", stage, "err", err)
		}
	}
	rt.Selector = sel
	for i := range e.dep.API.Routes {
		r := &e.dep.API.Routes[i]
		if r.Integration == nil {
			continue
		}
		rt.Keys[r.RouteKey] = r.RouteResponseSelectionExpression != ""
	}
	d.g.ws.routes.Store(key, &wsRoutes{entry: e, routes: rt})
	return rt, nil
}

type wsRoutes struct {
	entry  *stageEntry
	routes *connections.Routes
}

// Dispatch implements connections.Dispatcher: it runs the route's integration
// (AWS_PROXY with the event as the payload, AWS with the request template's
// output, MOCK, or HTTP/HTTP_PROXY with the message as the body).
func (d wsDispatcher) Dispatch(ctx context.Context, ev *events.APIGatewayWebsocketProxyRequest) (*connections.Response, error) {
	return d.DispatchReply(ctx, ev, nil)
}

// DispatchReply implements connections.ReplyDispatcher: a two-way route's
// function result is answered from the goroutine that reads it (wsAnswer).
func (d wsDispatcher) DispatchReply(ctx context.Context, ev *events.APIGatewayWebsocketProxyRequest, reply *connections.Reply) (out *connections.Response, outErr error) {
	g := d.g
	if ev.RequestContext.EventType == connections.EventConnect {
		respellHeaders(ev, wirenames.From(ctx)) // ctx is the upgrade request's
	}
	e, err := g.loadStage(ctx, ev.RequestContext.APIID, ev.RequestContext.Stage)
	if err != nil {
		// A stage deleted under its connections closes them (closeGoneStages);
		// their $disconnect runs on the deployment the stage last served,
		// which Routes compiled for their upgrade or a message.
		v, ok := g.ws.routes.Load(ev.RequestContext.APIID + "/" + ev.RequestContext.Stage)
		if !ok || ev.RequestContext.EventType != connections.EventDisconnect || !errors.Is(err, errdefs.ErrNotFound) {
			return nil, err
		}
		e = v.(*wsRoutes).entry
	}
	var route *apis.Route
	for i := range e.dep.API.Routes {
		if e.dep.API.Routes[i].RouteKey == ev.RequestContext.RouteKey {
			route = &e.dep.API.Routes[i]
			break
		}
	}
	if route == nil || route.Integration == nil {
		return nil, fmt.Errorf("route %q has no integration: %w", ev.RequestContext.RouteKey, errConfig)
	}
	if ev.RequestContext.EventType != connections.EventConnect {
		for _, o := range g.wsObservers {
			o.ObserveWebSocket(e.deployed, route, ev.RequestContext.EventType)
		}
	}
	var outcome pipeline.WSOutcome
	for _, l := range g.wsLoggers {
		if done := l.LogWebSocket(e.deployed, route, ev, &outcome); done != nil {
			defer func() { done(out, outErr) }()
		}
	}
	if ev.RequestContext.EventType == connections.EventConnect && g.connectAuth == nil {
		if au, _ := e.deployed.API.RouteAuthorizer(route); au != nil {
			return g.connectRefusal(ev, pipeline.Errorf(pipeline.AuthorizerConfigurationError, "authorizer %q: no authorizer runtime composed", au.Name), &outcome, "its authorizer"), nil
		}
	}
	if ev.RequestContext.EventType == connections.EventConnect && g.connectAuth != nil {
		start := g.now()
		az, err := g.connectAuth.AuthorizeConnect(ctx, e.deployed, route, ev, &outcome.Authorizer)
		if au, _ := e.deployed.API.RouteAuthorizer(route); au != nil {
			// $context.authorizer.status, .latency and .error, as the
			// authorize stage records them for REST and HTTP requests.
			outcome.Authorizer.Kind = authorizerKind(au.Type)
			outcome.Authorizer.SetOutcome(err, g.now().Sub(start))
		}
		if err != nil {
			if pe, ok := pipeline.AsError(err); ok {
				return g.connectRefusal(ev, pe, &outcome, "its authorizer"), nil
			}
			return nil, err
		}
		if az != nil {
			// Events carry the context's numbers and booleans as strings,
			// as API Gateway's WebSocket events do.
			for k, v := range az {
				az[k] = pipeline.StringifyContextValue(v)
			}
			ev.RequestContext.Authorizer = az
			// The connection keeps the context whatever $connect's
			// integration (connections.Response.Authorizer), as API
			// Gateway does: later events' requestContext.authorizer and
			// context.authorizer.NAME mappings read it.
			defer func() {
				if out != nil {
					out.Authorizer = az
				}
			}()
		}
	}
	if ev.RequestContext.EventType == connections.EventConnect {
		// The route's required requestParameters, checked after the
		// authorizer as REST APIs' request validation is: a handshake
		// without one is refused before the integration runs.
		src := wsSourceRequest(ev, nil)
		if missing := route.MissingWSParameters(src.Header.Values, src.URL.Query()); len(missing) > 0 {
			pe := &pipeline.Error{Type: pipeline.BadRequestParameters,
				Message: "Missing required request parameters: [" + strings.Join(missing, ", ") + "]",
				Cause:   fmt.Errorf("missing required request parameters %v", missing)}
			return g.connectRefusal(ev, pe, &outcome, "request validation"), nil
		}
	}
	in := route.Integration
	// The request's time is the event's requestTimeEpoch, as its $connect
	// authorizer's is, so that $context.requestTime agrees with the event and
	// a function call's trace id (invokeTrace) with the authorizer's: one
	// trace. It keeps now's monotonic reading, shifted with it, for the
	// latencies measured from it.
	now := g.now()
	if ms := ev.RequestContext.RequestTimeEpoch; ms > 0 {
		now = now.Add(time.UnixMilli(ms).Sub(now))
	}
	rc := &reqCtx{Context: &pipeline.Context{
		RequestID: ev.RequestContext.RequestID, ExtendedRequestID: ev.RequestContext.ExtendedRequestID, RequestTime: now,
		APIID: ev.RequestContext.APIID, Stage: ev.RequestContext.Stage, Protocol: apis.ProtocolWebSocket,
		Route: route, RouteKey: route.RouteKey, DomainName: ev.RequestContext.DomainName,
		Deployed: e.deployed, DeploymentID: e.dep.ID, StageVariables: e.deployed.Variables,
	}, entry: e}
	rc.Authorizer.SetConnection(ev.RequestContext.Authorizer) // its templates' $context.authorizer
	if ev.RequestContext.EventType == connections.EventConnect {
		// The key its authorizer named: the one a key source AUTHORIZER
		// checks (checkMessage), never the x-api-key header.
		rc.Authorizer.UsageIdentifierKey = outcome.Authorizer.UsageIdentifierKey
		rc.Identity.SourceIP, rc.Identity.UserAgent = ev.RequestContext.Identity.SourceIP, ev.RequestContext.Identity.UserAgent
		for k, v := range ev.Headers {
			if strings.EqualFold(k, "x-api-key") {
				rc.Identity.APIKey = v
			}
		}
	}
	if ev.RequestContext.EventType != connections.EventDisconnect {
		if resp := g.checkMessage(rc.Context); resp != nil {
			outcome.Error = rc.Error
			return resp, nil
		}
	}
	if ev.RequestContext.EventType == connections.EventConnect && rc.Identity.APIKeyID != "" {
		// The key the usage stage admitted, named in the event as a REST
		// event names it (requestContext.identity.apiKey and apiKeyId).
		ev.RequestContext.Identity.APIKey, ev.RequestContext.Identity.APIKeyID = rc.Identity.APIKey, rc.Identity.APIKeyID
	}
	outcome.IntegrationRan = true
	if ev.RequestContext.EventType == connections.EventConnect {
		// ConnectCount is the $connects sent to the route's integration: not
		// those an authorizer or a throttle refused.
		for _, o := range g.wsObservers {
			o.ObserveWebSocket(e.deployed, route, ev.RequestContext.EventType)
		}
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	if err != nil {
		return nil, err
	}
	switch in.Type {
	case apis.IntegrationAWS:
		return g.wsFunction(r, rc, in, ev) // ws_function.go
	case apis.IntegrationAWSProxy:
		payload, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		var ans invoker.Answerer
		if reply != nil && ev.RequestContext.EventType == connections.EventMessage {
			ans = wsAnswer{reply, ev.RequestContext.ConnectionID}
		}
		res, err := g.invoke(r, rc, in, payload, ans)
		if err != nil {
			return nil, err
		}
		// Answered or not, the result is the dispatch's outcome: an answered
		// one (wsAnswer sent its body) is not sent again (Reply.Sent), but
		// the stages' loggers see its status and body all the same.
		return parseWSResult(res.Payload)
	case apis.IntegrationMock:
		return g.wsMock(ctx, rc, in, ev) // ws_mock.go
	case apis.IntegrationHTTP, apis.IntegrationHTTPProxy:
		out, err := g.wsHTTP(ctx, rc, in, ev)
		if pe, ok := pipeline.AsError(err); ok && errors.Is(err, errLoop) && ev.RequestContext.EventType == connections.EventConnect {
			// The handshake is refused as an HTTP request in a loop is
			// answered: 508 Loop Detected, not "Internal server error".
			return g.connectRefusal(ev, pe, &outcome, "a request loop"), nil
		}
		return out, err
	default:
		return nil, fmt.Errorf("integration type %q: %w", in.Type, errConfig)
	}
}

// wsAnswer answers a two-way route's function result to the client from the
// goroutine that reads it from the sandbox (invoker.Answerer), before the
// runtime's 202: the result's body is the route's response, as Dispatch would
// have it. A function error, a result that is not JSON and a body over the
// connection's max-message-bytes go back to Dispatch, which answers them.
type wsAnswer struct {
	r  *connections.Reply
	id string // the connection's
}

var _ invoker.Answerer = wsAnswer{}

// Ready implements invoker.Answerer: sending to a connection never waits.
func (wsAnswer) Ready() bool { return true }

// Answer implements invoker.Answerer.
func (a wsAnswer) Answer(res *invoker.Result) bool {
	if res.FunctionError != "" {
		return false
	}
	resp, err := parseWSResult(res.Payload)
	if err != nil {
		return false
	}
	if !a.r.Fits(resp.Body) {
		return false
	}
	if hook := wsAnsweredHook.Load(); hook != nil {
		(*hook)(a.id)
	}
	// A connection gone meanwhile is answered too: there is no one to tell.
	_ = a.r.Send(resp.Body)
	return true
}

// wsAnsweredHook, when set (by tests), sees the connection id of each message
// a wsAnswer answers, before its client can have the answer.
var wsAnsweredHook atomic.Pointer[func(connectionID string)]

// Wait implements invoker.Answerer.
func (a wsAnswer) Wait() bool { return a.r.Wait() }

// Wake implements invoker.Answerer.
func (a wsAnswer) Wake() { a.r.Wake() }

// MessageChecker is an optional ability of a pipeline stage: checking a
// WebSocket route invocation ($connect or a message), which does not run the
// HTTP pipeline. c names the stage deployment, the route and its key, and on
// $connect the x-api-key the upgrade request sent (Identity.APIKey). The
// throttle and API key stages have it.
type MessageChecker interface {
	CheckMessage(c *pipeline.Context) error
}

// checkMessage runs the stages' WebSocket checks; a refusal becomes the
// route's answer (a refused $connect handshake, or the error a two-way route
// sends back), and the integration does not run.
func (g *Gateway) checkMessage(c *pipeline.Context) *connections.Response {
	for _, st := range g.stages {
		mc, ok := st.(MessageChecker)
		if !ok {
			continue
		}
		err := mc.CheckMessage(c)
		if err == nil {
			continue
		}
		typ := pipeline.Default5XX
		if e, ok := pipeline.AsError(err); ok {
			typ = e.Type
		}
		def := typ.Default()
		c.Error.Message, c.Error.ResponseType = def.Message, typ
		body, _ := json.Marshal(map[string]string{"message": def.Message})
		g.log.Debug("websocket route refused", "api", c.APIID, "stage", c.Stage, "route", c.RouteKey, "err", err)
		return &connections.Response{StatusCode: def.Status, Body: body,
			Headers: map[string]string{"x-amzn-ErrorType": def.ErrorType}}
	}
	return nil
}

// ConnectAuthorizer runs the authorizer a WebSocket API's $connect route names.
// The gateway declares it; gateway/auth provides it. Without one, a $connect
// that names an authorizer refuses every upgrade (500) rather than admit it
// unchecked.
type ConnectAuthorizer interface {
	// AuthorizeConnect returns the connection's requestContext.authorizer,
	// or the error that refuses the handshake; it records the Lambda
	// authorizer's Invoke status in outcome.InvokeStatus and the API key it
	// named in outcome.UsageIdentifierKey.
	AuthorizeConnect(ctx context.Context, d *pipeline.Deployed, route *apis.Route, ev *events.APIGatewayWebsocketProxyRequest, outcome *pipeline.Authorizer) (map[string]any, error)
}

// SetConnectAuthorizer sets what authorizes WebSocket upgrades; call it before
// serving.
func (g *Gateway) SetConnectAuthorizer(a ConnectAuthorizer) { g.connectAuth = a }

// connectRefusal turns a refusal of an upgrade (by its authorizer, or by the
// check of the route's required parameters: by) into the handshake's answer:
// the type's status and message, AWS's JSON body; the cause goes to the log.
func (g *Gateway) connectRefusal(ev *events.APIGatewayWebsocketProxyRequest, pe *pipeline.Error, o *pipeline.WSOutcome, by string) *connections.Response {
	// The bytes a REST API answers the same refusal with (an authorizer
	// failure's {"message": null} included).
	rs := responses.Resolve(pe)
	o.Error.ResponseType = rs.Type
	if rs.Message != nil {
		o.Error.Message = *rs.Message
	}
	g.log.Info("$connect refused by "+by, "api", ev.RequestContext.APIID, "stage", ev.RequestContext.Stage, "status", rs.Status, "err", pe)
	status, body := rs.Status, rs.Body()
	h := map[string]string{"x-amzn-ErrorType": rs.ErrorType}
	for k, v := range pe.Header { // Retry-After of a client whose signatures failed too often
		if len(v) > 0 {
			h[k] = v[0]
		}
	}
	return &connections.Response{StatusCode: status, Body: body, Headers: h}
}

// authorizerKind is pipeline.Authorizer.Kind for an authorizer of type typ.
func authorizerKind(typ string) string {
	switch typ {
	case apis.AuthorizerIAM:
		return "iam"
	case apis.AuthorizerJWT:
		return "jwt"
	}
	return "lambda"
}

// respellHeaders renames the $connect event's headers to the client's spelling
// (the connections package builds them with net/http's canonical names).
func respellHeaders(ev *events.APIGatewayWebsocketProxyRequest, wire wirenames.Names) {
	if len(wire) == 0 {
		return
	}
	if len(ev.Headers) > 0 {
		h := make(map[string]string, len(ev.Headers))
		for k, v := range ev.Headers {
			h[wire.EventName(k)] = v
		}
		ev.Headers = h
	}
	if len(ev.MultiValueHeaders) > 0 {
		h := make(map[string][]string, len(ev.MultiValueHeaders))
		for k, vs := range ev.MultiValueHeaders {
			h[wire.EventName(k)] = vs
		}
		ev.MultiValueHeaders = h
	}
}

// upgradeHopsKey is the context key of a WebSocket connection's upgrade
// request's hop count (hopCount), an int.
type upgradeHopsKey struct{}

// wsHTTP posts the message (or, for $connect and $disconnect, an empty body) to
// an HTTP backend and returns its answer.
func (g *Gateway) wsHTTP(ctx context.Context, rc *reqCtx, in *apis.Integration, ev *events.APIGatewayWebsocketProxyRequest) (*connections.Response, error) {
	// A $connect request's own count (its headers are the upgrade
	// request's); a message's or $disconnect's, the upgrade's that opened the
	// connection (serveWebSocket keeps it in the connection's context).
	n := hopCountOf(ev.Headers)
	if u, _ := ctx.Value(upgradeHopsKey{}).(int); u > n {
		n = u
	}
	hop, err := hopAfter(n)
	if err != nil {
		return nil, err
	}
	uri, err := apis.SubstituteStageVariables(in.URI, rc.StageVariables)
	if err != nil {
		return nil, err
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, err
		}
	}
	msg := body // what route.request.body.* mappings read
	if in.Type == apis.IntegrationHTTP {
		if body, err = wsRequestBody(ctx, rc, in, ev, msg); err != nil { // ws_mock.go
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, in.Timeout())
	defer cancel()
	method := in.HTTPMethod
	if method == "" || method == apis.MethodAny {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, uri, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("integration uri %q: %w: %w", uri, errConfig, err)
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	// The backend's way to the connection (docs/websockets.md), which
	// Portico sends where API Gateway's users map context.connectionId with
	// requestParameters; a mapping of the same header wins.
	req.Header.Set("connectionId", ev.RequestContext.ConnectionID)
	if err := applyWSRequestParameters(rc, in, ev, req, msg); err != nil { // ws_params.go
		return nil, err
	}
	req.Header[hopHeader] = []string{hop}
	resp, err := g.sendInTime(ctx, req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: %w", backendName(req.URL), errTimeout)
		}
		return nil, fmt.Errorf("%s: %w: %w", backendName(req.URL), errIntegration, scrubBackend(req.URL, err))
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(io.LimitReader(resp.Body, int64(g.ws.m.Config().MaxMessageBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", backendName(req.URL), errIntegration, scrubBackend(req.URL, err))
	}
	if in.Type == apis.IntegrationHTTP && len(in.Responses) > 0 && len(out) <= g.ws.m.Config().MaxMessageBytes {
		// Its integration responses map the answer (ws_mock.go).
		p := rc.entry.plans[in]
		if p == nil {
			return nil, fmt.Errorf("route %q: its integration's templates did not compile: %w", rc.RouteKey, errConfig)
		}
		render := (&wsRenderer{rc: rc, ev: ev, p: p}).render
		mapped, _, _, err := wsIntegrationResponse(ctx, p, in, render, resp.StatusCode, strconv.Itoa(resp.StatusCode), resp.Header, out)
		return mapped, err
	}
	return &connections.Response{StatusCode: resp.StatusCode, Body: out}, nil
}

// parseWSResult reads a function's result for a WebSocket route. A proxy-shaped
// object gives its statusCode (default 200), headers, multiValueHeaders and body
// (base64-decoded when isBase64Encoded); any other JSON value is a 200 whose body is the value (a
// string's text, else its JSON); null is a 200 without a body. A proxy-shaped
// object without a body (or with a null one) has none, so a two-way route sends
// nothing; an empty body is an empty message. Invalid JSON is a bad result (the
// client gets "Internal server error"). docs/websockets.md says the same.
func parseWSResult(payload []byte) (*connections.Response, error) {
	payload = bytes.TrimSpace(payload)
	if !json.Valid(payload) {
		return nil, fmt.Errorf("result is not JSON: %w", errBadResult)
	}
	resp := &connections.Response{StatusCode: http.StatusOK}
	switch {
	case len(payload) == 0 || string(payload) == "null":
		return resp, nil
	case payload[0] == '"':
		var s string
		_ = json.Unmarshal(payload, &s)
		resp.Body = []byte(s)
		return resp, nil
	case payload[0] != '{':
		resp.Body = payload
		return resp, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("result: %w: %w", errBadResult, err)
	}
	_, hasStatus := m["statusCode"]
	_, hasBody := m["body"]
	if !hasStatus && !hasBody {
		resp.Body = payload
		return resp, nil
	}
	if raw, ok := m["statusCode"]; ok && !isNull(raw) {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, fmt.Errorf("statusCode %s: %w", raw, errBadResult)
			}
			n = json.Number(s)
		}
		code, err := strconv.Atoi(n.String())
		if err != nil || code < 200 || code > 599 { // a 1xx is no answer, as for payload 1.0 results
			return nil, fmt.Errorf("statusCode %s: %w", raw, errBadResult)
		}
		resp.StatusCode = code
	}
	if raw, ok := m["headers"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &resp.Headers); err != nil {
			return nil, fmt.Errorf("headers: %w", errBadResult)
		}
	}
	if raw, ok := m["multiValueHeaders"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &resp.MultiValueHeaders); err != nil {
			return nil, fmt.Errorf("multiValueHeaders: %w", errBadResult)
		}
	}
	if raw, ok := m["body"]; ok && !isNull(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("body is not a string: %w", errBadResult)
		}
		resp.Body = []byte(s)
		var b64 bool
		if raw, ok := m["isBase64Encoded"]; ok {
			_ = json.Unmarshal(raw, &b64)
		}
		if b64 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("body is not base64: %w", errBadResult)
			}
			resp.Body = b
		}
	}
	return resp, nil
}
