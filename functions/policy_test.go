package functions

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

const testAPIArn = "arn:aws:execute-api:us-east-1:000000000000:abc123"

func gatewayMay(t *testing.T, e *env, name, qualifier string, arns ...string) bool {
	t.Helper()
	ok, err := e.svc.GatewayMayInvoke(context.Background(), name, qualifier, SourceList(arns))
	if err != nil {
		t.Fatalf("GatewayMayInvoke(%s, %q): %v", name, qualifier, err)
	}
	return ok
}

func TestPermissionsGateTheGateway(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn", true)
	get := testAPIArn + "/prod/GET/pets"

	// No policy: the gateway calls the function as it always has.
	if !gatewayMay(t, e, "fn", "", get) {
		t.Fatal("a function without a policy is refused")
	}
	// A statement for another service: now only a statement allowing the
	// gateway lets it call.
	if _, err := e.svc.AddPermission(ctx, "fn", "", Permission{StatementID: "s3", Action: "lambda:InvokeFunction", Principal: "s3.amazonaws.com"}, ""); err != nil {
		t.Fatal(err)
	}
	if gatewayMay(t, e, "fn", "", get) {
		t.Error("a policy naming only s3 lets the gateway call")
	}
	if _, err := e.svc.AddPermission(ctx, "fn", "", Permission{StatementID: "gw", Action: "lambda:InvokeFunction", Principal: GatewayPrincipal,
		SourceArn: testAPIArn + "/*/GET/pets"}, ""); err != nil {
		t.Fatal(err)
	}
	for arn, want := range map[string]bool{
		get:                                      true,
		testAPIArn + "/dev/GET/pets":             true,
		testAPIArn + "/prod/POST/pets":           false,
		strings.Replace(get, "abc123", "zzz", 1): false,
	} {
		if got := gatewayMay(t, e, "fn", "", arn); got != want {
			t.Errorf("call from %s allowed = %v, want %v", arn, got, want)
		}
	}
	// Any of the request's ARNs may match.
	if !gatewayMay(t, e, "fn", "", testAPIArn+"/prod/ANY/pets", get) {
		t.Error("the second source ARN is not tried")
	}
	// Version 1 has no policy of its own: the function's covers it, so it is
	// not open to every API once the function has a policy.
	if gatewayMay(t, e, "fn", "1", testAPIArn+"/prod/POST/pets") {
		t.Error("version 1 (no policy of its own) is called by a source the function's policy does not allow")
	}
	if !gatewayMay(t, e, "fn", "1", get) {
		t.Error("version 1 (no policy of its own) is refused a source the function's policy allows")
	}
	// $LATEST is the function's policy.
	if gatewayMay(t, e, "fn", Latest, testAPIArn+"/prod/POST/pets") {
		t.Error("fn:$LATEST is not held to the function's policy")
	}
	// Conditions the gateway's call does not meet never allow it.
	for i, p := range []Permission{
		{Action: "lambda:InvokeFunction", Principal: GatewayPrincipal, SourceAccount: "111122223333"},
		{Action: "lambda:InvokeFunction", Principal: GatewayPrincipal, PrincipalOrgID: "o-abcdefghij"},
		{Action: "lambda:GetFunction", Principal: GatewayPrincipal},
		{Action: "lambda:InvokeFunction", Principal: "arn:aws:iam::000000000000:user/bob"},
		{Action: "lambda:InvokeFunctionUrl", Principal: "*", FunctionURLAuthType: "NONE"},
	} {
		p.StatementID = "n" + string(rune('0'+i))
		if _, err := e.svc.AddPermission(ctx, "fn", "1", p, ""); err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if gatewayMay(t, e, "fn", "1", get) {
			t.Errorf("statement %+v lets the gateway call", p)
		}
	}
	if _, err := e.svc.AddPermission(ctx, "fn", "1", Permission{StatementID: "acct", Action: "lambda:*", Principal: "*", SourceAccount: AccountID}, ""); err != nil {
		t.Fatal(err)
	}
	if !gatewayMay(t, e, "fn", "1", get) {
		t.Error("lambda:* to * from Portico's account does not allow the gateway")
	}
}

func TestPermissionsDocumentAndErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn", true)
	e.aliases.target = func(_, alias string) string {
		if alias == "live" {
			return "1"
		}
		return ""
	}

	if _, _, err := e.svc.GetPolicy(ctx, "fn", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("GetPolicy without a policy: %v", err)
	}
	st, err := e.svc.AddPermission(ctx, "fn", "live", Permission{StatementID: "apigw", Action: "lambda:InvokeFunction",
		Principal: GatewayPrincipal, SourceArn: testAPIArn + "/*/*/*", SourceAccount: AccountID}, "")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(st, &doc); err != nil {
		t.Fatal(err)
	}
	want := `{"Action":"lambda:InvokeFunction","Condition":{"ArnLike":{"AWS:SourceArn":"` + testAPIArn + `/*/*/*"},"StringEquals":{"AWS:SourceAccount":"000000000000"}},"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Resource":"arn:aws:lambda:us-east-1:000000000000:function:fn:live","Sid":"apigw"}`
	if got, _ := json.Marshal(doc); string(got) != want {
		t.Errorf("statement\n got %s\nwant %s", got, want)
	}
	if _, err := e.svc.AddPermission(ctx, "fn", "live", Permission{StatementID: "acct", Action: "lambda:InvokeFunction", Principal: "111122223333"}, ""); err != nil {
		t.Fatal(err)
	}
	raw, rev, err := e.svc.GetPolicy(ctx, "fn", "live")
	if err != nil || rev == "" {
		t.Fatalf("GetPolicy: %v (revision %q)", err, rev)
	}
	var pol struct {
		Version   string
		ID        string `json:"Id"`
		Statement []struct {
			Sid       string
			Principal map[string]string
		}
	}
	if err := json.Unmarshal(raw, &pol); err != nil {
		t.Fatal(err)
	}
	if pol.Version != "2012-10-17" || pol.ID != "default" || len(pol.Statement) != 2 ||
		pol.Statement[1].Principal["AWS"] != "arn:aws:iam::111122223333:root" {
		t.Errorf("policy = %s", raw)
	}

	// Refusals, each of its kind.
	for _, c := range []struct {
		name, qualifier string
		p               Permission
		rev             string
		want            error
		typ             string
	}{
		{"fn", "live", Permission{StatementID: "apigw", Action: "lambda:InvokeFunction", Principal: "*"}, "", errdefs.ErrConflict, "ResourceConflictException"},
		{"fn", "live", Permission{StatementID: "x", Action: "lambda:InvokeFunction", Principal: "*"}, "stale", errdefs.ErrPrecondition, "PreconditionFailedException"},
		{"nope", "", Permission{StatementID: "x", Action: "lambda:InvokeFunction", Principal: "*"}, "", errdefs.ErrNotFound, "ResourceNotFoundException"},
		{"fn", "beta", Permission{StatementID: "x", Action: "lambda:InvokeFunction", Principal: "*"}, "", errdefs.ErrNotFound, "ResourceNotFoundException"},
		{"fn", "7", Permission{StatementID: "x", Action: "lambda:InvokeFunction", Principal: "*"}, "", errdefs.ErrNotFound, "ResourceNotFoundException"},
		{"fn", "", Permission{StatementID: "bad id!", Action: "invoke", Principal: "a b", SourceArn: "nope", SourceAccount: "12"}, "", errdefs.ErrInvalid, "ValidationException"},
		{"fn", "", Permission{StatementID: "big", Action: "lambda:InvokeFunction", Principal: "*", SourceArn: testAPIArn + "/" + strings.Repeat("x", 900)}, "", nil, ""},
	} {
		_, err := e.svc.AddPermission(ctx, c.name, c.qualifier, c.p, c.rev)
		if c.want == nil {
			if err != nil {
				t.Errorf("AddPermission(%s:%s, %+v): %v", c.name, c.qualifier, c.p, err)
			}
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(typeOf(err), c.typ) {
			t.Errorf("AddPermission(%s:%s, %s): %v (type %s), want %v %s", c.name, c.qualifier, c.p.StatementID, err, typeOf(err), c.want, c.typ)
		}
	}
	// The bad one says every problem, in Lambda's words (its model's member names).
	_, err = e.svc.AddPermission(ctx, "fn", "", Permission{StatementID: "bad id!", Action: "invoke", Principal: "a b", SourceArn: "nope", SourceAccount: "12"}, "")
	if err == nil || !strings.HasPrefix(err.Error(), "5 validation errors detected: ") {
		t.Errorf("error %v, want 5 validation errors", err)
	}
	for _, w := range []string{"'statementId'", "'action'", "'principal'", "'sourceArn'", "'sourceAccount'"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not name %s", err, w)
		}
	}
	// A policy over 20 KB is refused and nothing is kept.
	var last error
	for i := range 30 {
		_, last = e.svc.AddPermission(ctx, "fn", "", Permission{StatementID: "big" + strings.Repeat("n", i+1), Action: "lambda:InvokeFunction", Principal: "*",
			SourceArn: testAPIArn + "/" + strings.Repeat("x", 900)}, "")
		if last != nil {
			break
		}
	}
	if typeOf(last) != "PolicyLengthExceededException" {
		t.Errorf("a policy past 20 KB: %v", last)
	}
	if raw, _, _ := e.svc.GetPolicy(ctx, "fn", ""); len(raw) > MaxPolicySize {
		t.Errorf("policy of %d bytes kept", len(raw))
	}

	// Removal: a stale revision, an unknown statement, then the last one
	// takes the policy with it.
	if err := e.svc.RemovePermission(ctx, "fn", "live", "apigw", "stale"); !errors.Is(err, errdefs.ErrPrecondition) {
		t.Errorf("remove with a stale revision: %v", err)
	}
	if err := e.svc.RemovePermission(ctx, "fn", "live", "nope", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("remove an unknown statement: %v", err)
	}
	if err := e.svc.RemovePermission(ctx, "fn", "live", "apigw", rev); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RemovePermission(ctx, "fn", "live", "acct", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.GetPolicy(ctx, "fn", "live"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("policy after its last statement went: %v", err)
	}
}

