package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// TestDeployNoticesRebuiltImage deploys a SAM template whose Image function
// names its image by a tag, rebuilds the image under the same tag, and
// deploys the unchanged template again on each container runtime: as
// CloudFormation resolves an ImageUri by tag to its digest at each deploy,
// the second deploy resolves it through the server's runtime, says the image
// was rebuilt, updates the function's code, publishes a version and points
// the alias at it, so the new image serves; a third deploy changes nothing.
func TestDeployNoticesRebuiltImage(t *testing.T) {
	for _, rt := range containerRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			rt.require(t)
			im := newImages(t, rt.name)
			dataDir := t.TempDir()
			sweepInstance(t, rt.name, dataDir)
			env := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dataDir})
			c := sdk(env.AdminURL)
			ref := "portico-e2e/rebuilt:" + randHex(6)
			im.build(env.AdminURL, ref, "ENV GREETING=one")
			template := filepath.Join(t.TempDir(), "template.yaml")
			if err := os.WriteFile(template, []byte(`Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: rebuilt
      PackageType: Image
      ImageUri: `+ref+`
      AutoPublishAlias: live
`), 0o600); err != nil {
				t.Fatal(err)
			}
			run := func() string {
				t.Helper()
				out, err := deployStack(t.Context(), env, template)
				if err != nil {
					t.Fatalf("deploy: %v\n%s", err, out)
				}
				return out
			}
			run()
			if g := invokeHello(t, c, "rebuilt:live"); g.Greeting != "one" || g.FunctionVersion != "1" {
				t.Fatalf("after the first deploy rebuilt:live answered %+v, want version 1 greeting one", g)
			}

			im.build(env.AdminURL, ref, "ENV GREETING=two")
			out := run()
			if !strings.Contains(out, "image "+ref+" was rebuilt: it names sha256:") || !strings.Contains(out, "1 to update") ||
				!strings.Contains(out, "published rebuilt version 2") {
				t.Errorf("the deploy after the rebuild does not say it updates for the rebuilt image:\n%s", out)
			}
			if g := invokeHello(t, c, "rebuilt:live"); g.Greeting != "two" || g.FunctionVersion != "2" {
				t.Fatalf("after the rebuild rebuilt:live answered %+v, want version 2 greeting two (the rebuilt image)", g)
			}
			if out := run(); !strings.Contains(out, "up to date") {
				t.Errorf("a third deploy changed something:\n%s", out)
			}
		})
	}
}

// deployStack runs what portico deploy runs against env's admin API for the
// template (stack "img"), and returns what it prints.
func deployStack(ctx context.Context, env *apptest.Env, template string) (string, error) {
	var out strings.Builder
	tpl, err := deploy.Load(template, deploy.Options{Stack: "img"})
	if err != nil {
		return "", err
	}
	d, err := deploy.Build(tpl)
	if err != nil {
		return "", err
	}
	target := &deploy.HTTPTarget{C: env.Client()}
	if err := target.HoldStack(ctx, "img", "e2e"); err != nil {
		return "", err
	}
	defer func() { _ = target.ReleaseStack(context.WithoutCancel(ctx), "img") }()
	rec, err := target.GetStack(ctx, "img")
	if err != nil {
		return "", err
	}
	obs, err := deploy.Observe(ctx, target, d, rec)
	if err != nil {
		return "", err
	}
	plan, err := deploy.NewPlan(d, rec, obs)
	if err != nil {
		return "", err
	}
	plan.Print(&out)
	err = deploy.Apply(ctx, target, plan, &out)
	return out.String(), err
}
