package upgradetest_test

import (
	"maps"
	"net/url"
	"reflect"
	"regexp"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/upgradetest"
)

// migration is an intended difference between what an old build read back
// and what this build reads back from the same data: a migration of the
// store, or a documented readback change (docs/operations.md, "Upgrading").
// For a readback whose admin path matches readback, of a fixture whose
// schema is below before (0: any), fix turns the old build's answer into
// what this build should answer. Everything else must read back the same.
type migration struct {
	readback string
	before   int
	why      string
	fix      func(g upgradetest.Golden, e upgradetest.Exchange, old any)
}

// migrations are every intended difference, each with its commit and reason.
var migrations = []migration{
	{readback: `/2015-03-31/functions.*`, why: "d60b0bf: function configurations read back a LoggingConfig " +
		"(LogFormat Text, LogGroup /aws/lambda/NAME) as Lambda's get-function(-configuration) do; older builds had none",
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				name, ok := o["FunctionName"].(string)
				if _, has := o["LoggingConfig"]; ok && !has && o["Handler"] != nil {
					o["LoggingConfig"] = map[string]any{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + name}
				}
			})
		}},
	{readback: `/portico/v1/apis/[^/]+/stages(/[^/]+)?`, why: "70031579: a WebSocket API's stages read back " +
		"their url as ws:// (wss:// over TLS), the scheme its clients connect with; older builds said http://",
		fix: func(g upgradetest.Golden, e upgradetest.Exchange, old any) {
			id, _, _ := strings.Cut(strings.TrimPrefix(e.Path, "/portico/v1/apis/"), "/")
			ws := false
			for _, r := range g.Readbacks {
				if a, ok := r.Answer.(map[string]any); ok && r.Path == "/portico/v1/apis/"+id {
					ws = a["protocol"] == "WEBSOCKET"
				}
			}
			if !ws {
				return
			}
			objects(old, func(o map[string]any) {
				if u, ok := o["url"].(string); ok {
					o["url"] = strings.Replace(strings.Replace(u, "https://", "wss://", 1), "http://", "ws://", 1)
				}
			})
		}},
	{readback: `/restapis(/[^/?]+)?`, why: "b560eac: get-rest-api(s) return policy escaped, as API Gateway does " +
		`(\" and \/), where older builds returned the JSON unescaped`,
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				if p, ok := o["policy"].(string); ok && !strings.Contains(p, `\"`) {
					o["policy"] = strings.NewReplacer(`"`, `\"`, `/`, `\/`).Replace(p)
				}
			})
		}},
	{readback: `/restapis/[^/]+/stages(/[^/]+)?`, why: "23d2918: REST stages' method settings are keyed as API Gateway " +
		"keys them (~1mock/GET where older builds said /mock/GET)",
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				ms, _ := o["methodSettings"].(map[string]any)
				for k, v := range ms {
					if i := strings.LastIndex(k, "/"); strings.HasPrefix(k, "/") && i > 0 {
						delete(ms, k)
						ms[strings.ReplaceAll(k[:i], "/", "~1")+k[i:]] = v
					}
				}
			})
		}},
	{readback: `/v2/apis/[^/]+/integrations.*`, why: "HTTP API integrations read back timeoutInMillis 30000, API " +
		"Gateway's default for HTTP APIs, where older builds said 29000 (WebSocket APIs keep 29000)",
		fix: func(g upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				if t, _ := o["timeoutInMillis"].(float64); t == 29000 && protocol(g, o) == "HTTP" {
					o["timeoutInMillis"] = float64(30000)
				}
			})
		}},
	{readback: `/v2/apis/[^/]+/stages.*`, why: "54fda4b: HTTP API stages neither show nor take loggingLevel and " +
		"dataTraceEnabled in their route settings (API Gateway has them for WebSocket APIs only)",
		fix: func(g upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				if _, ok := o["stageName"]; !ok || protocol(g, o) != "HTTP" {
					return
				}
				settings := []any{o["defaultRouteSettings"]}
				rs, _ := o["routeSettings"].(map[string]any)
				for _, s := range rs {
					settings = append(settings, s)
				}
				for _, s := range settings {
					if s, ok := s.(map[string]any); ok {
						delete(s, "loggingLevel")
						delete(s, "dataTraceEnabled")
					}
				}
			})
		}},
	{readback: `/v2/apis/[^/]+/authorizers.*|/portico/v1/apis(/[^/]+)?|/portico/v1/apis/[^/]+/deployments/[^/]+`,
		why: "c2b442e: an HTTP API's Lambda (REQUEST) authorizer keeps authorizerPayloadFormatVersion explicitly, " +
			"so that get-authorizers and exports show what runs; one an older build stored without it ran, and " +
			"reads back, with 2.0",
		fix: func(g upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				// apigatewayv2's shape
				if o["authorizerType"] == "REQUEST" && o["authorizerPayloadFormatVersion"] == nil && protocol(g, o) == "HTTP" {
					o["authorizerPayloadFormatVersion"] = "2.0"
				}
				// Portico's: an HTTP API (or a deployment's snapshot of one) with security schemes
				if o["protocol"] != "HTTP" {
					return
				}
				auths, _ := o["authorizers"].(map[string]any)
				for _, sch := range auths {
					sch, _ := sch.(map[string]any)
					x, _ := sch["x-amazon-apigateway-authorizer"].(map[string]any)
					if t, _ := x["type"].(string); strings.EqualFold(t, "request") && x["authorizerPayloadFormatVersion"] == nil {
						x["authorizerPayloadFormatVersion"] = "2.0"
					}
				}
			})
		}},
	{readback: `/domainnames(/[^/]+)?|/v2/domainnames(/[^/]+)?`, why: "6826589: a custom domain's regionalDomainName " +
		"(v2: apiGatewayDomainName) is the host DNS should point at, the gateway's TLS listener's (its plain " +
		"listener's without TLS), where older builds repeated the domain name",
		fix: func(g upgradetest.Golden, _ upgradetest.Exchange, old any) {
			listener := g.TLSURL
			if listener == "" {
				listener = g.GatewayURL
			}
			u, err := url.Parse(listener)
			if err != nil {
				return
			}
			objects(old, func(o map[string]any) {
				for _, k := range []string{"regionalDomainName", "apiGatewayDomainName"} {
					if _, ok := o[k].(string); ok {
						o[k] = u.Hostname()
					}
				}
			})
		}},
	{readback: `/portico/v1/stacks(/[^/]+)?`, why: "92f0ee1: stack records count their writes in revision; " +
		"one an older build wrote has none and reads back revision 0 (the next deploy writes 1)",
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				if _, ok := o["revision"]; !ok && o["template"] != nil {
					o["revision"] = 0.0
				}
			})
		}},
	{readback: `/2015-03-31/functions/[^/?]+(\?.*)?`, why: "41e2977: GetFunction's Code.Location is a presigned URL " +
		"(X-Portico-Expires, X-Portico-Signature) that works without the admin token, as Lambda's does; older builds " +
		"gave the bare code route. The signature differs per server process: presigned() strips it from both sides",
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) {}},
	{readback: `/restapis/[^/]+/stages/[^/]+/exports/oas30.*`, why: "fix-openapi (session 37): a stage's OpenAPI 3 " +
		"export carries its URL in servers, as API Gateway's does (GATEWAY/API/{basePath}, basePath defaulting to the stage)",
		fix: func(g upgradetest.Golden, e upgradetest.Exchange, old any) {
			o, ok := old.(map[string]any)
			parts := strings.Split(strings.TrimPrefix(e.Path, "/"), "/") // restapis ID stages STAGE exports oas30
			if !ok || o["servers"] != nil || len(parts) < 4 {
				return
			}
			o["servers"] = []any{map[string]any{"url": g.GatewayURL + "/" + parts[1] + "/{basePath}",
				"variables": map[string]any{"basePath": map[string]any{"default": parts[3]}}}}
		}},
	{readback: `/v2/apis/[^/]+/integrations.*`, why: "6758876 (session 45): a WebSocket integration that sets no " +
		"passthroughBehavior reads back WHEN_NO_MATCH, its default, as apigatewayv2 reports it; older builds left it out",
		fix: func(g upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				if _, has := o["passthroughBehavior"]; !has && o["integrationType"] != nil && protocol(g, o) == "WEBSOCKET" {
					o["passthroughBehavior"] = "WHEN_NO_MATCH"
				}
			})
		}},
	{readback: `/restapis/[^/]+/gatewayresponses`, why: "800cefa (session 45): a gateway response type still on its " +
		"defaults reads back with its customised family's (DEFAULT_4XX, DEFAULT_5XX) responseParameters and " +
		"responseTemplates, which it is served with; older builds read back only the family's status",
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) { gatewayResponseFamilies(old) }},
	{readback: `/portico/v1/apis/[^/]+/stages`, before: 2,
		why: "78880e2, schema 2: a stage method setting leaves a throttle that is not set out, where schema 1 " +
			"stored 0/0 for it (which Portico's API read back as -1, not set)",
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				ms, _ := o["methodSettings"].(map[string]any)
				for _, v := range ms {
					if v, ok := v.(map[string]any); ok && v["throttlingBurstLimit"] == -1.0 && v["throttlingRateLimit"] == -1.0 {
						delete(v, "throttlingBurstLimit")
						delete(v, "throttlingRateLimit")
					}
				}
			})
		}},
	{readback: `/v2/apis/[^/]+/stages.*`, why: "fix-v2api15: an autoDeploy stage serving a deployment reads back " +
		"lastDeploymentStatusMessage \"Successfully deployed stage with deployment ID 'ID'\", as API Gateway's get-stages " +
		"shows it; older builds said it on failure only",
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) {
			objects(old, func(o map[string]any) {
				id, _ := o["deploymentId"].(string)
				if auto, _ := o["autoDeploy"].(bool); auto && id != "" && o["lastDeploymentStatusMessage"] == nil {
					o["lastDeploymentStatusMessage"] = "Successfully deployed stage with deployment ID '" + id + "'"
				}
			})
		}},
	{readback: `/portico/v1/apis/[^/]+/stages|/v2/apis/[^/]+/stages.*`, before: 3,
		why: "ab23b95, schema 3: a stage method or route setting's burst of 0 beside a rate above 0 is left out " +
			"(inherited), as the builds before c118483 served it with a burst of its rate",
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) { burstZeroBesideRate(old, nil) }},
	{readback: `/restapis/[^/]+/stages.*`, before: 3,
		why: "ab23b95, schema 3: the same, read back by get-stage as -1 (inherited)",
		fix: func(_ upgradetest.Golden, _ upgradetest.Exchange, old any) { burstZeroBesideRate(old, -1.0) }},
	{readback: `/restapis/[^/]+/(resources.*|authorizers.*|stages/[^/]+/exports/.*)|/v2/apis/[^/]+/(integrations|authorizers|exports).*|/portico/v1/apis/[^/]+/export.*`,
		why: "fix-arn13: a function integration's URI and a Lambda authorizer's authorizerUri stored as function:NAME " +
			"read back as API Gateway reports them (get-integration, get-method, get-resources, get-authorizers, apigatewayv2 " +
			"get-integrations and get-authorizers, every export): the invocation ARN, an HTTP API integration's the function " +
			"ARN. The store keeps them as given, and Portico's own API (/portico/v1/apis/ID) reads them back so",
		fix: func(g upgradetest.Golden, e upgradetest.Exchange, old any) { reportLambdaURIs(g, e, old) }},
}

