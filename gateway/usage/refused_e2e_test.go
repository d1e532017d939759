package usage_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestRefusedRequestsAreNotCounted is keys18's finding 2: the key stage ran
// before the authorizers and resource policies, so a request they refused
// still counted against its key's quota, and anyone holding a key's value
// (keys are identifiers, often shipped in apps) could spend its customer's
// quota without passing them. As in API Gateway, the usage plan is checked once
// the request is authorized: a refused request counts against no quota.
func TestRefusedRequestsAreNotCounted(t *testing.T) {
	env, _ := startFrozen(t, nil)
	gw := sdk(env, "x")
	ctx := context.Background()
	// keyedDoc with a resource policy that denies GET /pets to everyone.
	doc := strings.Replace(keyedDoc, "components:", `x-amazon-apigateway-policy:
  Version: "2012-10-17"
  Statement:
    - {Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*"}
    - {Effect: Deny, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*/GET/pets"}
components:`, 1)
	id := importDoc(t, env.Client(), doc, "dev")
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("refused"), Enabled: true})
	const quota = 3
	planID := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("refused"),
		Quota:     &types.QuotaSettings{Limit: quota, Period: types.QuotaPeriodTypeDay},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, *k.Id)
	for i := range quota + 2 {
		if status, _, body := call(t, env.GatewayURL+"/"+id+"/dev/pets", *k.Value); status != http.StatusForbidden || !strings.Contains(body, "explicit deny") {
			t.Fatalf("request %d: %d %s, want the resource policy's 403", i, status, body)
		}
	}
	day := frozen.Format(time.DateOnly)
	u, err := gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(planID), StartDate: aws.String(day), EndDate: aws.String(day)})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Items[*k.Id]; len(got) != 1 || got[0][0] != 0 || got[0][1] != quota {
		t.Fatalf("get-usage %v, want [[0 %d]]: refused requests counted", u.Items, quota)
	}
}
