package deploy

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// accessDrift names the access control of API live (its definition as the
// server holds it now) that differs from deployed (the snapshot of the
// deployment the stack's record says its stage serves, which the template
// made): each route's API key requirement, authorizers and authorization
// type (a route deleted counts too: its requests may reach another; one
// added by hand is not the template's, as CloudFormation leaves a resource it
// does not own), the authorizers themselves, the
// API key source, the resource policy and whether the execute-api endpoint
// is off; and with them an HTTP API's CORS configuration (which origins may
// read its answers, with credentials or not) and what each route's
// integration calls (its type and URI). A change by hand (update-method,
// update-route, update-integration, update-api) leaves them so; a stage that
// deploys automatically serves it at once.
func accessDrift(live, deployed *apis.API) []string {
	var drift []string
	type target struct{ typ, uri string }
	type auth struct {
		key      bool
		security []map[string][]string
		ext      json.RawMessage
		target   target
	}
	routes := func(a *apis.API) map[string]auth {
		m := map[string]auth{}
		for _, r := range a.Routes {
			in := r.Integration
			if i, ok := a.Integrations[r.IntegrationID]; r.IntegrationID != "" && ok {
				in = &i
			}
			var tg target
			if in != nil {
				tg = target{in.Type, in.URI}
			}
			m[r.RouteKey] = auth{key: r.APIKeyRequired, security: r.Security, ext: r.Extensions[apis.ExtAuth], target: tg}
		}
		return m
	}
	lr, dr := routes(live), routes(deployed)
	for _, k := range slices.Sorted(maps.Keys(dr)) {
		l, ok := lr[k]
		d := dr[k]
		switch {
		case !ok:
			drift = append(drift, "route "+k+" (deleted)")
		case l.key != d.key:
			drift = append(drift, "route "+k+"'s API key requirement")
		case !sameJSON(l.security, d.security) || !sameJSON(l.ext, d.ext):
			drift = append(drift, "route "+k+"'s authorization")
		}
		if ok && l.target != d.target {
			drift = append(drift, "route "+k+"'s integration (it calls "+describeTarget(l.target.typ, l.target.uri)+")")
		}
	}
	if !sameJSON(live.CORS, deployed.CORS) {
		drift = append(drift, "CORS configuration")
	}
	if !sameJSON(live.Authorizers, deployed.Authorizers) {
		drift = append(drift, "authorizers")
	}
	if live.APIKeySource != deployed.APIKeySource {
		drift = append(drift, "API key source")
	}
	if !sameJSON(live.Extensions[apis.ExtPolicy], deployed.Extensions[apis.ExtPolicy]) {
		drift = append(drift, "resource policy")
	}
	if l, d := edge.ExecuteAPIEndpointDisabled(live.Extensions), edge.ExecuteAPIEndpointDisabled(deployed.Extensions); l != d {
		if d {
			drift = append(drift, "execute-api endpoint (on; the template turns it off)")
		} else {
			drift = append(drift, "execute-api endpoint (off; the template leaves it on)")
		}
	}
	return drift
}

// describeTarget names what an integration of type typ and URI uri calls, for
// a plan: the function of a Lambda URI, else the URI itself.
func describeTarget(typ, uri string) string {
	switch {
	case typ == "" && uri == "":
		return "nothing"
	case uri == "":
		return typ
	}
	if i := strings.LastIndex(uri, "function:"); i >= 0 {
		fn := strings.TrimSuffix(uri[i+len("function:"):], "/invocations")
		return "function " + fn
	}
	return uri
}
