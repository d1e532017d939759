package admin_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestUnservedOperationSaysSoWhateverTheBody: PublishLayerVersion, which
// Portico does not implement, sent signed with a layer zip past the 6 MiB
// every other JSON route reads, is answered UnknownOperationException, not
// 413: a caller does not shrink the zip only to learn that layers do not
// exist. A wrong signature over such a body is still refused.
func TestUnservedOperationSaysSoWhateverTheBody(t *testing.T) {
	t.Parallel()
	const token = "unserved-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	ctx := t.Context()
	layer := bytes.Repeat([]byte{'z'}, 7<<20)
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, token))
	_, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("l27"), Content: &types.LayerVersionContentInput{ZipFile: layer}})
	apiError(t, err, "UnknownOperationException", http.StatusNotFound)

	bad := lambda.NewFromConfig(sdkConfig(env.AdminURL, "not-the-token"))
	_, err = bad.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("l27"), Content: &types.LayerVersionContentInput{ZipFile: layer}})
	apiError(t, err, "InvalidSignatureException", http.StatusForbidden)
}
