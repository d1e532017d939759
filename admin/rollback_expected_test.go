package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestRollbackConditionalOnTheServedDeployment: a rollback that names the
// deployment the caller saw the stage serve (expectedDeploymentId, which the
// console's Roll back sends) is refused 409 ConflictException, the stage left
// as it is, when a deployment was made since (a hotfix deployed while the
// console's question was open), with a message naming what the stage serves
// now and saying to reload; with the deployment it serves, it is taken. A
// rollback without the field (the CLI's) is as before.
func TestRollbackConditionalOnTheServedDeployment(t *testing.T) {
	t.Parallel()
	srv, svc := newGatewayAdmin(t)
	ctx := t.Context()
	a, err := svc.Create(ctx, &apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/a", Integration: &apis.Integration{Type: "HTTP_PROXY", URI: "http://127.0.0.1:9/a"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	deploy := func() string {
		t.Helper()
		d, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "prod"})
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	d1, d2 := deploy(), deploy()
	hotfix := deploy() // made after the page read the stage serving d2
	path := "/portico/v1/apis/" + a.ID + "/stages/prod/rollback"
	resp := sendForMessage(t, "POST", srv.URL+path, `{"deploymentId":"`+d1+`","expectedDeploymentId":"`+d2+`"}`)
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("x-amzn-ErrorType") != "ConflictException" ||
		!strings.Contains(resp.Message, "serves deployment "+hotfix+" now, not "+d2) || !strings.Contains(resp.Message, "reload") {
		t.Fatalf("rollback expecting %s while the stage serves %s: %d %q %s", d2, hotfix, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), resp.Raw)
	}
	if st, err := svc.GetStage(ctx, a.ID, "prod"); err != nil || st.DeploymentID != hotfix || len(st.History) != 3 {
		t.Fatalf("the refused rollback changed the stage: %+v %v", st, err)
	}
	var st stageView
	if c := call(t, srv, "POST", path, `{"deploymentId":"`+d1+`","expectedDeploymentId":"`+hotfix+`"}`, &st); c != 200 || st.DeploymentID != d1 {
		t.Fatalf("rollback expecting the deployment the stage serves: %d %+v", c, st.Stage)
	}
	if c := call(t, srv, "POST", path, `{"deploymentId":"`+d2+`"}`, &st); c != 200 || st.DeploymentID != d2 {
		t.Fatalf("rollback with no expected deployment: %d %+v", c, st.Stage)
	}
}
