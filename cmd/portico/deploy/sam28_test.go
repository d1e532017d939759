package deploy

import (
	"github.com/portico-dev/portico/gateway/apis"
	"slices"
	"strings"
	"testing"
)

// TestKilledShiftsVersionReused: a run killed during its traffic shift left
// version 2 published, with 10% of the alias's calls. The next deploy of the
// same template updated $LATEST to what version 2 holds, so Lambda's
// PublishVersion returned version 2; the deploy pointed the alias at it and
// then deleted it as "published by a deploy that ended", which Lambda refused
// (an alias names it): rolled back, and the same again on every deploy.
func TestKilledShiftsVersionReused(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	f.tellState = true
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Hello"]
	name := rec.PhysicalID
	fn := f.fns[name]
	// The killed run of Greeting=two: its mark, version 2, 10% on it.
	cp := *rec
	cp.Publishing = "1"
	f.stacks["s"].Resources["Hello"] = &cp
	fn.published, fn.versions = 2, append(fn.versions, "2")
	fn.weights = map[string]map[string]float64{"live": {"2": 0.1}}
	f.republish = "2" // $LATEST, once updated, is version 2's

	two := map[string]string{"Greeting": "two"}
	p, out, err := deployOutput(t, f, dir, "s", twoFunctions, two)
	if err != nil {
		t.Fatalf("deploy: %v\noutput:\n%s", err, out)
	}
	if steps := allSteps(p); !strings.Contains(steps, "kept if the new version is it") {
		t.Errorf("plan steps:\n%s\nwant the leftover version's deletion to say it is kept if re-used", steps)
	}
	if !strings.Contains(out, "re-using version 2 of "+name) || strings.Contains(out, "deleting version 2") {
		t.Errorf("output:\n%s\nwant version 2 re-used, not deleted", out)
	}
	f.republish = ""
	if got := f.stacks["s"].Resources["Hello"]; got.Version != "2" || got.Publishing != "" || fn.aliases["live"] != "2" || len(fn.weights["live"]) > 0 || !slices.Contains(fn.versions, "2") {
		t.Fatalf("after the deploy: record version %q mark %q, alias %s weights %v, versions %v; want version 2 recorded and serving all",
			got.Version, got.Publishing, fn.aliases["live"], fn.weights["live"], fn.versions)
	}
	if p, err := deployText(t, f, dir, "s", twoFunctions, two); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}
}

// TestAccessDriftCORSAndIntegrations: an HTTP API's CORS configuration
// loosened by hand (another origin, with credentials), and a route's
// integration re-pointed by hand at a function outside the stack, are served
// at once by a stage that deploys automatically, and were not drift: the
// deploy said "up to date".
func TestAccessDriftCORSAndIntegrations(t *testing.T) {
	base := func() *apis.API {
		a := &apis.API{}
		a.Integrations = map[string]apis.Integration{"i1": {Type: "AWS_PROXY", URI: "arn:aws:lambda:us-east-1:000000000000:function:s-Fn:live"}}
		a.Routes = []apis.Route{
			{RouteKey: "GET /zip", IntegrationID: "i1"},
			{RouteKey: "GET /own", Integration: &apis.Integration{Type: "HTTP_PROXY", URI: "https://example.com/"}},
		}
		return a
	}
	cases := []struct {
		name   string
		change func(a *apis.API)
		want   []string
	}{
		{"same", func(*apis.API) {}, nil},
		{"CORS added", func(a *apis.API) {
			a.CORS = &apis.CORSConfiguration{AllowOrigins: []string{"https://evil.example"}, AllowCredentials: true}
		}, []string{"CORS configuration"}},
		{"integration re-pointed", func(a *apis.API) {
			a.Integrations["i1"] = apis.Integration{Type: "AWS_PROXY",
				URI: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f1/invocations"}
		}, []string{"route GET /zip's integration (it calls function f1)"}},
		{"inline integration re-pointed", func(a *apis.API) {
			a.Routes[1].Integration = &apis.Integration{Type: "HTTP_PROXY", URI: "https://evil.example/"}
		},
			[]string{"route GET /own's integration (it calls https://evil.example/)"}},
		{"integration's other fields", func(a *apis.API) {
			i := a.Integrations["i1"]
			i.TimeoutInMillis = 500
			a.Integrations["i1"] = i
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			live := base()
			tc.change(live)
			if got := accessDrift(live, base()); !slices.Equal(got, tc.want) {
				t.Fatalf("accessDrift = %q, want %q", got, tc.want)
			}
		})
	}
	// Words of the plan.
	for uri, want := range map[string]string{"function:f2:live": "function f2:live", "": "HTTP"} {
		if got := describeTarget("HTTP", uri); got != want {
			t.Errorf("describeTarget(%q) = %q, want %q", uri, got, want)
		}
	}
}
