package app

import (
	"context"
	"log/slog"
	"testing"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/store"
)

// TestVersionUsage checks which versions the composition of aliases and API
// stages reports in use: those an alias names (also by weight), those a stage
// route names directly or through a stage variable, $LATEST when a route names
// the bare function; not the others.
func TestVersionUsage(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	log := slog.New(slog.DiscardHandler)
	fns, err := functions.NewService(st, nil, aliases.Index{}, log)
	if err != nil {
		t.Fatal(err)
	}
	al := aliases.NewService(st, fns, log)
	ap := apis.NewService(st, log)
	for _, name := range []string{"fn", "other"} {
		if _, err := fns.Create(ctx, functions.CreateInput{FunctionName: name, ZipFile: codeZip(t, "v0")}); err != nil {
			t.Fatal(err)
		}
		for v := 1; v <= 6; v++ {
			if _, err := fns.UpdateCode(ctx, name, functions.CodeInput{ZipFile: codeZip(t, "v"+string(rune('0'+v))), Publish: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := al.Create(ctx, "fn", aliases.Input{Name: "live", FunctionVersion: "2",
		RoutingConfig: &aliases.RoutingConfig{AdditionalVersionWeights: map[string]float64{"3": 0.1}}}); err != nil {
		t.Fatal(err)
	}
	a, err := ap.Create(ctx, &apis.API{Name: "shop", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/pinned", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:fn:4"}},
		{Method: "GET", Path: "/staged", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:fn:${stageVariables.v}"}},
		{Method: "GET", Path: "/latest", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "arn:aws:lambda:us-east-1:000000000000:function:other"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ap.Deploy(ctx, a.ID, apis.DeployInput{StageName: "prod", Variables: map[string]string{"v": "5"}}); err != nil {
		t.Fatal(err)
	}
	u := versionUsage{aliases: al, apis: ap}
	for _, tc := range []struct {
		fn, version string
		want        bool
	}{
		{"fn", "1", false},
		{"fn", "2", true},  // alias live
		{"fn", "3", true},  // alias live's weighted version
		{"fn", "4", true},  // route pinned to it
		{"fn", "5", true},  // route through the stage variable
		{"fn", "6", false}, // newest, yet nothing names it
		{"fn", functions.Latest, false},
		{"other", functions.Latest, true}, // the bare function
		{"other", "1", false},
	} {
		if got := u.InUse(ctx, tc.fn, tc.version); got != tc.want {
			t.Errorf("InUse(%s, %s) = %v, want %v", tc.fn, tc.version, got, tc.want)
		}
	}
}

func codeZip(t *testing.T, body string) []byte {
	t.Helper()
	return testkit.Bootstrap(t, "#!/bin/sh\n# "+body+"\n")
}
