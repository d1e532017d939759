package apis

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// IntegrationURIWarnings says, for each integration URI that names a stage
// variable, when it makes no backend on a stage with vars: a variable the
// stage lacks, or, for a function integration (AWS_PROXY, AWS), a value that
// makes no function reference. The routes it names are listed. The gateway
// serves such a stage, as API Gateway deploys it, and those routes fail at
// request time (500 Internal server error). Sorted by URI.
func (a *API) IntegrationURIWarnings(vars map[string]string) []string {
	routes := map[string][]string{} // by the problem, the routes that have it
	for i := range a.Routes {
		rt := &a.Routes[i]
		in := rt.Integration
		if in == nil || !strings.Contains(in.URI, "${stageVariables.") {
			continue
		}
		uri, err := SubstituteStageVariables(in.URI, vars)
		if err == nil && (in.Type == IntegrationAWSProxy || in.Type == IntegrationAWS) {
			_, err = FunctionRef(uri)
		}
		if err != nil {
			problem := fmt.Sprintf("integration uri %q names no backend on this stage (%v)", in.URI, err)
			routes[problem] = append(routes[problem], routeName(rt))
		}
	}
	var out []string
	for _, problem := range slices.Sorted(maps.Keys(routes)) {
		out = append(out, fmt.Sprintf("%s: route(s) %s answer 500 (Internal server error) until a stage variable names one (portico stage set-var)",
			problem, strings.Join(routes[problem], ", ")))
	}
	return out
}

// routeName names a route in a message: its route key (WebSocket, HTTP
// APIs), else its method and path.
func routeName(rt *Route) string {
	if rt.RouteKey != "" {
		return rt.RouteKey
	}
	return rt.Method + " " + rt.Path
}
