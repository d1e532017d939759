package admin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestBasePathMappingUnknownDomainFirst: create-base-path-mapping on a
// domain that does not exist, without --stage, said 400 "A mapping needs a
// stage"; the missing domain (404) is what to report first.
func TestBasePathMappingUnknownDomainFirst(t *testing.T) {
	v1, _, _, svc, _ := domainClients(t)
	ctx := context.Background()
	a, err := svc.Create(ctx, mockAPI(apis.ProtocolREST, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, stage := range []*string{nil, aws.String("nostage")} {
		_, err := v1.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("nodomain.example"), RestApiId: aws.String(a.ID), Stage: stage})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "NotFoundException" || ae.ErrorMessage() != "Invalid domain name identifier specified: nodomain.example" {
			t.Errorf("stage %v: %v, want NotFoundException for the domain", aws.ToString(stage), err)
		}
	}
}
