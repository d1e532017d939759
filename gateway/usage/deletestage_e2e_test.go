package usage_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/store"
)

// planStages returns a plan's API stages as "apiId:stage".
func planStages(t *testing.T, gw *apigateway.Client, id string) []string {
	t.Helper()
	p, err := gw.GetUsagePlan(context.Background(), &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, as := range p.ApiStages {
		out = append(out, aws.ToString(as.ApiId)+":"+aws.ToString(as.Stage))
	}
	return out
}

// recreateStage creates stage name of API id again, on the API's first
// deployment.
func recreateStage(t *testing.T, gw *apigateway.Client, id, name string) {
	t.Helper()
	ctx := context.Background()
	deps, err := gw.GetDeployments(ctx, &apigateway.GetDeploymentsInput{RestApiId: aws.String(id)})
	if err != nil || len(deps.Items) == 0 {
		t.Fatalf("get-deployments: %+v %v", deps, err)
	}
	if _, err := gw.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: aws.String(id), StageName: aws.String(name), DeploymentId: deps.Items[0].Id}); err != nil {
		t.Fatalf("create-stage %s: %v", name, err)
	}
}

// TestDeletedStageLeavesItsPlans: a deleted stage stayed in its usage plans
// (and its keys' stageKeys), so that a stage created later under the same
// name was covered by the old plans at once: their keys got in, with nobody
// having attached them to it. API Gateway takes a deleted stage out of its
// plans; so does Portico now, in the deleting transaction, and a deleted API
// takes all its stages out.
func TestDeletedStageLeavesItsPlans(t *testing.T) {
	env, _, gw, id := startKeyed(t, "st", "keep")
	ctx := context.Background()
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	pid := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("st")}, {ApiId: aws.String(id), Stage: aws.String("keep")}}}, *k.Id)
	u := env.GatewayURL + "/" + id + "/st/pets"
	if status, _, body := call(t, u, *k.Value); status != http.StatusOK {
		t.Fatalf("key in the plan: %d %s", status, body)
	}

	if _, err := gw.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: aws.String(id), StageName: aws.String("st")}); err != nil {
		t.Fatal(err)
	}
	if got, want := planStages(t, gw, pid), []string{id + ":keep"}; !slices.Equal(got, want) {
		t.Errorf("plan's apiStages after delete-stage: %q, want %q", got, want)
	}
	got, err := gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: k.Id})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{id + "/keep"}; !slices.Equal(got.StageKeys, want) {
		t.Errorf("key's stageKeys after delete-stage: %q, want %q", got.StageKeys, want)
	}
	recreateStage(t, gw, id, "st")
	if status, typ, body := call(t, u, *k.Value); status != http.StatusForbidden {
		t.Errorf("the old plan's key on the re-created stage: %d %s %s, want 403", status, typ, body)
	}
	if status, _, body := call(t, env.GatewayURL+"/"+id+"/keep/pets", *k.Value); status != http.StatusOK {
		t.Errorf("the key on the stage still in its plan: %d %s", status, body)
	}

	// Deleting the API takes its stages out of the plans; the plan, with
	// none left, can be deleted.
	if _, err := gw.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if got := planStages(t, gw, pid); len(got) != 0 {
		t.Errorf("plan's apiStages after delete-rest-api: %q, want none", got)
	}
	if got, err = gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: k.Id}); err != nil {
		t.Fatal(err)
	}
	if len(got.StageKeys) != 0 {
		t.Errorf("key's stageKeys after delete-rest-api: %q, want none", got.StageKeys)
	}
	if _, err := gw.DeleteUsagePlan(ctx, &apigateway.DeleteUsagePlanInput{UsagePlanId: aws.String(pid)}); err != nil {
		t.Errorf("delete-usage-plan with no stage left: %v", err)
	}
}

// TestStoredPlanOfDeletedStageCoversNoNewStage: a plan that an older build
// left naming a deleted stage (in portico.db) gives no key access to a stage
// created later under that name: the stage is taken out of the plan at start.
func TestStoredPlanOfDeletedStageCoversNoNewStage(t *testing.T) {
	dir := t.TempDir()
	env := apptest.Start(t, apptest.Options{DataDir: dir})
	gw := sdk(env, "x")
	id := importKeyed(t, env.Client(), "keep")
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	pid := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("keep")}}}, *k.Id)
	env.Stop()

	// The plan as an older build left it after deleting its stage "old".
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(tx *store.Tx) error {
		var p usage.Plan
		if err := tx.Get("usage_plans", pid, &p); err != nil {
			return err
		}
		p.APIStages = append(p.APIStages, usage.APIStage{APIID: id, Stage: "old"})
		return tx.Put("usage_plans", pid, &p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	env.StartAgain()
	gw = sdk(env, "x")
	if got, want := planStages(t, gw, pid), []string{id + ":keep"}; !slices.Equal(got, want) {
		t.Errorf("plan's apiStages after the start: %q, want %q", got, want)
	}
	recreateStage(t, gw, id, "old")
	if status, typ, body := call(t, env.GatewayURL+"/"+id+"/old/pets", *k.Value); status != http.StatusForbidden {
		t.Errorf("the stale plan's key on a new stage of the deleted one's name: %d %s %s, want 403", status, typ, body)
	}
	if status, _, body := call(t, env.GatewayURL+"/"+id+"/keep/pets", *k.Value); status != http.StatusOK {
		t.Errorf("the key on the stage still in its plan: %d %s", status, body)
	}
}
