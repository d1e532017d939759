package admin_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
)

// TestV2AutoDeployStageStatusMessage: an autoDeploy stage reads back
// lastDeploymentStatusMessage "Successfully deployed stage with deployment ID
// 'ID'" after a successful automatic deployment, as API Gateway's get-stages
// shows it, the failure's reason after a failed one, and the success again
// once a later one succeeds; a stage without autoDeploy has none.
func TestV2AutoDeployStageStatusMessage(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	be := newBackend(t)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("status"), ProtocolType: "HTTP", Target: aws.String(be.srv.URL + "/q")})
	if err != nil {
		t.Fatal(err)
	}
	stage := func(name string) *apigatewayv2.GetStageOutput {
		t.Helper()
		st, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: api.ApiId, StageName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	wantSuccess := func(when string) {
		t.Helper()
		st := stage("$default")
		want := "Successfully deployed stage with deployment ID '" + aws.ToString(st.DeploymentId) + "'"
		if st.DeploymentId == nil || aws.ToString(st.LastDeploymentStatusMessage) != want {
			t.Fatalf("%s: LastDeploymentStatusMessage %q (deployment %q), want %q", when, aws.ToString(st.LastDeploymentStatusMessage), aws.ToString(st.DeploymentId), want)
		}
		list, err := e.ag.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: api.ApiId})
		if err != nil || len(list.Items) == 0 || aws.ToString(list.Items[0].LastDeploymentStatusMessage) != want {
			t.Fatalf("%s: GetStages %+v %v, want %q", when, list, err, want)
		}
	}
	wantSuccess("after quick create")
	first := aws.ToString(stage("$default").DeploymentId)

	rt, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /none")})
	if err != nil {
		t.Fatal(err)
	}
	if msg := aws.ToString(stage("$default").LastDeploymentStatusMessage); !strings.HasPrefix(msg, "Deployment attempt failed: ") {
		t.Fatalf("after a route without a target: LastDeploymentStatusMessage %q, want the failure", msg)
	}
	if _, err := e.ag.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: api.ApiId, RouteId: rt.RouteId}); err != nil {
		t.Fatal(err)
	}
	wantSuccess("after the next automatic deployment")
	if aws.ToString(stage("$default").DeploymentId) == first {
		t.Fatal("no new automatic deployment after the route's deletion")
	}

	dep, err := e.ag.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: api.ApiId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("manual"), DeploymentId: dep.DeploymentId}); err != nil {
		t.Fatal(err)
	}
	if st := stage("manual"); st.LastDeploymentStatusMessage != nil {
		t.Fatalf("a stage without autoDeploy: LastDeploymentStatusMessage %q, want none", aws.ToString(st.LastDeploymentStatusMessage))
	}
}
