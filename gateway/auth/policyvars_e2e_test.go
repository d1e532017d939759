package auth_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestIAMPolicyVariables: in a Version 2012-10-17 identity policy,
// ${aws:username} (and the other keys Portico knows) is the caller's value,
// as IAM substitutes it, so that a Deny using it applies and an Allow using it
// admits the caller's own resource only; in a 2008-10-17 policy it is literal
// text; a variable Portico does not know refuses the policy with
// MalformedPolicyDocument naming it.
func TestIAMPolicyVariables(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	id := createAPI(t, c, map[string]any{"name": "vars", "protocol": "REST", "authorizers": map[string]any{"sigv4": sigv4Scheme},
		"routes": []any{mockRoute("GET", "/blocked/{u}", "sigv4"), mockRoute("GET", "/home/{u}", "sigv4")}})
	base := env.GatewayURL + "/" + id + "/dev"
	arn := "arn:aws:execute-api:us-east-1:000000000000:" + id + "/dev/GET"
	alice := iamUser(t, env, "alice", `{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"`+arn+`/blocked/*"},
  {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"`+arn+`/home/${aws:username}"},
  {"Effect":"Deny","Action":"execute-api:Invoke","Resource":"`+arn+`/blocked/${aws:username}"}]}`)
	expect(t, "alice on /blocked/alice (denied by ${aws:username})", signedCall(t, alice, "GET", base+"/blocked/alice", ""), 403, "AccessDeniedException", "")
	expect(t, "alice on /blocked/bob", signedCall(t, alice, "GET", base+"/blocked/bob", ""), 200, "", "")
	expect(t, "alice on /home/alice", signedCall(t, alice, "GET", base+"/home/alice", ""), 200, "", "")
	expect(t, "alice on /home/bob (implicit deny)", signedCall(t, alice, "GET", base+"/home/bob", ""), 403, "AccessDeniedException", "")
	expect(t, "alice on /home/${aws:username} spelt out", signedCall(t, alice, "GET", base+"/home/$%7Baws:username%7D", ""), 403, "AccessDeniedException", "")

	// 2008-10-17: the variable is the text itself.
	old := iamUser(t, env, "olduser", `{"Version":"2008-10-17","Statement":[
  {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"},
  {"Effect":"Deny","Action":"execute-api:Invoke","Resource":"`+arn+`/blocked/${aws:username}"}]}`)
	expect(t, "2008-10-17: /blocked/olduser", signedCall(t, old, "GET", base+"/blocked/olduser", ""), 200, "", "")
	expect(t, "2008-10-17: /blocked/${aws:username}", signedCall(t, old, "GET", base+"/blocked/$%7Baws:username%7D", ""), 403, "AccessDeniedException", "")

	iamUser(t, env, "mallory", "")
	st, body := iamCall(t, env, "PutUserPolicy", "UserName", "mallory", "PolicyName", "p", "PolicyDocument", `{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"},
  {"Effect":"Deny","Action":"execute-api:Invoke","Resource":"`+arn+`/blocked/${aws:PrincipalTag/team}"}]}`)
	if st != 400 || !strings.Contains(body, "MalformedPolicyDocument") || !strings.Contains(body, "${aws:PrincipalTag/team}") {
		t.Errorf("a variable Portico does not know: %d %s", st, body)
	}
}
