package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// TestCreateAPIKeyEmptyValueGenerates: Terraform's aws_api_gateway_api_key
// without a value sends {"value":""}; API Gateway generates a key then, as it
// does for no value at all.
func TestCreateAPIKeyEmptyValueGenerates(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	key, err := c.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("tf"), Enabled: true, Value: aws.String("")})
	if err != nil {
		t.Fatalf("CreateApiKey value \"\": %v", err)
	}
	if v := aws.ToString(key.Value); len(v) < 20 {
		t.Fatalf("generated value %q, want at least 20 characters", v)
	}
	got, err := c.ag.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: key.Id, IncludeValue: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetApiKey: %v", err)
	}
	if aws.ToString(got.Value) != aws.ToString(key.Value) {
		t.Fatalf("read back value %q, want %q", aws.ToString(got.Value), aws.ToString(key.Value))
	}
	// A value that is given stays held to AWS's rule.
	_, err = c.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("short"), Value: aws.String("short")})
	if err == nil {
		t.Fatal("CreateApiKey value \"short\" succeeded, want BadRequestException")
	}
}
