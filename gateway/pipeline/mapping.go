package pipeline

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/portico-dev/portico/gateway/apis"

	"github.com/portico-dev/portico/gateway/mapping"
)

// contextKeys is how many keys MappingContext sets, besides the override
// maps, with the resourceId the gateway adds: $context is built in one
// allocation with room for them.
const contextKeys = 20

// MappingContext returns $context for mapping templates, filled from c: request
// and API identity, the matched route, identity.*, authorizer.* (principalId and
// the authorizer's context or claims), error.* and isCanaryRequest;
// identity.clientCert on a mutual TLS connection. The override
// maps (requestOverride, responseOverride) start empty.
func (c *Context) MappingContext() *mapping.Map {
	// Strings are set in runs (SetStrings, SetStringMap): a request with
	// templates builds $context in about fifteen allocations.
	m := mapping.NewContextSize(contextKeys)
	proto := c.HTTPProtocol
	if proto == "" { // a WebSocket message's context: its connection's upgrade was HTTP/1.1
		proto = "HTTP/1.1"
	}
	m.SetStrings("accountId", "000000000000", "apiId", c.APIID, "deploymentId", c.DeploymentID,
		"domainName", c.DomainName, "domainPrefix", c.DomainPrefix, "extendedRequestId", c.ExtendedRequestID,
		"httpMethod", c.HTTPMethod, "path", c.StagePath(), "protocol", proto, "requestId", c.APIRequestID(),
		"requestTime", c.RequestTime.UTC().Format("02/Jan/2006:15:04:05 -0700"))
	m.Set("requestTimeEpoch", c.RequestTime.UnixMilli())
	m.SetStrings("resourcePath", c.ResourcePath, "routeKey", c.RouteKey, "stage", c.Stage)
	m.Set("isCanaryRequest", c.IsCanaryRequest)
	id := &c.Identity
	m.SetStringMap("identity", "sourceIp", id.SourceIP, "userAgent", id.UserAgent, "apiKey", id.APIKey,
		"apiKeyId", id.APIKeyID, "accessKey", id.AccessKey, "caller", id.Caller, "user", id.User,
		"userArn", id.UserARN, "accountId", id.AccountID,
		// Documented keys Portico has no source for render as "", as they do
		// on API Gateway for a request without Cognito or a VPC endpoint.
		"cognitoAuthenticationProvider", "", "cognitoAuthenticationType", "", "cognitoIdentityId", "",
		"cognitoIdentityPoolId", "", "principalOrgId", "", "vpcId", "", "vpceId", "")
	idv, _ := m.Get("identity")
	if idm, ok := idv.(*mapping.Map); ok {
		idm.UnsetAsEmpty() // clientCert.* without mutual TLS, as API Gateway renders it: ""
	}
	if cc := id.ClientCert(); cc != nil {
		if idm, ok := idv.(*mapping.Map); ok {
			idm.SetStringMap("clientCert", "clientCertPem", cc.PEM, "subjectDN", cc.SubjectDN, "issuerDN", cc.IssuerDN,
				"serialNumber", cc.SerialNumber)
			if ccm, ok := idm.Get("clientCert"); ok {
				ccm.(*mapping.Map).SetStringMap("validity", "notBefore", cc.NotBefore, "notAfter", cc.NotAfter)
			}
		}
	}
	m.Set("authorizer", c.authorizerMap())
	msg := c.Error.Message
	js := `""`
	if msg != "" {
		b, _ := json.Marshal(msg)
		js = string(b)
	}
	m.SetStringMap("error", "message", msg, "messageString", js, "responseType", string(c.Error.ResponseType),
		"validationErrorString", c.Error.ValidationErrorString)
	return m
}

// authorizerMap is $context.authorizer: principalId ("" without an
// authorizer, as API Gateway renders it), then the authorizer's context in
// sorted order (so that it renders the same each time), numbers and booleans
// as strings ("3", not 3.0; "true"), as the proxy event carries them.
// principalId is always the principal the authorizer answered with (or the
// JWT's sub): a context key (or claim) of that name never replaces it, as it
// does not in the proxy event, so that a context copied from what a client
// sent cannot choose the principal a template or an access log sees.
func (c *Context) authorizerMap() *mapping.Map {
	a := &c.Authorizer
	auth := mapping.NewMapSize(len(a.Context) + 1)
	auth.UnsetAsEmpty() // claims.sub, a context key this authorizer did not set: ""
	auth.Set("principalId", a.PrincipalID)
	var buf [16]string
	keys := buf[:0]
	for k := range a.Context {
		if k != "principalId" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		auth.Set(k, StringifyContextValue(a.Context[k]))
	}
	return auth
}