// reportLambdaURIs makes every function:NAME integration URI and
// authorizerUri in readback e's old answer what this build reports for it.
func reportLambdaURIs(g upgradetest.Golden, e upgradetest.Exchange, old any) {
	proto := apis.ProtocolREST
	for _, prefix := range []string{"/v2/apis/", "/portico/v1/apis/"} {
		if rest, ok := strings.CutPrefix(e.Path, prefix); ok {
			id, _, _ := strings.Cut(rest, "/")
			proto = apiProtocol(g, id)
		}
	}
	objects(old, func(o map[string]any) {
		if u, ok := o["authorizerUri"].(string); ok {
			o["authorizerUri"] = apis.ReportedAuthorizerURI(u)
		}
		for _, k := range [][2]string{{"uri", "type"}, {"integrationUri", "integrationType"}} {
			u, ok := o[k[0]].(string)
			typ, _ := o[k[1]].(string)
			if ok && typ != "" {
				o[k[0]] = apis.ReportedURI(proto, typ, u)
			}
		}
	})
}

// apiProtocol is the protocol of API id as the old build read it back
// (Portico's protocol, or apigatewayv2's protocolType).
func apiProtocol(g upgradetest.Golden, id string) string {
	for _, r := range g.Readbacks {
		m, _ := r.Answer.(map[string]any)
		switch r.Path {
		case "/portico/v1/apis/" + id:
			if p, ok := m["protocol"].(string); ok {
				return p
			}
		case "/v2/apis/" + id:
			if p, ok := m["protocolType"].(string); ok {
				return p
			}
		}
	}
	return ""
}

