package admin_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestLambdaPermissionsGateTheGateway drives AddPermission, GetPolicy and
// RemovePermission with the AWS SDK, as Terraform's aws_lambda_permission and
// SAM do, and checks the gateway obeys the policy: a function without one is
// called as before; with one, only from an API and method a statement names.
func TestLambdaPermissionsGateTheGateway(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	createHello(t, ctx, c.fn, "hello", "hi")
	id := buildPets(t, c, "pets")
	deployProd(t, c, id)
	url := c.env.GatewayURL + "/" + id + "/prod/pets/42?name=rex"
	call := func(want int, why string) {
		t.Helper()
		status, body, _ := get(t, url)
		if status != want {
			t.Fatalf("%s: GET = %d %s, want %d", why, status, body, want)
		}
		if want == 500 && body != `{"message": "Internal server error"}` {
			t.Errorf("%s: body %s", why, body)
		}
	}
	call(200, "no policy")

	_, err := c.fn.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("hello")})
	if nf := (*types.ResourceNotFoundException)(nil); !errors.As(err, &nf) {
		t.Errorf("GetPolicy without a policy: %v", err)
	}

	apiArn := "arn:aws:execute-api:us-east-1:000000000000:"
	other, err := c.fn.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("hello"), StatementId: aws.String("other-api"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("apigateway.amazonaws.com"), SourceArn: aws.String(apiArn + "zzzzzzzzzz/*/*/*")})
	if err != nil {
		t.Fatalf("AddPermission: %v", err)
	}
	var st struct {
		Sid       string
		Principal map[string]string
		Condition map[string]map[string]string
	}
	if err := json.Unmarshal([]byte(aws.ToString(other.Statement)), &st); err != nil || st.Sid != "other-api" ||
		st.Principal["Service"] != "apigateway.amazonaws.com" || st.Condition["ArnLike"]["AWS:SourceArn"] != apiArn+"zzzzzzzzzz/*/*/*" {
		t.Errorf("Statement = %s (%v)", aws.ToString(other.Statement), err)
	}
	call(500, "a policy for another API only")

	if _, err := c.fn.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("hello"), StatementId: aws.String("this-api"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("apigateway.amazonaws.com"), SourceArn: aws.String(apiArn + id + "/*/GET/pets/*")}); err != nil {
		t.Fatalf("AddPermission: %v", err)
	}
	call(200, "a statement for this API's method")

	_, err = c.fn.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("hello"), StatementId: aws.String("this-api"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("apigateway.amazonaws.com")})
	if ce := (*types.ResourceConflictException)(nil); !errors.As(err, &ce) || !strings.Contains(err.Error(), "this-api") {
		t.Errorf("a second this-api: %v", err)
	}
	_, err = c.fn.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("hello:nope"), StatementId: aws.String("x"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("apigateway.amazonaws.com")})
	if nf := (*types.ResourceNotFoundException)(nil); !errors.As(err, &nf) {
		t.Errorf("AddPermission on an unknown alias: %v", err)
	}

	pol, err := c.fn.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("hello")})
	if err != nil {
		t.Fatalf("GetPolicy: %v", err)
	}
	var doc struct{ Statement []struct{ Sid string } }
	if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil || len(doc.Statement) != 2 || aws.ToString(pol.RevisionId) == "" {
		t.Errorf("GetPolicy = %s, revision %q (%v)", aws.ToString(pol.Policy), aws.ToString(pol.RevisionId), err)
	}
	_, err = c.fn.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("hello"), StatementId: aws.String("this-api"),
		RevisionId: aws.String("stale")})
	if pf := (*types.PreconditionFailedException)(nil); !errors.As(err, &pf) {
		t.Errorf("RemovePermission with a stale revision: %v", err)
	}
	if _, err := c.fn.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("hello"), StatementId: aws.String("this-api"),
		RevisionId: pol.RevisionId}); err != nil {
		t.Fatalf("RemovePermission: %v", err)
	}
	call(500, "this API's statement removed")
	if _, err := c.fn.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("hello"), StatementId: aws.String("other-api")}); err != nil {
		t.Fatalf("RemovePermission: %v", err)
	}
	call(200, "the policy gone with its last statement")
}

