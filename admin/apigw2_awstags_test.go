package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2CreateAPIReservedTagKeys: create-api refuses an aws: tag key, as
// create-stage and tag-resource do (API Gateway reserves the prefix on every
// tagging call); it was stored, and every tag-resource on the API then failed
// naming it (r-httpapi27 finding 7).
func TestV2CreateAPIReservedTagKeys(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	_, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("tg"), ProtocolType: v2types.ProtocolTypeHttp,
		Tags: map[string]string{"aws:x": "1"}})
	wantV2Error(t, err, 400, "BadRequestException", `tag key "aws:x": keys starting with aws: are reserved`)
	_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("tg"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action"), Tags: map[string]string{"AWS:y": "1"}})
	wantV2Error(t, err, 400, "BadRequestException", `tag key "AWS:y": keys starting with aws: are reserved`)
	if _, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("tg"), ProtocolType: v2types.ProtocolTypeHttp,
		Tags: map[string]string{"team": "a"}}); err != nil {
		t.Fatal(err)
	}
}
