package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway"
)

const (
	codeDeployReport = "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"
	codeDeployBody   = `{"deploymentId":"d-NOPE","lifecycleEventHookExecutionId":"x","status":"Succeeded"}`
	codeDeployToken  = "codedeploy-signin-token-0123456789abcdef"
)

// httpFrom is an HTTP client whose connections come from the loopback
// address from, a client address of its own for the failed sign-in limit.
func httpFrom(from string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// postFrom sends method url from the loopback address from, with
// Authorization auth and, for CodeDeploy's route, its X-Amz-Target, and
// returns the status, the error type and Retry-After.
func postFrom(t *testing.T, from, method, url, auth, target string) (int, string, string) {
	t.Helper()
	body := ""
	if target != "" {
		body = codeDeployBody
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	}
	resp, err := httpFrom(from).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), resp.Header.Get("Retry-After")
}

// codeDeployFrom is CodeDeploy's SDK client for url, signing as id with
// secret (and session token), its connections from the loopback address from.
func codeDeployFrom(url, from, id, secret, token string) *codedeploy.Client {
	return codedeploy.NewFromConfig(aws.Config{BaseEndpoint: aws.String(url), Region: "us-east-1", RetryMaxAttempts: 1,
		HTTPClient: httpFrom(from), Credentials: credentials.NewStaticCredentialsProvider(id, secret, token)})
}

// reportStatus reports a hook's status with c and returns the HTTP status
// and the error code of the answer (0, "" when it succeeded).
func reportStatus(t *testing.T, c *codedeploy.Client) (int, string) {
	t.Helper()
	_, err := c.PutLifecycleEventHookExecutionStatus(context.Background(), &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId: aws.String("d-NOPE"), LifecycleEventHookExecutionId: aws.String("x"), Status: "Succeeded"})
	if err == nil {
		return 0, ""
	}
	var re *smithyhttp.ResponseError
	var ae smithy.APIError
	if !errors.As(err, &re) || !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return re.HTTPStatusCode(), ae.ErrorCode()
}

// TestCodeDeployFailedSignInsLimited (sec29 #1): the CodeDeploy route of the
// admin listener checked the admin token (bearer or SigV4) outside the failed
// sign-in limit: guesses were unlimited, and the right token was taken from
// an address every other route answered 429. Its failures now count in the
// admin budget, and a waiting address is refused, the right token included.
func TestCodeDeployFailedSignInsLimited(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = codeDeployToken }})
	lambdaURL := env.AdminURL + "/2015-03-31/functions"

	// Wrong bearer tokens on CodeDeploy's route, then the right one.
	const guesser = "127.0.0.11"
	for i := range 10 {
		if st, typ, _ := postFrom(t, guesser, "POST", env.AdminURL+"/", fmt.Sprintf("Bearer wrong%d", i), codeDeployReport); st != 403 {
			t.Fatalf("wrong token %d: %d %s, want 403", i+1, st, typ)
		}
	}
	if st, typ, retry := postFrom(t, guesser, "POST", env.AdminURL+"/", "Bearer "+codeDeployToken, codeDeployReport); st != 429 || typ != "ThrottlingException" || retry == "" {
		t.Errorf("the right token after 10 wrong ones on CodeDeploy: %d %s Retry-After %q, want 429 ThrottlingException", st, typ, retry)
	}
	if st, typ, _ := postFrom(t, guesser, "GET", lambdaURL, "Bearer "+codeDeployToken, ""); st != 429 {
		t.Errorf("a Lambda route after 10 wrong tokens on CodeDeploy: %d %s, want 429", st, typ)
	}

	// Wrong SigV4 secrets for the admin key count the same.
	const signer = "127.0.0.12"
	for i := range 10 {
		if st, code := reportStatus(t, codeDeployFrom(env.AdminURL, signer, "portico", fmt.Sprintf("wrong-secret-%d", i), "")); st != 403 {
			t.Fatalf("wrong secret %d: %d %s, want 403", i+1, st, code)
		}
	}
	if st, code := reportStatus(t, codeDeployFrom(env.AdminURL, signer, "portico", codeDeployToken, "")); st != 429 || code != "ThrottlingException" {
		t.Errorf("the right secret after 10 wrong ones: %d %s, want 429 ThrottlingException", st, code)
	}

	// An address locked out on another route is refused here too.
	const locked = "127.0.0.13"
	for i := range 10 {
		if st, typ, _ := postFrom(t, locked, "GET", lambdaURL, fmt.Sprintf("Bearer wrong%d", i), ""); st != 403 {
			t.Fatalf("wrong token %d on a Lambda route: %d %s", i+1, st, typ)
		}
	}
	if st, typ, _ := postFrom(t, locked, "POST", env.AdminURL+"/", "Bearer "+codeDeployToken, codeDeployReport); st != 429 {
		t.Errorf("the right token on CodeDeploy from a locked-out address: %d %s, want 429", st, typ)
	}

	// Another address is not held back: the right token is served.
	if st, typ, _ := postFrom(t, "127.0.0.14", "POST", env.AdminURL+"/", "Bearer "+codeDeployToken, codeDeployReport); st != 400 || typ != "DeploymentDoesNotExistException" {
		t.Errorf("the right token from another address: %d %s, want 400 DeploymentDoesNotExistException", st, typ)
	}
}

// TestSandboxCodeDeployFailedSignInsLimited (sec29 #1): the sandbox-facing
// endpoint's CodeDeploy calls never reached 429, however many signatures
// failed. They count in the gateway surfaces' budget, as @connections calls
// on the same endpoint do; while the address waits, a call signed with the
// credentials issued to a sandbox is still served (a process-runtime sandbox
// shares its address with everyone on the host).
func TestSandboxCodeDeployFailedSignInsLimited(t *testing.T) {
	t.Parallel()
	var g *gateway.Gateway
	var m *connections.Manager
	apptest.Start(t, apptest.Options{Populate: []any{&g, &m},
		Settings: func(s *app.Settings) { s.AdminToken = codeDeployToken }})
	url := g.SandboxEndpoints()["AWS_ENDPOINT_URL_CODEDEPLOY"]
	if url == "" {
		t.Fatal("no sandbox-facing endpoint")
	}
	url = "http://" + strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://")

	const guesser = "127.0.0.21"
	for i := range 10 {
		if st, code := reportStatus(t, codeDeployFrom(url, guesser, "PTCOGUESS", fmt.Sprintf("wrong-%d", i), "tok")); st != 403 {
			t.Fatalf("wrong signature %d: %d %s, want 403", i+1, st, code)
		}
	}
	if st, code := reportStatus(t, codeDeployFrom(url, guesser, "portico", codeDeployToken, "")); st != 429 || code != "ThrottlingException" {
		t.Errorf("after 10 wrong signatures: %d %s, want 429 ThrottlingException", st, code)
	}
	// @connections on the same endpoint shares the budget.
	if st, typ, _ := postFrom(t, guesser, "POST", url+"/dev/@connections/x", "Bearer "+codeDeployToken, ""); st != 429 {
		t.Errorf("@connections after 10 wrong CodeDeploy signatures: %d %s, want 429", st, typ)
	}
	// A sandbox's own credentials still report.
	c := m.Issue("hook")
	if st, code := reportStatus(t, codeDeployFrom(url, guesser, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)); st != 400 || code != "DeploymentDoesNotExistException" {
		t.Errorf("a sandbox's credentials from the waiting address: %d %s, want 400 DeploymentDoesNotExistException", st, code)
	}
}
