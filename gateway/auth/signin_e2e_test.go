package auth_test

import (
	"net/http"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// TestFailedSignInsLimitedOnEverySurface fails signatures signin.Burst times on
// one surface that checks credentials (@connections, an AWS_IAM route, a
// cache invalidation, the admin API) from one address, then presents the right
// credentials on each. Failures on a public gateway surface limit every
// gateway surface, each answering 429 with Retry-After in its own error shape
// (@connections LimitExceededException, the gateway TooManyRequestsException
// "Too Many Requests"), but never the admin API, which keeps a budget of its
// own; failures on the admin API limit it (TooManyRequestsException) and not
// the gateway. Requests without a credential are still served.
func TestFailedSignInsLimitedOnEverySurface(t *testing.T) {
	const token = "the-admin-token"
	for _, source := range []string{"@connections", "AWS_IAM route", "cache invalidation", "admin API"} {
		t.Run(source, func(t *testing.T) {
			env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
			c := env.Client()
			id := createAPI(t, c, map[string]any{"name": "signin", "protocol": "REST",
				"authorizers": map[string]any{"sigv4": sigv4Scheme},
				"routes":      []any{mockRoute("GET", "/pets", "sigv4"), mockRoute("GET", "/cached")}})
			cacheWithSignedFlushes(t, c, id)
			user := iamUserWithToken(t, env, token, "alice")
			pets, cached := env.GatewayURL+"/"+id+"/dev/pets", env.GatewayURL+"/"+id+"/dev/cached"
			conns := env.GatewayURL + "/dev/@connections/AAAAAAAAAAAAAAAA"
			admin := creds{ID: "portico", Secret: token}
			wrong := map[string]func() answer{
				"@connections": func() answer {
					return signedCall(t, creds{ID: "portico", Secret: "guess"}, "POST", conns, "hi")
				},
				"AWS_IAM route": func() answer { return signedCall(t, creds{ID: user.ID, Secret: "guess"}, "GET", pets, "") },
				"cache invalidation": func() answer {
					return signedCall(t, creds{ID: "portico", Secret: "guess"}, "GET", cached, "", "Cache-Control", "max-age=0")
				},
				"admin API": func() answer {
					req, _ := http.NewRequest("GET", env.AdminURL+"/2015-03-31/functions", nil)
					req.Header.Set("Authorization", "Bearer guess")
					return do(t, req)
				},
			}[source]
			// The right credentials work before.
			expect(t, "AWS_IAM route", signedCall(t, user, "GET", pets, ""), 200, "", "")
			for i := range signin.Burst {
				if a := wrong(); a.status != http.StatusForbidden {
					t.Fatalf("failure %d: %d %s, want 403", i+1, a.status, a.body)
				}
			}
			limited := func(what string, a answer, errType, body string) {
				t.Helper()
				expect(t, what+" after the failures", a, http.StatusTooManyRequests, errType, body)
				if a.header.Get("Retry-After") == "" {
					t.Errorf("%s: no Retry-After", what)
				}
			}
			req, _ := http.NewRequest("GET", env.AdminURL+"/2015-03-31/functions", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			if source == "admin API" {
				limited("the admin API", do(t, req), "TooManyRequestsException", "")
				// The gateway's budget is its own: the right credentials work.
				expect(t, "an AWS_IAM route", signedCall(t, user, "GET", pets, ""), 200, "", "")
				return
			}
			// The admin API's budget is its own: the operator is not locked out.
			expect(t, "the admin API", do(t, req), 200, "", "")
			limited("@connections", signedCall(t, admin, "POST", conns, "hi"), "LimitExceededException", `{"message":"Limit Exceeded"}`)
			limited("an AWS_IAM route", signedCall(t, user, "GET", pets, ""), "TooManyRequestsException", `{"message":"Too Many Requests"}`)
			limited("a cache invalidation", signedCall(t, admin, "GET", cached, "", "Cache-Control", "max-age=0"), "TooManyRequestsException", `{"message":"Too Many Requests"}`)
			expect(t, "an unsigned request", call(t, cached), 200, "", "")
		})
	}
}

// iamUserWithToken creates an IAM user with an access key, allowed to invoke
// everything, through the admin API of a server that has an admin token.
func iamUserWithToken(t *testing.T, env *apptest.Env, token, name string) creds {
	t.Helper()
	return sigv4test.NewUser(t, env.AdminURL, token, name,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`)
}
