package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/restevent"
	"github.com/portico-dev/portico/gateway/internal/wirenames"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// The builders below are the gateway's AWS_PROXY events as it built them
// before the appenders (events_append.go): aws-lambda-go structs from the
// request, encoded with encoding/json. They stay as the appenders' oracle.

// buildV1 builds the REST (payload 1.0) event, every field filled as API Gateway
// fills it; absent collections are null.
func buildV1(r *http.Request, rc *reqCtx, body []byte, stageVars map[string]string, binaryTypes []string) (*events.APIGatewayProxyRequest, error) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	h := forwardedHeaders(r, rc)
	ev := &events.APIGatewayProxyRequest{
		Resource:   rc.Route.Path,
		Path:       unescapePath(rc.Path),
		HTTPMethod: r.Method,
	}
	rest := rc.Protocol == apis.ProtocolREST
	if rest { // as the client sent it, with a custom domain's base path
		ev.Path = rc.Path
		if rc.CustomDomain {
			ev.Path = rc.StagePath()
		}
	}
	if rc.Route.Path == apis.RouteDefault {
		ev.Resource = "/" + "{proxy+}"
	}
	if len(h) > 0 {
		// REST APIs pass the client's spelling of header names (HTTP APIs keep
		// today's canonical names in payload 1.0).
		var wire wirenames.Names
		h2 := false
		if rc.Protocol == apis.ProtocolREST {
			wire = wirenames.From(r.Context())
			h2 = r.ProtoMajor == 2 // names are lower case on the wire
		}
		ev.Headers = make(map[string]string, len(h))
		ev.MultiValueHeaders = make(map[string][]string, len(h))
		for k, vs := range h {
			switch {
			case h2 && !oracleGatewayHeaders[k]:
				k = strings.ToLower(k)
			case !h2:
				k = wire.EventName(k)
			}
			ev.Headers[k] = vs[len(vs)-1]
			ev.MultiValueHeaders[k] = vs // h is this event's own copy
		}
	}
	if len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		ev.MultiValueQueryStringParameters = make(map[string][]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}
	if len(rc.PathParameters) > 0 {
		ev.PathParameters = rc.PathParameters
		if rest {
			ev.PathParameters = rc.PathParametersAsSent()
		}
	}
	if len(stageVars) > 0 {
		ev.StageVariables = stageVars
	}
	if len(body) > 0 {
		if isBinaryREST(r.Header.Get("Content-Type"), binaryTypes) || !utf8.Valid(body) {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		} else {
			ev.Body = string(body)
		}
	}
	resourcePath := ev.Resource
	ev.RequestContext = events.APIGatewayProxyRequestContext{
		AccountID:         functions.AccountID,
		ResourceID:        resourceID(rc, resourcePath),
		Stage:             rc.Stage,
		DomainName:        rc.DomainName,
		DomainPrefix:      domainPrefix(rc.DomainName),
		RequestID:         rc.APIRequestID(),
		ExtendedRequestID: rc.ExtendedRequestID,
		Protocol:          r.Proto,
		Identity: events.APIGatewayRequestIdentity{
			SourceIP:   rc.Identity.SourceIP,
			UserAgent:  r.UserAgent(),
			ClientCert: restevent.IdentityOf(r, &pipeline.Identity{}).ClientCert,
			AccessKey:  rc.Identity.AccessKey,
			APIKey:     rc.Identity.APIKey,
			APIKeyID:   rc.Identity.APIKeyID,
			AccountID:  rc.Identity.AccountID,
			Caller:     rc.Identity.Caller,
			User:       rc.Identity.User,
			UserArn:    rc.Identity.UserARN,
		},
		ResourcePath:     resourcePath,
		Path:             unescapePath(rc.StagePath()),
		HTTPMethod:       r.Method,
		RequestTime:      rc.RequestTime.UTC().Format(requestTimeLayout),
		RequestTimeEpoch: rc.RequestTime.UnixMilli(),
		APIID:            rc.APIID,
		Authorizer:       authorizerV1(&rc.Authorizer, rest),
	}
	if rest {
		ev.RequestContext.Path = rc.StagePath()
	}
	return ev, nil
}

