package apis

import (
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

// TestHTTPProxyURIPlaceholdersNameRouteParameters guards r-httpapi29's
// finding 8: an HTTP API route whose HTTP_PROXY integration URI names a
// {param} the route does not have is refused on save (the backend would get
// /%7Bproxy%7D), naming the placeholder and the route; the route's own
// parameters, greedy or not, and stage variables are fine.
func TestHTTPProxyURIPlaceholdersNameRouteParameters(t *testing.T) {
	for _, tc := range []struct {
		method, path, uri string
		want              string // "" = accepted
	}{
		{"ANY", "/h/{proxy+}", "http://b.example/{proxy}", ""},
		{"ANY", "/h/{proxy+}", "http://b.example/{proxy+}", ""},
		{"GET", "/p/{id}", "http://b.example/pets/{id}?x=1", ""},
		{"GET", "/x", "http://${stageVariables.host}/x", ""},
		{"GET", "/x", "http://b.example/{proxy}", `route "GET /x": integration uri "http://b.example/{proxy}" names {proxy}, but route "GET /x" has no such path parameter (it has no path parameters)`},
		{RouteDefault, RouteDefault, "http://b.example/{proxy}", `route "$default"`},
		{"GET", "/p/{id}", "http://b.example/{id}/{name}/{other}", "names {name}, {other}, but route \"GET /p/{id}\" has no such path parameter (its path parameters are id)"},
	} {
		r := Route{Method: tc.method, Path: tc.path, Integration: &Integration{Type: IntegrationHTTPProxy, URI: tc.uri, HTTPMethod: "ANY", PayloadFormatVersion: "1.0"}}
		if tc.path == RouteDefault {
			r.Method = ""
		}
		a := &API{Name: "a", Protocol: ProtocolHTTP, Definition: Definition{Routes: []Route{r}}}
		err := a.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %s -> %s: %v", tc.method, tc.path, tc.uri, err)
		case tc.want != "" && (!errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %s -> %s: %v, want %q", tc.method, tc.path, tc.uri, err, tc.want)
		}
	}
}
