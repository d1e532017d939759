package admin_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/store"
)

// TestUpgradeFromSchemaTwoServesRateWithBurstZero: a REST stage method whose
// throttle a schema 2 build stored as rate 100 with burst 0 (which b4f2244
// served with a burst of its rate) is served after the upgrade: the
// migration leaves the burst out (get-stage reads -1, inherited), and the
// start-up log says which migration ran and names the entry it changed. Main
// answered 429 to every request of it after the upgrade.
func TestUpgradeFromSchemaTwoServesRateWithBurstZero(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	var logs testkit.LockedBuffer
	env := apptest.Start(t, apptest.Options{
		Settings:  func(s *app.Settings) { s.AdminToken = releaseToken },
		LogLevel:  -4, // debug: the migration's INFO and WARN lines
		LogWriter: &logs,
	})
	ag := apigateway.New(apigateway.Options{
		BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("portico", releaseToken, ""),
	})
	id := importAPI(t, env, fmt.Sprintf(`openapi: 3.0.1
info: {title: up, version: "1"}
paths:
  /items:
    get:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: %s/items}
`, be.srv.URL), "REST")
	ctx := t.Context()
	if _, err := ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(id), StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(id), StageName: aws.String("prod"),
		PatchOperations: []agtypes.PatchOperation{
			op(agtypes.OpReplace, "/~1items/GET/throttling/rateLimit", "100"),
			op(agtypes.OpReplace, "/~1items/GET/throttling/burstLimit", "0")}}); err != nil {
		t.Fatal(err)
	}
	get := func() int {
		t.Helper()
		resp, err := http.Get(env.GatewayURL + "/" + id + "/prod/items")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 429 {
		t.Fatalf("burst 0 set by this build: %d, want 429 (an explicit 0 admits nothing)", code)
	}
	http.DefaultClient.CloseIdleConnections()
	env.Stop()
	testkit.SetSchema(t, env.DataDir, store.SchemaVersion-1)
	env.Restart()
	for range 3 {
		if code := get(); code != 200 {
			t.Fatalf("after the upgrade from schema %d: %d, want 200", store.SchemaVersion-1, code)
		}
	}
	st, err := ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(id), StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	if ms := st.MethodSettings["~1items/GET"]; ms.ThrottlingBurstLimit != -1 || ms.ThrottlingRateLimit != 100 {
		t.Fatalf("get-stage after the upgrade: burst %d rate %v, want -1 and 100", ms.ThrottlingBurstLimit, ms.ThrottlingRateLimit)
	}
	out := logs.String()
	for _, want := range []string{
		fmt.Sprintf(`msg="store migrated" component=store from=%d to=%d migration="stage method settings: a burst of 0 beside a rate is left out (inherited)" changed=1`, store.SchemaVersion-1, store.SchemaVersion),
		`level=WARN msg="store migration changed a record"`,
		`record="stage ` + id + `/prod method settings \"~1items/GET\""`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}
