package e2e_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestMissingImageRefusedAtCreate: on Docker and on containerd, an image that
// is not on the host and that no registry serves, and a reference that does
// not parse, are refused by CreateFunction and UpdateFunctionCode with a 400
// InvalidParameterValueException that names the image and says how to bring
// it in, not accepted and then answered with a retryable, generic 503 at the
// first invoke or publish.
func TestMissingImageRefusedAtCreate(t *testing.T) {
	const missing = "portico-test.invalid/nosuchimage:zz" // .invalid never resolves
	for _, rt := range containerRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			rt.require(t)
			im := newImages(t, rt.name) // cleaned up after the server stops
			dataDir := t.TempDir()
			sweepInstance(t, rt.name, dataDir)
			env := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dataDir})
			c := sdk(env.AdminURL)
			image := func(name, ref string) *lambda.CreateFunctionInput {
				return &lambda.CreateFunctionInput{
					FunctionName: aws.String(name),
					Role:         aws.String("arn:aws:iam::000000000000:role/any"),
					PackageType:  types.PackageTypeImage,
					Code:         &types.FunctionCode{ImageUri: aws.String(ref)},
				}
			}
			for _, tc := range []struct{ ref, says string }{
				{missing, "portico build DIR -t"},
				{"UPPER::bad", "not a valid image reference"},
			} {
				_, err := c.CreateFunction(t.Context(), image("img", tc.ref))
				wantImageRefused(t, "CreateFunction", err, tc.ref, tc.says)
			}
			if _, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String("img")}); err == nil {
				t.Fatal("a function refused for its image exists")
			}
			// A function of an image the host has: its code cannot move to
			// an image it lacks.
			base := "portico-e2e/hello:" + randHex(6)
			im.build(env.AdminURL, base)
			createFunction(t, c, image("img", base))
			_, err := c.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{
				FunctionName: aws.String("img"), ImageUri: aws.String(missing), Publish: true,
			})
			wantImageRefused(t, "UpdateFunctionCode", err, missing, "portico build DIR -t")
			got, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String("img")})
			if err != nil || aws.ToString(got.Code.ImageUri) != base {
				t.Errorf("after the refused update, GetFunction = %v, %v; want ImageUri %s", got, err, base)
			}
		})
	}
}

// wantImageRefused fails t unless err is a 400 InvalidParameterValueException
// whose message names ref and says says.
func wantImageRefused(t *testing.T, op string, err error, ref, says string) {
	t.Helper()
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		t.Fatalf("%s with image %s: %v, want InvalidParameterValueException", op, ref, err)
	}
	if re.HTTPStatusCode() != http.StatusBadRequest || ae.ErrorCode() != "InvalidParameterValueException" ||
		!strings.Contains(ae.ErrorMessage(), ref) || !strings.Contains(ae.ErrorMessage(), says) {
		t.Errorf("%s with image %s: %d %s %q; want 400 InvalidParameterValueException naming the image and saying %q",
			op, ref, re.HTTPStatusCode(), ae.ErrorCode(), ae.ErrorMessage(), says)
	}
}
