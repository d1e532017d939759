package usage_test

import (
	"context"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// TestKeyAndPlanTags: create-api-key and create-usage-plan took tags and
// dropped them (Terraform's tags then showed a diff for ever), and
// tag-resource refused the ARNs of keys and plans. They are kept, read back,
// and tag-resource, untag-resource and get-tags work on both, as on API
// Gateway; a reserved aws: key is 400.
func TestKeyAndPlanTags(t *testing.T) {
	_, _, gw, _ := startKeyed(t, "dev")
	ctx := context.Background()
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Tags: map[string]string{"env": "dev"}})
	if !maps.Equal(k.Tags, map[string]string{"env": "dev"}) {
		t.Errorf("create-api-key answers tags %v", k.Tags)
	}
	p, err := gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), Tags: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(p.Tags, map[string]string{"team": "a"}) {
		t.Errorf("create-usage-plan answers tags %v", p.Tags)
	}
	gk, err := gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: k.Id})
	if err != nil || !maps.Equal(gk.Tags, map[string]string{"env": "dev"}) {
		t.Errorf("get-api-key: tags %v, %v", gk.Tags, err)
	}
	gp, err := gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: p.Id})
	if err != nil || !maps.Equal(gp.Tags, map[string]string{"team": "a"}) {
		t.Errorf("get-usage-plan: tags %v, %v", gp.Tags, err)
	}
	for _, c := range []struct {
		arn  string
		want map[string]string
	}{
		{"arn:aws:apigateway:us-east-1::/apikeys/" + *k.Id, map[string]string{"env": "prod"}},
		{"arn:aws:apigateway:us-east-1::/usageplans/" + *p.Id, map[string]string{"team": "a"}},
	} {
		if _, err := gw.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: aws.String(c.arn), Tags: map[string]string{"env": "prod", "x": "y"}}); err != nil {
			t.Fatalf("tag-resource %s: %v", c.arn, err)
		}
		if _, err := gw.UntagResource(ctx, &apigateway.UntagResourceInput{ResourceArn: aws.String(c.arn), TagKeys: []string{"x"}}); err != nil {
			t.Fatalf("untag-resource %s: %v", c.arn, err)
		}
		got, err := gw.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String(c.arn)})
		want := maps.Clone(c.want)
		want["env"] = "prod"
		if err != nil || !maps.Equal(got.Tags, want) {
			t.Errorf("get-tags %s: %v %v, want %v", c.arn, got, err, want)
		}
		_, err = gw.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: aws.String(c.arn), Tags: map[string]string{"aws:x": "y"}})
		wantAPIError(t, err, "BadRequestException", "reserved")
	}
	gk, err = gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: k.Id})
	if err != nil || !maps.Equal(gk.Tags, map[string]string{"env": "prod"}) {
		t.Errorf("get-api-key after tag-resource: tags %v, %v", gk.Tags, err)
	}
	_, err = gw.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/apikeys/nope")})
	wantAPIError(t, err, "NotFoundException", "Invalid API Key identifier specified")
	_, err = gw.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("bad"), Tags: map[string]string{"aws:k": "v"}})
	wantAPIError(t, err, "BadRequestException", "reserved")
}
