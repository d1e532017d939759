package accesslog

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
)

// WebSocket stages' dispatches ($connect, messages, $disconnect) do not pass
// through the pipeline: the gateway hands each to LogWebSocket, which writes
// one line per dispatch, as API Gateway's WebSocket access logging does,
// with the WebSocket $context variables (connectionId, eventType, messageId,
// ...).

// wsKey names one WebSocket stage.
type wsKey struct{ apiID, stage string }

// wsLog is a WebSocket stage's compiled access log.
type wsLog struct {
	f *Format
	k *sink
	t Target
}

// wsLogs are the WebSocket stages' access logs by stage (wsKey -> *wsLog),
// set when a stage compiles.
type wsLogs struct{ m sync.Map }

// setWebSocket records (or, with f nil, forgets) the access log of the
// WebSocket stage d.
func (s *Stage) setWebSocket(d *pipeline.Deployed, f *Format, k *sink, t Target) {
	if d.API == nil || d.API.Protocol != apis.ProtocolWebSocket {
		return
	}
	key := wsKey{d.Stage.APIID, d.Stage.Name}
	if f == nil {
		s.ws.m.Delete(key)
		return
	}
	s.ws.m.Store(key, &wsLog{f: f, k: k, t: t})
}

// LogWebSocket implements the gateway's WebSocketLogger: it returns the func
// that writes the line of one route dispatch once it ended, or nil for a
// stage without an access log.
func (s *Stage) LogWebSocket(d *pipeline.Deployed, route *apis.Route, ev *events.APIGatewayWebsocketProxyRequest, o *pipeline.WSOutcome) func(*connections.Response, error) {
	v, ok := s.ws.m.Load(wsKey{d.Stage.APIID, d.Stage.Name})
	if !ok {
		return nil
	}
	l := v.(*wsLog)
	start := s.opts.Now()
	return func(resp *connections.Response, err error) {
		rc := &ev.RequestContext
		c := &pipeline.Context{RequestID: rc.RequestID, ExtendedRequestID: rc.ExtendedRequestID, APIID: rc.APIID, Stage: rc.Stage,
			Protocol: apis.ProtocolWebSocket, DeploymentID: d.Deployment.ID, DomainName: rc.DomainName, RouteKey: route.RouteKey,
			Deployed: d, RequestTime: time.UnixMilli(rc.RequestTimeEpoch), IsCanaryRequest: d.Canary}
		c.Identity.SourceIP, c.Identity.UserAgent = rc.Identity.SourceIP, rc.Identity.UserAgent
		latency := s.opts.Now().Sub(start)
		// A dispatch the gateway refused (its $connect authorizer, a
		// throttle) ran no integration: integrationLatency is "-", and the
		// refusal is error.message, as on REST and HTTP APIs.
		c.Integration.Ran = o == nil || o.IntegrationRan
		if c.Integration.Ran {
			c.IntegrationLatency = latency
		}
		if o != nil {
			c.Authorizer = o.Authorizer
			c.Error = o.Error
		}
		// $context.authorizer.principalId and .NAME: the connection's
		// $connect authorizer's, on $connect and on its later messages.
		c.Authorizer.SetConnection(rc.Authorizer)
		status := http.StatusOK
		if resp != nil && resp.StatusCode != 0 {
			status = resp.StatusCode
		}
		if err != nil {
			// As the connections package answers the client.
			status = http.StatusInternalServerError
			c.Error.Message = "Internal server error"
			if errors.Is(err, errdefs.ErrTimeout) {
				status, c.Error.Message = http.StatusGatewayTimeout, "Endpoint request timed out"
			}
			c.Integration.Error = pipeline.ErrorText(err)
		}
		var n int64
		if resp != nil {
			n = int64(len(resp.Body))
		}
		rec := Record{C: c, Status: status, ResponseLength: n, Latency: latency, Protocol: "WEBSOCKET", RequestLength: int64(len(ev.Body)), WS: ev}
		line := bufPool.Get().(*[]byte)
		*line = append(l.f.Append(*line, &rec), '\n')
		held, fallback := s.liveSink(l.k, l.t)
		held.put(line)
		held.release()
		if fallback {
			s.mu.Lock()
			s.sweepLocked()
			s.mu.Unlock()
		}
	}
}

// wsVar is a WebSocket variable: nothing outside a WebSocket dispatch.
func wsVar(f func(rc *events.APIGatewayWebsocketProxyRequestContext) string) getter {
	return func(b []byte, r *Record) []byte {
		if r.WS == nil {
			return b
		}
		return append(b, f(&r.WS.RequestContext)...)
	}
}

// wsVariables are API Gateway's WebSocket $context variables.
var wsVariables = map[string]getter{
	"connectionId": wsVar(func(rc *events.APIGatewayWebsocketProxyRequestContext) string { return rc.ConnectionID }),
	"eventType":    wsVar(func(rc *events.APIGatewayWebsocketProxyRequestContext) string { return rc.EventType }),
	"messageId": wsVar(func(rc *events.APIGatewayWebsocketProxyRequestContext) string {
		if id, ok := rc.MessageID.(string); ok {
			return id
		}
		return ""
	}),
	"messageDirection": wsVar(func(rc *events.APIGatewayWebsocketProxyRequestContext) string { return rc.MessageDirection }),
	"disconnectReason": wsVar(func(rc *events.APIGatewayWebsocketProxyRequestContext) string {
		if rc.DisconnectReason == nil {
			return ""
		}
		return *rc.DisconnectReason
	}),
	"connectedAt": wsVar(func(rc *events.APIGatewayWebsocketProxyRequestContext) string {
		if rc.ConnectedAt == 0 {
			return ""
		}
		return strconv.FormatInt(rc.ConnectedAt, 10)
	}),
	"disconnectStatusCode": wsVar(func(rc *events.APIGatewayWebsocketProxyRequestContext) string {
		if rc.DisconnectStatusCode == 0 {
			return ""
		}
		return strconv.FormatInt(rc.DisconnectStatusCode, 10)
	}),
}

func init() {
	for k, g := range wsVariables {
		variables[k] = g
	}
}
