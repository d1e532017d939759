package pipeline

import (
	"encoding/json"

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