// eventV1 is a payload 1.0 event as API Gateway sends it: aws-lambda-go's
// struct leaves out isBase64Encoded when false and has "" for no body, where
// API Gateway sends false and null.
// HTTP APIs' also start with version 1.0.
type eventV1 struct {
	Version string `json:"version,omitempty"`
	*events.APIGatewayProxyRequest
	// RequestContext is the event's, with identity's absent fields null.
	RequestContext  *requestContextV1 `json:"requestContext"`
	Body            *string           `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// requestContextV1 is a payload 1.0 event's requestContext as API Gateway
// sends it: identity's absent fields are null (aws-lambda-go's struct leaves
// them out), the rest as aws-lambda-go writes it.
type requestContextV1 struct {
	events.APIGatewayProxyRequestContext
	identity restevent.Identity
}

func (c *requestContextV1) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(c.APIGatewayProxyRequestContext)
	if err != nil {
		return nil, err
	}
	lambdaID, err := json.Marshal(c.Identity)
	if err != nil {
		return nil, err
	}
	id, err := json.Marshal(c.identity)
	if err != nil {
		return nil, err
	}
	return bytes.Replace(raw, append([]byte(`"identity":`), lambdaID...), append([]byte(`"identity":`), id...), 1), nil
}

// asSentV1 wraps a buildV1 event for encoding/json, for an API of protocol.
func asSentV1(ev *events.APIGatewayProxyRequest, protocol string) *eventV1 {
	if ev == nil {
		return nil
	}
	id := ev.RequestContext.Identity
	out := &eventV1{APIGatewayProxyRequest: ev, IsBase64Encoded: ev.IsBase64Encoded, RequestContext: &requestContextV1{
		APIGatewayProxyRequestContext: ev.RequestContext,
		identity: restevent.Identity{SourceIP: id.SourceIP, UserAgent: id.UserAgent, APIKey: id.APIKey, APIKeyID: id.APIKeyID,
			AccessKey: id.AccessKey, AccountID: id.AccountID, Caller: id.Caller, User: id.User, UserARN: id.UserArn, ClientCert: id.ClientCert},
	}}
	if protocol != apis.ProtocolREST {
		out.Version = "1.0"
	}
	if ev.Body != "" {
		out.Body = &ev.Body
	}
	return out
}

// buildV2 builds the HTTP API (payload 2.0) event.
func buildV2(r *http.Request, rc *reqCtx, body []byte, stageVars map[string]string) (*events.APIGatewayV2HTTPRequest, error) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	h := forwardedHeaders(r, rc)
	routeKey := rc.Route.RouteKey
	ev := &events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       routeKey,
		RawPath:        unescapePath(rc.StagePath()),
		RawQueryString: r.URL.RawQuery,
		Headers:        make(map[string]string, len(h)),
	}
	for k, vs := range h {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		if prev, ok := ev.Headers[lk]; ok {
			ev.Headers[lk] = prev + "," + strings.Join(vs, ",")
		} else {
			ev.Headers[lk] = strings.Join(vs, ",")
		}
	}
	if len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if len(rc.PathParameters) > 0 {
		ev.PathParameters = rc.PathParameters
	}
	if len(stageVars) > 0 {
		ev.StageVariables = stageVars
	}
	if len(body) > 0 {
		if isTextHTTP(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	ev.RequestContext = events.APIGatewayV2HTTPRequestContext{
		RouteKey:     routeKey,
		AccountID:    functions.AccountID,
		Stage:        rc.Stage,
		RequestID:    rc.ExtendedRequestID,
		APIID:        rc.APIID,
		DomainName:   rc.DomainName,
		DomainPrefix: domainPrefix(rc.DomainName),
		Time:         rc.RequestTime.UTC().Format(requestTimeLayout),
		TimeEpoch:    rc.RequestTime.UnixMilli(),
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method:    r.Method,
			Path:      unescapePath(rc.StagePath()),
			Protocol:  r.Proto,
			SourceIP:  rc.Identity.SourceIP,
			UserAgent: r.UserAgent(),
		},
		Authentication: clientCertV2(r),
		Authorizer:     authorizerV2(&rc.Authorizer, &rc.Identity),
	}
	return ev, nil
}

// oracleGatewayHeaders are the headers the gateway adds or keeps in events,
// whose names stay canonical over HTTP/2.
var oracleGatewayHeaders = map[string]bool{"Host": true, "X-Forwarded-For": true, "X-Forwarded-Port": true, "X-Forwarded-Proto": true, "X-Amzn-Trace-Id": true}