// gatewayResponseFamilies gives every gateway response type of a
// get-gateway-responses answer that is still on its defaults the
// responseParameters and (when it has any) responseTemplates of its family,
// DEFAULT_4XX or DEFAULT_5XX by its status, when the family is customised.
func gatewayResponseFamilies(v any) {
	m, _ := v.(map[string]any)
	items, _ := m["item"].([]any)
	family := map[byte]map[string]any{}
	for _, it := range items {
		o, _ := it.(map[string]any)
		if def, _ := o["defaultResponse"].(bool); def {
			continue
		}
		switch o["responseType"] {
		case "DEFAULT_4XX":
			family['4'] = o
		case "DEFAULT_5XX":
			family['5'] = o
		}
	}
	for _, it := range items {
		o, _ := it.(map[string]any)
		status, _ := o["statusCode"].(string)
		if def, _ := o["defaultResponse"].(bool); !def || status == "" {
			continue
		}
		f := family[status[0]]
		if f == nil {
			continue
		}
		if p, ok := f["responseParameters"].(map[string]any); ok {
			o["responseParameters"] = maps.Clone(p)
		}
		if t, ok := f["responseTemplates"].(map[string]any); ok && len(t) > 0 {
			o["responseTemplates"] = maps.Clone(t)
		}
	}
}

