package deploy

import (
	"context"
	"errors"
	"fmt"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway/apis"
	"net/http/httptest"
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

// TestImageFunctionRuntimeRefusedAtPlan: Runtime or Handler on an Image
// function (its own, or from Globals.Function, the usual Go SAM layout)
// passed the plan and a dry run, then failed at Build with Lambda's "Runtime
// and Handler are not supported for PackageType Image", not naming Globals.
// SAM refuses them at transform time; the plan does too, saying where they
// come from.
func TestImageFunctionRuntimeRefusedAtPlan(t *testing.T) {
	const tpl = `
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
%sResources:
  FnImg:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: img:v1
%s`
	cases := []struct {
		name, globals, own string
		want               string
	}{
		{"from Globals", "    Runtime: provided.al2023\n    Handler: bootstrap\n", "",
			"FnImg: Runtime and Handler cannot be set on a PackageType Image function (SAM and Lambda refuse them: the image's ENTRYPOINT and CMD run it); " +
				"Runtime and Handler come from Globals.Function: move them to the Properties of the CodeUri functions, as SAM requires"},
		{"its own", "    Timeout: 3\n", "      Runtime: provided.al2023\n",
			"FnImg: Runtime cannot be set on a PackageType Image function (SAM and Lambda refuse it: the image's ENTRYPOINT and CMD run it): remove Runtime from FnImg's Properties"},
		{"both", "    Handler: bootstrap\n", "      Runtime: provided.al2023\n",
			"remove Runtime from FnImg's Properties; Handler comes from Globals.Function: move it to"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := fixture(t)
			f := newFake()
			text := strings.Replace(strings.Replace(tpl, "%s", tc.globals, 1), "%s", tc.own, 1)
			if _, err := planOf(t, f, dir, "s", text, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("plan: %v\nwant %q", err, tc.want)
			}
		})
	}
	// A Zip function beside it keeps the Globals it needs.
	dir := fixture(t)
	ok := strings.Replace(strings.Replace(tpl, "%s", "    Timeout: 3\n", 1), "%s",
		"  FnZip:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: hello\n      Runtime: provided.al2023\n      Handler: bootstrap\n", 1)
	if _, err := planOf(t, newFake(), dir, "s", ok, nil); err != nil {
		t.Fatalf("plan of an Image function without Runtime: %v", err)
	}
}

// TestMissingImageWarnedAtPlan: an ImageUri tag the server's host does not
// have passed the plan and a dry run without a word, and failed at Build
// (after other functions were made, then rolled back). The server pulls a
// missing image, so it is not refused; the plan warns, once.
func TestMissingImageWarnedAtPlan(t *testing.T) {
	a := &imageAdmin{local: map[string]string{"app:here": oldPin}}
	srv := httptest.NewServer(a)
	defer srv.Close()
	h := &HTTPTarget{C: client.New(srv.URL, "")}
	if err := h.CheckImage(t.Context(), "app:here"); err != nil {
		t.Fatalf("CheckImage(app:here) = %v, want nil", err)
	}
	if err := h.CheckImage(t.Context(), "app:nope"); !errors.Is(err, ErrWouldPull) {
		t.Fatalf("CheckImage(app:nope) = %v, want ErrWouldPull", err)
	}

	f := newFake()
	f.noImages, f.imageErr = fmt.Errorf("%w: 404", ErrWouldPull), ErrWouldPull
	d := &Desired{Functions: map[string]*Function{"Fn": {Name: "fn", ImageURI: "app:nope"}, "Other": {Name: "other", ImageURI: "app:nope"}}}
	rec := &Record{Resources: map[string]*Resource{"Fn": {Kind: KindFunction, PhysicalID: "fn"}}}
	obs := Observed{Functions: map[string]bool{"fn": true}, Images: map[string]ImageState{}}
	if err := checkImages(t.Context(), f, d, &obs); err != nil {
		t.Fatalf("checkImages: %v, want a warning only", err)
	}
	observeImages(t.Context(), f, d, rec, &obs)
	if len(obs.Warnings) != 1 || !strings.Contains(obs.Warnings[0], "Fn: image app:nope is not on the server's host (looked up without pulling): the deploy tries to pull it") {
		t.Fatalf("warnings %q, want one saying the image is not there", obs.Warnings)
	}
}

// TestLanguageExtensionsNamed: Transform AWS::LanguageExtensions was taken
// without a word, and what it enables failed with messages that did not
// name it: "Resources.Fn::ForEach::Fns must be a mapping (Type, Properties,
// ...), not a list", and "Fn::FindInMap takes [...], not [M qa T
// map[DefaultValue:7]]" in Go's formatting.
func TestLanguageExtensionsNamed(t *testing.T) {
	const head = `Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]
Mappings:
  M:
    prod: {T: 5}
Parameters:
  Env: {Type: String, Default: qa}
Resources:
`
	const fn = `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      Runtime: provided.al2023
      Handler: bootstrap
`
	dir := fixture(t)
	p, err := planOf(t, newFake(), dir, "s", head+fn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Warnings, func(w string) bool {
		return strings.Contains(w, "Transform AWS::LanguageExtensions is not run: its functions (Fn::ForEach, Fn::Length")
	}) {
		t.Errorf("warnings %q, want one naming AWS::LanguageExtensions", p.Warnings)
	}
	cases := []struct{ name, text, want string }{
		{"ForEach", head + "  Fn::ForEach::Fns:\n    - Name\n    - [A, B]\n    - {}\n" + fn,
			"Resources.Fn::ForEach::Fns: Fn::ForEach (of the AWS::LanguageExtensions transform) is not supported: write the resources out one by one"},
		{"FindInMap DefaultValue", head + fn + "      Timeout: !FindInMap [M, !Ref Env, T, {DefaultValue: 7}]\n",
			`Fn::FindInMap ["M","qa","T",{"DefaultValue":7}]: DefaultValue (of the AWS::LanguageExtensions transform) is not supported: add the entry to Mappings`},
		{"FindInMap short", head + fn + "      Timeout: !FindInMap [M, prod]\n", `Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey], not ["M","prod"]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := planOf(t, newFake(), dir, "s", tc.text, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("plan: %v\nwant %q", err, tc.want)
			}
		})
	}
}

// TestShiftInterruptionWords: a deploy interrupted during its traffic shift
// ended "... stopped (the alias is back on version 1): context canceled".
// It says the deploy was interrupted (and by what, when a signal did it),
// and errors.Is still finds context.Canceled.
func TestShiftInterruptionWords(t *testing.T) {
	sig, stop := context.WithCancelCause(t.Context())
	stop(errors.New("interrupt signal received"))
	plain, cancel := context.WithCancel(t.Context())
	cancel()
	for ctx, want := range map[context.Context]string{sig: "the deploy was interrupted (interrupt signal received)", plain: "the deploy was interrupted"} {
		err := fmt.Errorf("traffic shift d-1 stopped (the alias is back on version 1): %w", interruption(ctx))
		if !strings.HasSuffix(err.Error(), ": "+want) || strings.Contains(err.Error(), "context canceled") {
			t.Errorf("got %q, want it to end in %q", err, want)
		}
		if ctx == plain && !errors.Is(err, context.Canceled) {
			t.Errorf("errors.Is(%v, context.Canceled) = false", err)
		}
	}
}
