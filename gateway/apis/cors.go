package apis

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// RESTCORS says how to enable CORS on a REST API the way API Gateway's console
// "Enable CORS" does it: an OPTIONS method with a MOCK integration on each
// resource whose integration response sets the Access-Control-Allow-* headers
// from literals, and Access-Control-Allow-Origin on the 2xx responses of the
// resource's non-proxy methods.
type RESTCORS struct {
	// Paths are the resources to enable ("/pets/{id}"); every resource of the
	// API when empty.
	Paths []string `json:"paths,omitempty"`
	// AllowOrigin is Access-Control-Allow-Origin; "*" when empty.
	AllowOrigin string `json:"allowOrigin,omitempty"`
	// AllowHeaders is Access-Control-Allow-Headers; the console's default
	// (Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token)
	// when empty.
	AllowHeaders string `json:"allowHeaders,omitempty"`
	// AllowMethods are Access-Control-Allow-Methods; each resource's own
	// methods and OPTIONS when empty.
	AllowMethods []string `json:"allowMethods,omitempty"`
	// GatewayResponses also sets Access-Control-Allow-Origin and -Headers on
	// the DEFAULT_4XX and DEFAULT_5XX gateway responses, so that errors reach
	// browsers too.
	GatewayResponses bool `json:"gatewayResponses,omitempty"`
}

// DefaultCORSAllowHeaders are the console's default allowed request headers.
const DefaultCORSAllowHeaders = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"

// corsMethods are what ANY stands for in Access-Control-Allow-Methods.
var corsMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

// EnableCORS enables CORS on a REST API's definition as opts says and returns
// notes on what it could not do (proxy integrations answer for themselves).
func (a *API) EnableCORS(opts RESTCORS) ([]string, error) {
	if a.Protocol != ProtocolREST {
		return nil, invalid("api %s is %s: HTTP APIs have a corsConfiguration instead", a.ID, a.Protocol)
	}
	origin := opts.AllowOrigin
	if origin == "" {
		origin = "*"
	}
	headers := opts.AllowHeaders
	if headers == "" {
		headers = DefaultCORSAllowHeaders
	}
	for _, v := range []string{origin, headers, strings.Join(opts.AllowMethods, ",")} {
		if strings.ContainsAny(v, "'\r\n") {
			return nil, invalid("CORS value %q may not hold quotes or line breaks", truncate(v, 100))
		}
	}
	for _, m := range opts.AllowMethods {
		if !methods[strings.ToUpper(m)] {
			return nil, invalid("CORS method %q is not an HTTP method", truncate(m, 20))
		}
	}
	byPath := map[string][]int{}
	for i, r := range a.Routes {
		if r.Path != "" && r.Path != RouteDefault {
			byPath[r.Path] = append(byPath[r.Path], i)
		}
	}
	paths := opts.Paths
	if len(paths) == 0 {
		for p := range byPath {
			paths = append(paths, p)
		}
		sort.Strings(paths)
	}
	var notes []string
	for _, p := range paths {
		idx, ok := byPath[p]
		if !ok {
			return nil, notFound("resource", p)
		}
		allow := opts.AllowMethods
		if len(allow) == 0 {
			allow = []string{"OPTIONS"}
			for _, i := range idx {
				if m := a.Routes[i].Method; m == MethodAny {
					allow = append(allow, corsMethods...)
				} else {
					allow = append(allow, m)
				}
			}
			sort.Strings(allow)
			allow = slices.Compact(allow)
		}
		options := -1
		for _, i := range idx {
			r := &a.Routes[i]
			if r.Method == "OPTIONS" {
				options = i
				continue
			}
			notes = append(notes, corsOnMethod(r, origin)...)
		}
		preflight := corsPreflight(p, origin, headers, strings.ToUpper(strings.Join(allow, ",")))
		if options >= 0 {
			a.Routes[options] = preflight
		} else {
			a.Routes = append(a.Routes, preflight)
		}
	}
	if opts.GatewayResponses {
		if a.GatewayResponses == nil {
			a.GatewayResponses = map[string]GatewayResponse{}
		}
		for _, typ := range []string{"DEFAULT_4XX", "DEFAULT_5XX"} {
			gr := a.GatewayResponses[typ]
			params := map[string]string{}
			for k, v := range gr.ResponseParameters {
				params[k] = v
			}
			params["gatewayresponse.header.Access-Control-Allow-Origin"] = "'" + origin + "'"
			params["gatewayresponse.header.Access-Control-Allow-Headers"] = "'" + headers + "'"
			gr.ResponseParameters = params
			a.GatewayResponses[typ] = gr
		}
		if n := corsOnSetResponses(a, origin); n != "" {
			notes = append(notes, n)
		}
	}
	return notes, nil
}

