package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
)

// TestV2QuickCreateBadTargetNamesTheTarget guards r-httpapi29's finding 9:
// quick create with a target that is neither a function nor an http(s) URL
// is refused naming the target and both forms it takes, not an integration
// id the user never saw.
func TestV2QuickCreateBadTargetNamesTheTarget(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	_, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("q6"), ProtocolType: "HTTP", Target: aws.String("ftp://x")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException",
		`target "ftp://x" must be a function (function:NAME[:QUALIFIER], a Lambda function ARN or a Lambda invocation ARN) or an http:// or https:// URL`)
	_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("q7"), ProtocolType: "HTTP", Target: aws.String("http://")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `target "http://": integration uri "http://" must be an absolute http or https URL`)
	if err != nil && strings.Contains(err.Error(), "integration ") && !strings.Contains(err.Error(), "integration uri") {
		t.Errorf("names an integration: %v", err)
	}
}