func TestPermissionsGoWithWhatTheyAreOn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn", true)
	deny := Permission{StatementID: "only-s3", Action: "lambda:InvokeFunction", Principal: "s3.amazonaws.com"}
	for _, q := range []string{"", "1"} {
		if _, err := e.svc.AddPermission(ctx, "fn", q, deny, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Kept across a restart.
	e.reopen(t)
	for _, q := range []string{"", "1"} {
		if gatewayMay(t, e, "fn", q, testAPIArn+"/prod/GET/") {
			t.Errorf("qualifier %q: the policy is lost on reopen", q)
		}
	}
	// A deleted version's policy goes with it; so does a deleted function's,
	// and a function made again under the name starts without one.
	if err := e.svc.Delete(ctx, "fn", "1"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.View(ctx, func(tx *store.Tx) error {
		if tx.Has(bucketPolicies, policyKey("fn", "1")) {
			t.Error("version 1's policy survives the version")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	e.create(t, "fn", false)
	if !gatewayMay(t, e, "fn", "", testAPIArn+"/prod/GET/") {
		t.Error("a new function inherits its predecessor's policy")
	}
	// An alias's policy goes with the alias (the aliases package runs
	// DropQualifier when it deletes one).
	e.aliases.target = func(_, alias string) string { return Latest }
	if _, err := e.svc.AddPermission(ctx, "fn", "live", deny, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Update(ctx, e.svc.DropQualifier("fn", "live")); err != nil {
		t.Fatal(err)
	}
	if !gatewayMay(t, e, "fn", "live", testAPIArn+"/prod/GET/") {
		t.Error("an alias's policy survives DropQualifier")
	}
}

// typeOf is the AWS error type err names, or "".
func typeOf(err error) string {
	var k *errdefs.Kinded
	if errors.As(err, &k) {
		return k.Type
	}
	return ""
}