// corsOnSetResponses is the note on the gateway responses set explicitly
// (but DEFAULT_4XX and DEFAULT_5XX) that give no Access-Control-Allow-Origin:
// such a type keeps only its own settings, so the headers added to the
// defaults do not reach its answers and a browser cannot read them. "" when
// there are none.
func corsOnSetResponses(a *API, origin string) string {
	var types []string
	for typ, gr := range a.GatewayResponses {
		if typ == "DEFAULT_4XX" || typ == "DEFAULT_5XX" {
			continue
		}
		if _, ok := gr.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"]; !ok {
			types = append(types, typ)
		}
	}
	if len(types) == 0 {
		return ""
	}
	sort.Strings(types)
	what := "gateway response " + types[0] + " is set explicitly, so it keeps only its own settings and gets"
	if len(types) > 1 {
		what = "gateway responses " + strings.Join(types, ", ") + " are set explicitly, so they keep only their own settings and get"
	}
	return fmt.Sprintf("%s no CORS headers from DEFAULT_4XX/DEFAULT_5XX (a browser cannot read those errors); "+
		"add Access-Control-Allow-Origin (and -Headers) to each, e.g. "+
		`aws apigateway update-gateway-response --rest-api-id %s --response-type %s --patch-operations "op=replace,path=/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin,value='%s'"`,
		what, a.ID, types[0], origin)
}

// corsPreflight is the console's OPTIONS method for a resource.
func corsPreflight(path, origin, headers, methods string) Route {
	hdrs := []string{"Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin"}
	return Route{Method: "OPTIONS", Path: path,
		Responses: map[string]MethodResponse{"200": {Description: "200 response", Headers: hdrs}},
		Integration: &Integration{Type: IntegrationMock, PassthroughBehavior: "WHEN_NO_MATCH",
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]IntegrationResponse{"default": {StatusCode: "200",
				ResponseParameters: map[string]string{
					"method.response.header.Access-Control-Allow-Headers": "'" + headers + "'",
					"method.response.header.Access-Control-Allow-Methods": "'" + methods + "'",
					"method.response.header.Access-Control-Allow-Origin":  "'" + origin + "'",
				},
				ResponseTemplates: map[string]string{"application/json": ""}}}}}
}

// corsOnMethod adds Access-Control-Allow-Origin to the 2xx integration
// responses (and method responses) of a non-proxy method.
func corsOnMethod(r *Route, origin string) []string {
	in := r.Integration
	if in == nil {
		return nil
	}
	if in.Type == IntegrationAWSProxy || in.Type == IntegrationHTTPProxy {
		return []string{fmt.Sprintf("%s is a proxy integration: its backend must send Access-Control-Allow-Origin itself", r.RouteKey)}
	}
	if in.Responses == nil {
		in.Responses = map[string]IntegrationResponse{}
	}
	if len(in.Responses) == 0 {
		in.Responses["default"] = IntegrationResponse{StatusCode: "200"}
	}
	for key, ir := range in.Responses {
		if !strings.HasPrefix(ir.StatusCode, "2") {
			continue
		}
		params := map[string]string{}
		for k, v := range ir.ResponseParameters {
			params[k] = v
		}
		params["method.response.header.Access-Control-Allow-Origin"] = "'" + origin + "'"
		ir.ResponseParameters = params
		in.Responses[key] = ir
		if r.Responses == nil {
			r.Responses = map[string]MethodResponse{}
		}
		mr := r.Responses[ir.StatusCode]
		if !slices.Contains(mr.Headers, "Access-Control-Allow-Origin") {
			mr.Headers = append(slices.Clone(mr.Headers), "Access-Control-Allow-Origin")
			sort.Strings(mr.Headers)
		}
		r.Responses[ir.StatusCode] = mr
	}
	return nil
}

// EnableCORS enables CORS on REST API id the console's way (see RESTCORS) and
// returns the API with notes on what it could not do.
func (s *Service) EnableCORS(ctx context.Context, id string, opts RESTCORS) (*API, []string, error) {
	var notes []string
	a, err := s.Modify(ctx, id, func(a *API) error {
		var err error
		notes, err = a.EnableCORS(opts)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return a, notes, nil
}
