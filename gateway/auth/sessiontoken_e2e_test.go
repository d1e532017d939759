package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// signedWithToken is signedCall with a session token (X-Amz-Security-Token,
// signed), for service.
func signedWithToken(t *testing.T, id, secret, token, service, method, u string, presign bool) answer {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	cr := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
	if presign {
		req.URL.RawQuery = "X-Amz-Expires=300"
		req, _ = http.NewRequest(method, sigv4test.Presign(t, req, cr, sigv4test.EmptyHash, service, sigv4test.Region, time.Now()), nil)
		return do(t, req)
	}
	sigv4test.Sign(t, req, cr, sigv4test.EmptyHash, service, sigv4test.Region, time.Now())
	return do(t, req)
}

// iamCallWithToken is iamCall on a server with an admin token.
func iamCallWithToken(t *testing.T, env *apptest.Env, token, action string, params ...string) (int, string) {
	t.Helper()
	return sigv4test.IAMCall(t, env.AdminURL, token, action, params...)
}

// TestMadeUpSessionTokenRefused: a session token (X-Amz-Security-Token) is
// only taken with the temporary credentials it was issued with, as AWS takes
// it; Portico issues them to sandboxes alone. An IAM user's long-term key, or
// the admin key, sent with a token is refused as AWS refuses an invalid token:
// 403 UnrecognizedClientException "The security token included in the request
// is invalid." (@connections: its ForbiddenException), on every surface that
// checks signatures.
func TestMadeUpSessionTokenRefused(t *testing.T) {
	const token = "admin-token-for-session-tests-0123456789"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	c := env.Client()
	id := createAPI(t, c, map[string]any{"name": "iam", "protocol": "REST", "authorizers": map[string]any{"sigv4": sigv4Scheme},
		"routes": []any{mockRoute("GET", "/pets", "sigv4")}})
	bob := iamUserWithToken(t, env, token, "bob")
	if st, body := iamCallWithToken(t, env, token, "PutUserPolicy", "UserName", "bob", "PolicyName", "p", "PolicyDocument",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:*","Resource":"*"}]}`); st != 200 {
		t.Fatalf("PutUserPolicy: %d %s", st, body)
	}
	u := env.GatewayURL + "/" + id + "/dev/pets"
	const invalid = `{"message":"The security token included in the request is invalid."}`
	expect(t, "AWS_IAM route, no token", signedWithToken(t, bob.ID, bob.Secret, "", "execute-api", "GET", u, false), 200, "", "")
	expect(t, "AWS_IAM route, made-up token", signedWithToken(t, bob.ID, bob.Secret, "made-up", "execute-api", "GET", u, false),
		403, "UnrecognizedClientException", invalid)
	expect(t, "AWS_IAM route, made-up token, presigned", signedWithToken(t, bob.ID, bob.Secret, "made-up", "execute-api", "GET", u, true),
		403, "UnrecognizedClientException", invalid)

	// The admin API, signed with the admin key.
	admin := env.AdminURL + "/2015-03-31/functions"
	expect(t, "admin API, no token", signedWithToken(t, "portico", token, "", "lambda", "GET", admin, false), 200, "", "")
	expect(t, "admin API, made-up token", signedWithToken(t, "portico", token, "made-up", "lambda", "GET", admin, false),
		403, "UnrecognizedClientException", "")

	// @connections, with an IAM key and with the admin key.
	ws := createAPI(t, c, map[string]any{"name": "w", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"routes": []any{map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}}}})
	conn, upgrade, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+ws+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	upgrade.Body.Close()
	defer conn.Close()
	resp, err := c.Do(context.Background(), "GET", "/portico/v1/apis/"+ws+"/stages/dev/connections", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			ConnectionID string `json:"connectionId"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("connections: %s %v", resp.Body, err)
	}
	cu := env.GatewayURL + "/" + ws + "/dev/@connections/" + url.PathEscape(list.Items[0].ConnectionID)
	expect(t, "@connections by bob, no token", signedWithToken(t, bob.ID, bob.Secret, "", "execute-api", "GET", cu, false), 200, "", "")
	expect(t, "@connections by bob, made-up token", signedWithToken(t, bob.ID, bob.Secret, "made-up", "execute-api", "GET", cu, false),
		403, "ForbiddenException", `{"message":"Forbidden"}`)
	expect(t, "@connections by the admin key, no token", signedWithToken(t, "portico", token, "", "execute-api", "GET", cu, false), 200, "", "")
	expect(t, "@connections by the admin key, made-up token", signedWithToken(t, "portico", token, "made-up", "execute-api", "GET", cu, false),
		403, "ForbiddenException", `{"message":"Forbidden"}`)
}
