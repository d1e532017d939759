package pipeline

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/mapping"
)

// MappingContext returns $context for mapping templates, filled from c: request
// and API identity, the matched route, identity.*, authorizer.* (principalId and
// the authorizer's context or claims), error.* and isCanaryRequest. The override
// maps (requestOverride, responseOverride) start empty.
func (c *Context) MappingContext() *mapping.Map {
	m := mapping.NewContext()
	m.Set("accountId", "000000000000")
	m.Set("apiId", c.APIID)
	m.Set("deploymentId", c.DeploymentID)
	m.Set("domainName", c.DomainName)
	m.Set("domainPrefix", c.DomainPrefix)
	m.Set("extendedRequestId", c.ExtendedRequestID)
	m.Set("httpMethod", c.HTTPMethod)
	m.Set("path", c.StagePrefix+c.Path)
	m.Set("protocol", "HTTP/1.1")
	m.Set("requestId", c.RequestID)
	m.Set("requestTime", c.RequestTime.Format("02/Jan/2006:15:04:05 -0700"))
	m.Set("requestTimeEpoch", c.RequestTime.UnixMilli())
	m.Set("resourcePath", c.ResourcePath)
	m.Set("routeKey", c.RouteKey)
	m.Set("stage", c.Stage)
	m.Set("isCanaryRequest", c.IsCanaryRequest)
	m.SetPath("identity.sourceIp", c.Identity.SourceIP)
	m.SetPath("identity.userAgent", c.Identity.UserAgent)
	m.SetPath("identity.apiKey", c.Identity.APIKey)
	m.SetPath("identity.apiKeyId", c.Identity.APIKeyID)
	m.SetPath("identity.accessKey", c.Identity.AccessKey)
	m.SetPath("identity.caller", c.Identity.Caller)
	m.SetPath("identity.user", c.Identity.User)
	m.SetPath("identity.userArn", c.Identity.UserARN)
	m.SetPath("identity.accountId", c.Identity.AccountID)
	auth := mapping.NewMap()
	if c.Authorizer.PrincipalID != "" {
		auth.Set("principalId", c.Authorizer.PrincipalID)
	}
	for k, v := range c.Authorizer.Context {
		auth.Set(k, v)
	}
	m.Set("authorizer", auth)
	msg := c.Error.Message
	m.SetPath("error.message", msg)
	js, _ := json.Marshal(msg)
	m.SetPath("error.messageString", string(js))
	m.SetPath("error.responseType", string(c.Error.ResponseType))
	m.SetPath("error.validationErrorString", c.Error.ValidationErrorString)
	return m
}

// ParamValue resolves a parameter mapping's source as API Gateway writes it in
// requestParameters and gateway responses' responseParameters: a 'literal',
// method.request.{header,querystring,multivaluequerystring,path}.NAME,
// stageVariables.NAME or context.NAME (looked up in ctx, the request's
// $context). ok is false when the source names nothing present.
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
	if name, ok := strings.CutPrefix(src, "method.request.header."); ok {
		vs := r.Header.Values(name)
		return strings.Join(vs, ","), len(vs) > 0
	}
	if name, ok := strings.CutPrefix(src, "method.request.querystring."); ok {
		q := r.URL.Query()
		return q.Get(name), q.Has(name)
	}
	if name, ok := strings.CutPrefix(src, "method.request.multivaluequerystring."); ok {
		vs := r.URL.Query()[name]
		return strings.Join(vs, ","), len(vs) > 0
	}
	return "", false
}
