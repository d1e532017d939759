package deploy

import (
	"strings"
	"testing"
)

// TestFailedDeployPutsBackAutoDeploy: a SAM HttpApi's stage deploys
// automatically (SAM makes it with AutoDeploy: true), so a change made by
// hand after the deploy is deployed too, as on API Gateway. A failed deploy
// puts the stage back as it was: a stage an older build made without
// autoDeploy is turned back off, on the deployment it served; one that
// deployed automatically still does, and serves the definition put back.
func TestFailedDeployPutsBackAutoDeploy(t *testing.T) {
	changed := strings.Replace(twoFunctions, "          Type: HttpApi\n", "          Type: HttpApi\n          Properties: {Path: /other, Method: get}\n", 1)
	for _, older := range []bool{false, true} {
		name := "auto"
		if older {
			name = "made by an older build"
		}
		t.Run(name, func(t *testing.T) {
			dir := fixture(t)
			f := newFake()
			if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
				t.Fatal(err)
			}
			id := f.stacks["s"].Resources["ServerlessHttpApi"].PhysicalID
			api := f.apis[id]
			if !api.auto["$default"] {
				t.Fatalf("stage $default of the HttpApi does not deploy automatically")
			}
			if older {
				api.auto["$default"] = false
			}
			// An unchanged template plans no change, whatever the stage's autoDeploy.
			if _, out, err := deployOutput(t, f, dir, "s", twoFunctions, nil); err != nil || !strings.Contains(out, "up to date") {
				t.Fatalf("redeploy of the same template: %v\n%s", err, out)
			}
			served := api.stages["$default"]
			f.failAt = "PutStack"
			_, out, err := deployOutput(t, f, dir, "s", changed, nil)
			if err == nil || !strings.Contains(err.Error(), "rolled back") {
				t.Fatalf("err = %v, want the injected failure, rolled back", err)
			}
			if got := api.auto["$default"]; got != !older {
				t.Errorf("autoDeploy of stage $default after the rollback: %v, want %v\n%s", got, !older, out)
			}
			if older && api.stages["$default"] != served {
				t.Errorf("stage $default serves %s after the rollback, want %s\n%s", api.stages["$default"], served, out)
			}
			if _, out, err := deployOutput(t, f, dir, "s", changed, nil); err != nil || !api.auto["$default"] {
				t.Errorf("the deploy again: %v, autoDeploy %v\n%s", err, api.auto["$default"], out)
			}
		})
	}
}
