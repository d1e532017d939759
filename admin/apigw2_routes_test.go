package admin

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

func ptr[T any](v T) *T { return &v }

// TestRouteAuthorizationMapping checks how apigatewayv2's authorization
// fields map onto a route's security requirements and back.
func TestRouteAuthorizationMapping(t *testing.T) {
	t.Parallel()
	jwtScheme := json.RawMessage(`{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt","jwtConfiguration":{"issuer":"https://i","audience":["a"]}}}`)
	lambdaScheme := json.RawMessage(`{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:auth"}}`)
	jwtID, lambdaID := derivedID("authorizer", "jwt"), derivedID("authorizer", "lambda")
	tests := []struct {
		name      string
		in        v2RouteInput
		wantType  string
		wantAuth  string
		wantScope []string
		wantErr   string
	}{
		{name: "none", in: v2RouteInput{}, wantType: authNone},
		{name: "jwt with scopes", in: v2RouteInput{AuthorizationType: ptr("JWT"), AuthorizerID: &jwtID, AuthorizationScopes: []string{"read"}},
			wantType: authJWT, wantAuth: jwtID, wantScope: []string{"read"}},
		{name: "custom", in: v2RouteInput{AuthorizationType: ptr("CUSTOM"), AuthorizerID: &lambdaID}, wantType: authCustom, wantAuth: lambdaID},
		{name: "custom naming a jwt authorizer", in: v2RouteInput{AuthorizationType: ptr("CUSTOM"), AuthorizerID: &jwtID}, wantErr: "JWT authorizer"},
		{name: "custom with scopes", in: v2RouteInput{AuthorizationType: ptr("CUSTOM"), AuthorizerID: &lambdaID, AuthorizationScopes: []string{"x"}}, wantErr: "authorizationScopes"},
		{name: "jwt without an authorizer", in: v2RouteInput{AuthorizationType: ptr("JWT")}, wantErr: "needs an authorizerId"},
		{name: "unknown authorizer", in: v2RouteInput{AuthorizationType: ptr("JWT"), AuthorizerID: ptr("nope")}, wantErr: "Invalid Authorizer identifier"},
		{name: "unknown type", in: v2RouteInput{AuthorizationType: ptr("COGNITO")}, wantErr: "must be NONE"},
		{name: "iam", in: v2RouteInput{AuthorizationType: ptr("AWS_IAM")}, wantType: authIAM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &apis.API{Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
				Authorizers: map[string]json.RawMessage{"jwt": jwtScheme, "lambda": lambdaScheme}}}
			rt := &apis.Route{Method: "GET", Path: "/x", RouteKey: "GET /x"}
			err := tt.in.apply(a, rt)
			if tt.wantErr != "" {
				var k *errdefs.Kinded
				if !errors.As(err, &k) || !strings.Contains(k.Message, tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := toV2Route(a, rt)
			if got.AuthorizationType != tt.wantType || got.AuthorizerID != tt.wantAuth || !slices.Equal(got.AuthorizationScopes, tt.wantScope) {
				t.Fatalf("got %s %s %v", got.AuthorizationType, got.AuthorizerID, got.AuthorizationScopes)
			}
			if tt.wantType == authIAM {
				// The model takes IAM as the OpenAPI importer does: the gateway enforces it.
				a.Routes = []apis.Route{*rt}
				a.Name = "x"
				a.Normalize()
				if err := a.Validate(); err != nil {
					t.Fatalf("validation of an IAM route: %v", err)
				}
			}
		})
	}
}

func TestParseRouteKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		protocol, key, method, path string
		ok                          bool
	}{
		{apis.ProtocolHTTP, "$default", "", "$default", true},
		{apis.ProtocolHTTP, "GET /pets/{id}", "GET", "/pets/{id}", true},
		{apis.ProtocolHTTP, "get /pets/{id}", "", "", false},
		{apis.ProtocolHTTP, "Get /pets", "", "", false},
		{apis.ProtocolHTTP, "ANY /$default", "", "", false},
		{apis.ProtocolHTTP, "GET /$default", "", "", false},
		{apis.ProtocolHTTP, "GET /$default/x", "GET", "/$default/x", true},
		{apis.ProtocolHTTP, "ANY /{proxy+}", "ANY", "/{proxy+}", true},
		{apis.ProtocolHTTP, "GET pets", "", "", false},
		{apis.ProtocolHTTP, "GET", "", "", false},
		{apis.ProtocolHTTP, "GET /a b", "", "", false},
		{apis.ProtocolWebSocket, "sendmessage", "", "", true},
	} {
		r, err := parseRouteKey(tt.protocol, tt.key)
		if (err == nil) != tt.ok || r.Method != tt.method || r.Path != tt.path {
			t.Errorf("parseRouteKey(%s, %q) = %+v, %v", tt.protocol, tt.key, r, err)
		}
	}
	// The refusals say what to use instead.
	for key, want := range map[string]string{
		"get /v":        `use "GET /v"`,
		"ANY /$default": "use the route key $default",
	} {
		var k *errdefs.Kinded
		if _, err := parseRouteKey(apis.ProtocolHTTP, key); !errors.As(err, &k) || k.Type != "BadRequestException" || !strings.Contains(k.Message, want) {
			t.Errorf("parseRouteKey(%q): %v, want a BadRequestException saying %q", key, err, want)
		}
	}
}
