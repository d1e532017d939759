package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestCodeDeployEndpointAuthentication: PutLifecycleEventHookExecutionStatus
// on the admin API takes the admin token's signature (access key portico),
// refuses an unknown key while the admin API has a token and takes any
// without one (as every route then does), answers in CodeDeploy's error
// shape, and refuses the CodeDeploy operations Portico does not have.
func TestCodeDeployEndpointAuthentication(t *testing.T) {
	t.Parallel()
	report := func(url, id, secret string) error {
		cd := codedeploy.New(codedeploy.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
			Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})
		_, err := cd.PutLifecycleEventHookExecutionStatus(context.Background(), &codedeploy.PutLifecycleEventHookExecutionStatusInput{
			DeploymentId: aws.String("d-NOSUCHONE"), LifecycleEventHookExecutionId: aws.String("x"), Status: cdtypes.LifecycleEventStatusSucceeded})
		return err
	}
	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}
	const token = "s3cret-token-for-the-admin-api-0123456789"
	withToken := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	if err := report(withToken.AdminURL, "portico", token); code(err) != "DeploymentDoesNotExistException" {
		t.Errorf("signed with the admin token: %v", err)
	}
	if err := report(withToken.AdminURL, "AKIAEXAMPLEEXAMPLE00", "nope"); code(err) != "UnrecognizedClientException" {
		t.Errorf("signed with an unknown key: %v", err)
	}
	open := apptest.Start(t, apptest.Options{})
	if err := report(open.AdminURL, "AKIAEXAMPLEEXAMPLE00", "nope"); code(err) != "DeploymentDoesNotExistException" {
		t.Errorf("without an admin token: %v", err)
	}

	req, err := http.NewRequest(http.MethodPost, open.AdminURL+"/", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "CodeDeploy_20141006.GetDeployment")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"__type":"UnknownOperationException"`) {
		t.Errorf("GetDeployment: %d %s", resp.StatusCode, body)
	}
}