// TestLambdaPermissionsCoverEachQualifier: a version or alias has its own
// policy. Once a function has a policy (on itself or a qualifier), a call of a
// version or alias is allowed by its own policy, or by the function's when it
// has none of its own, rather than open to every API as it was; a function
// with no policy at all is still called from anywhere (Portico's local
// default).
func TestLambdaPermissionsCoverEachQualifier(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	createHello(t, ctx, c.fn, "hello", "hi")
	if _, err := c.fn.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("hello")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.fn.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("hello"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	id := buildPets(t, c, "pets")
	// No stage names hello:$LATEST: a stage variable value may not hold
	// '$' (API Gateway's [A-Za-z0-9-._~:/?#&=,]+); "prod" calls $LATEST.
	stages := map[string]string{"prod": "hello", "v1": "hello:1", "live": "hello:live"}
	for stage, fn := range stages {
		if _, err := c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(id), StageName: aws.String(stage),
			Variables: map[string]string{"fn": fn, "colour": "blue"}}); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(why string, want map[string]int) {
		t.Helper()
		for stage, status := range want {
			if got, body, _ := get(t, c.env.GatewayURL+"/"+id+"/"+stage+"/pets/42?name=rex"); got != status {
				t.Errorf("%s: %s (%s) = %d %s, want %d", why, stage, stages[stage], got, body, status)
			}
		}
	}
	expect("no policy at all", map[string]int{"prod": 200, "v1": 200, "live": 200})

	apiArn := "arn:aws:execute-api:us-east-1:000000000000:"
	add := func(qualifier, sid, source string) {
		t.Helper()
		in := &lambda.AddPermissionInput{FunctionName: aws.String("hello"), StatementId: aws.String(sid), Action: aws.String("lambda:InvokeFunction"),
			Principal: aws.String("apigateway.amazonaws.com"), SourceArn: aws.String(source)}
		if qualifier != "" {
			in.Qualifier = aws.String(qualifier)
		}
		if _, err := c.fn.AddPermission(ctx, in); err != nil {
			t.Fatalf("AddPermission %s: %v", sid, err)
		}
	}
	add("", "other-api", apiArn+"zzzzzzzzzz/*/GET/open")
	expect("the function allows another API only", map[string]int{"prod": 500, "v1": 500, "live": 500})
	add("", "this-api", apiArn+id+"/*/GET/pets/*")
	// A version or alias without a policy of its own is covered by the
	// function's (stores from older builds granted there what their alias
	// integrations call).
	expect("the function allows this API", map[string]int{"prod": 200, "v1": 200, "live": 200})
	add("live", "other-api", apiArn+"zzzzzzzzzz/*/GET/open")
	expect("the alias allows another API only", map[string]int{"prod": 200, "v1": 200, "live": 500})
	if _, err := c.fn.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("hello"), Qualifier: aws.String("live"),
		StatementId: aws.String("other-api")}); err != nil {
		t.Fatal(err)
	}
	add("live", "this-api", apiArn+id+"/*/GET/pets/*")
	expect("the alias allows this API", map[string]int{"prod": 200, "v1": 200, "live": 200})
	for _, sid := range []string{"other-api", "this-api"} {
		if _, err := c.fn.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("hello"), StatementId: aws.String(sid)}); err != nil {
			t.Fatal(err)
		}
	}
	expect("only the alias has a policy", map[string]int{"prod": 500, "v1": 500, "live": 200})
	if _, err := c.fn.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("hello"), Qualifier: aws.String("live"),
		StatementId: aws.String("this-api")}); err != nil {
		t.Fatal(err)
	}
	expect("every policy removed", map[string]int{"prod": 200, "v1": 200, "live": 200})
}
