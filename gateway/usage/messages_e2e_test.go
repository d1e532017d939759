package usage_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestUsageMessagesSayWhatIsWrong: an impossible date is told which part is
// wrong (it was told to "use YYYY-MM-DD", which it is); a rate of 1e400 is
// out of range (it was "not a number"); includeValues takes true or false in
// any case, as its error says, and no more 1 or t; update-rest-api takes
// apiKeySource in any case, as an import's x-amazon-apigateway-api-key-source
// does (it refused "header" that the import took).
func TestUsageMessagesSayWhatIsWrong(t *testing.T) {
	env, _, gw, id := startKeyed(t, "dev")
	ctx := context.Background()
	p := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}})
	for _, tc := range []struct{ start, end, want string }{
		{"2026-02-30", "2026-03-01", "Invalid startDate '2026-02-30': not a date: February 2026 has 28 days"},
		{"2026-01-01", "2026-13-01", "Invalid endDate '2026-13-01': not a date: month 13 is not 01 to 12"},
		{"2026-1-01", "2026-01-02", "Invalid startDate '2026-1-01': use YYYY-MM-DD"},
	} {
		_, err := gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(p), StartDate: aws.String(tc.start), EndDate: aws.String(tc.end)})
		wantAPIError(t, err, "BadRequestException", tc.want)
	}
	_, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(p), PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/throttle/rateLimit"), Value: aws.String("1e400")}}})
	wantAPIError(t, err, "BadRequestException", `"1e400" is out of range`)

	for _, tc := range []struct {
		query string
		code  int
	}{{"includeValues=true", 200}, {"includeValues=TRUE", 200}, {"includeValues=False", 200}, {"includeValues=1", 400}, {"includeValues=t", 400}} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.AdminURL+"/apikeys?"+tc.query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.code || tc.code == 400 && !strings.Contains(string(body), "use true or false") {
			t.Errorf("GET /apikeys?%s: %d %s, want %d", tc.query, resp.StatusCode, body, tc.code)
		}
	}

	out, err := gw.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/apiKeySource"), Value: aws.String("authorizer")}}})
	if err != nil || out.ApiKeySource != types.ApiKeySourceTypeAuthorizer {
		t.Fatalf("update-rest-api apiKeySource authorizer: %v, %v", out, err)
	}
	_, err = gw.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/apiKeySource"), Value: aws.String("query")}}})
	wantAPIError(t, err, "BadRequestException", "use HEADER or AUTHORIZER")
}