// ParamValue resolves a parameter mapping's source as API Gateway writes it in
// requestParameters and gateway responses' responseParameters: a 'literal',
// method.request.{path,querystring,multivaluequerystring,header,multivalueheader}.NAME,
// method.request.body, method.request.body.JSONPATH (without its "$."),
// stageVariables.NAME or context.NAME (looked up in ctx, the request's
// $context). A repeated header or query parameter is its last value (header,
// querystring), as the proxy event's headers and queryStringParameters, or
// all of them joined with commas (multivalueheader, multivaluequerystring). The body is what
// c.ReadBody returns; a JSONPath selects a string as it is and anything else
// as its JSON. ok is false when the source names nothing present.
func (c *Context) ParamValue(src string, r *http.Request, ctx *mapping.Map) (string, bool) {
	if len(src) >= 2 && src[0] == '\'' && src[len(src)-1] == '\'' {
		return src[1 : len(src)-1], true
	}
	if name, ok := strings.CutPrefix(src, "context."); ok {
		if ctx == nil {
			return "", false
		}
		v, found := ctx.GetPath(name)
		if !found || v == nil {
			return "", false
		}
		return fmt.Sprint(v), true
	}
	if name, ok := strings.CutPrefix(src, "stageVariables."); ok {
		v, found := c.StageVariables[name]
		return v, found
	}
	if name, ok := strings.CutPrefix(src, "method.request.path."); ok {
		v, found := c.PathParameters[name]
		return v, found
	}
	if r == nil {
		return "", false
	}
	// A repeated header or query parameter reads as its last value, as the
	// proxy event's headers and queryStringParameters have it; the
	// multivalue forms read every value.
	if name, ok := strings.CutPrefix(src, "method.request.header."); ok {
		vs := HeaderValues(r, name)
		if len(vs) == 0 {
			return "", false
		}
		return vs[len(vs)-1], true
	}
	if name, ok := strings.CutPrefix(src, "method.request.multivalueheader."); ok {
		vs := HeaderValues(r, name)
		return strings.Join(vs, ","), len(vs) > 0
	}
	if name, ok := strings.CutPrefix(src, "method.request.querystring."); ok {
		vs := r.URL.Query()[name]
		if len(vs) == 0 {
			return "", false
		}
		return vs[len(vs)-1], true
	}
	if name, ok := strings.CutPrefix(src, "method.request.multivaluequerystring."); ok {
		vs := r.URL.Query()[name]
		return strings.Join(vs, ","), len(vs) > 0
	}
	if rest, ok := strings.CutPrefix(src, "method.request.body"); ok && (rest == "" || rest[0] == '.') {
		body, err := c.ReadBody(r)
		if err != nil {
			return "", false
		}
		if rest == "" {
			return string(body), true
		}
		p, err := bodyPath(rest[1:])
		if err != nil {
			return "", false
		}
		return mapping.SelectJSON(body, p)
	}
	return "", false
}

// bodyPaths caches the compiled JSONPaths of method.request.body.JSONPATH
// sources by their text. Sources come from the APIs' definitions, never from
// requests, so the cache holds at most one entry per expression configured.
var bodyPaths sync.Map // string -> *mapping.JSONPath

// bodyPath returns the compiled JSONPath "$."+path (path may start with its
// own "$.", as apis.BodyPath takes it).
func bodyPath(path string) (*mapping.JSONPath, error) {
	if p, ok := bodyPaths.Load(path); ok {
		return p.(*mapping.JSONPath), nil
	}
	rel := path
	if r, ok := apis.BodyPath(path); ok {
		rel = r // without its "$."
	}
	p, err := mapping.CompileJSONPath("$." + rel)
	if err != nil {
		return nil, err
	}
	bodyPaths.Store(path, p)
	return p, nil
}
