package connections

import "github.com/portico-dev/portico/internal/routeselect"

// SelectRoute picks the route key of a message: the selected value when a route
// has that key (the $connect and $disconnect keys are never selected by a
// message), else "$default" when the API has it, else "" (no route: the sender
// gets API Gateway's Forbidden error frame).
func SelectRoute(sel *routeselect.Selector, body []byte, hasRoute func(key string) bool) string {
	if sel != nil {
		if v, ok := sel.Select(body); ok && v != "" && v != RouteConnect && v != RouteDisconnect && hasRoute(v) {
			return v
		}
	}
	if hasRoute(RouteDefault) {
		return RouteDefault
	}
	return ""
}