// burstZeroBesideRate sets every throttlingBurstLimit of 0 beside a
// throttlingRateLimit above 0 in v to to, or leaves it out when to is nil.
func burstZeroBesideRate(v, to any) {
	objects(v, func(o map[string]any) {
		if b, ok := o["throttlingBurstLimit"].(float64); ok && b == 0 {
			if r, _ := o["throttlingRateLimit"].(float64); r > 0 {
				delete(o, "throttlingBurstLimit")
				if to != nil {
					o["throttlingBurstLimit"] = to
				}
			}
		}
	})
}

// migrate returns what this build should read back of readback e of fixture
// g: the old answer with every migration that applies made.
func migrate(g upgradetest.Golden, e upgradetest.Exchange, old any) any {
	for _, m := range migrations {
		if (m.before == 0 || g.Schema < m.before) && regexp.MustCompile("^(?:"+m.readback+")$").MatchString(e.Path) {
			m.fix(g, e, old)
		}
	}
	return old
}

// objects calls fn with every JSON object in v, outermost first.
func objects(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, e := range v {
			objects(e, fn)
		}
	case []any:
		for _, e := range v {
			objects(e, fn)
		}
	}
}

// protocol returns the protocol (HTTP, WEBSOCKET) of the API that o, an
// apigatewayv2 stage or integration as the old build read it back, belongs
// to: the API whose /v2/apis/ID readbacks hold o.
func protocol(g upgradetest.Golden, o map[string]any) string {
	for _, r := range g.Readbacks {
		rest, ok := strings.CutPrefix(r.Path, "/v2/apis/")
		if !ok || !strings.Contains(rest, "/") {
			continue
		}
		id, _, _ := strings.Cut(rest, "/")
		found := false
		objects(r.Answer, func(x map[string]any) { found = found || reflect.DeepEqual(x, o) })
		if !found {
			continue
		}
		for _, a := range g.Readbacks {
			if m, ok := a.Answer.(map[string]any); ok && a.Path == "/v2/apis/"+id {
				p, _ := m["protocolType"].(string)
				return p
			}
		}
	}
	return ""
}

// throttledChange is an intended difference in what the gateway answers: a
// request that a schema 2 build from c118483 on throttled (429) because of a
// burst of 0 beside a rate, which this build serves after the migration
// (ab23b95, schema 3) left that burst out. Builds before c118483 served them
// with a burst of their rate, and recorded these answers.
type throttledChange struct {
	request string
	status  int
	answer  any
}

var throttledChanges = []throttledChange{
	{"rest pets valid", 200, map[string]any{"created": ""}},
	{"rest pets invalid body", 400, map[string]any{"message": "Invalid request body"}},
	{"rest keyed with the second plan's key (rate 10, burst 0)", 200, map[string]any{"keyed": true}},
	{"http hello (alias live)", 200, map[string]any{"fn": "hello", "version": "2", "greeting": "hey"}},
}

// migrateRequest returns what this build should answer to request e of
// fixture g.
func migrateRequest(g upgradetest.Golden, e upgradetest.Exchange) upgradetest.Exchange {
	if e.Auth == "jwt" && e.Status == 200 && g.JWT != nil && !g.JWT.TLS {
		// fix-authz23: an issuer's keys are fetched over https only. An API
		// an older build stored with an http:// issuer still loads, and its
		// tokens are refused (401) until the issuer is changed to https.
		e.Status, e.Answer = 401, map[string]any{"message": "Unauthorized"}
		return e
	}
	if m, ok := e.Answer.(map[string]any); ok && e.Status == 404 && m["Type"] == "User" && m["message"] != nil {
		// fix-lambda16: Lambda's ResourceNotFoundException spells its message
		// "Message", as Lambda's API model and Lambda do; older builds said
		// "message". (A 404 of Portico's own types, which keep "message", says
		// no "Function not found".)
		if msg, _ := m["message"].(string); strings.HasPrefix(msg, "Function not found: ") {
			e.Answer = map[string]any{"Type": "User", "Message": msg}
		}
	}
	if g.Schema >= 3 || e.Status != 429 || !reflect.DeepEqual(e.Answer, map[string]any{"message": "Too Many Requests"}) {
		return e
	}
	for _, c := range throttledChanges {
		if c.request == e.Name {
			e.Status, e.Answer = c.status, c.answer
		}
	}
	return e
}
