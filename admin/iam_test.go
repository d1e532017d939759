package admin_test

import (
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// iamAnswer is an IAM query-API answer: its status, and what the tests read
// of its XML.
type iamAnswer struct {
	status int
	body   string
	// Error
	Code    string `xml:"Error>Code"`
	Message string `xml:"Error>Message"`
	// ListUsers, ListAccessKeys, ListUserPolicies
	Users             []string `xml:"ListUsersResult>Users>member>UserName"`
	Keys              []string `xml:"ListAccessKeysResult>AccessKeyMetadata>member>AccessKeyId"`
	Policies          []string `xml:"ListUserPoliciesResult>PolicyNames>member"`
	UsersTruncated    bool     `xml:"ListUsersResult>IsTruncated"`
	UsersMarker       string   `xml:"ListUsersResult>Marker"`
	KeysTruncated     bool     `xml:"ListAccessKeysResult>IsTruncated"`
	KeysMarker        string   `xml:"ListAccessKeysResult>Marker"`
	PoliciesTruncated bool     `xml:"ListUserPoliciesResult>IsTruncated"`
	PoliciesMarker    string   `xml:"ListUserPoliciesResult>Marker"`
	KeyID             string   `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
	// Whichever list answered.
	truncated bool
	Marker    string
}

// iamCall sends one IAM action (params in name, value pairs) to the admin
// API's query API, as the AWS CLI does.
func iamCall(t *testing.T, env *apptest.Env, action string, params ...string) iamAnswer {
	t.Helper()
	status, b := sigv4test.IAMCall(t, env.AdminURL, "", action, params...)
	a := iamAnswer{status: status, body: b}
	if err := xml.Unmarshal([]byte(b), &a); err != nil {
		t.Fatalf("%s: %d %s: %v", action, status, b, err)
	}
	a.truncated = a.UsersTruncated || a.KeysTruncated || a.PoliciesTruncated
	a.Marker = a.UsersMarker + a.KeysMarker + a.PoliciesMarker
	return a
}

// wantIAMError checks that a is IAM's ErrorResponse with code and status, its
// message holding each of msg.
func wantIAMError(t *testing.T, what string, a iamAnswer, status int, code string, msg ...string) {
	t.Helper()
	if a.status != status || a.Code != code {
		t.Errorf("%s: %d %s, want %d %s", what, a.status, a.body, status, code)
		return
	}
	for _, m := range msg {
		if !strings.Contains(a.Message, m) {
			t.Errorf("%s: message %q does not say %q", what, a.Message, m)
		}
	}
}

// TestIAMRefusesWhatItWouldDrop: CreateUser's PermissionsBoundary and Tags,
// which Portico neither evaluates nor keeps, are refused with IAM's
// InvalidInput saying what to do, and no user is created; so is any other
// parameter an action does not take.
func TestIAMRefusesWhatItWouldDrop(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	for _, c := range []struct {
		what   string
		params []string
		msg    []string
	}{
		{"boundary", []string{"UserName", "pb1", "PermissionsBoundary", "arn:aws:iam::000000000000:policy/OnlyGet"},
			[]string{"does not support permissions boundaries", "PutUserPolicy"}},
		{"boundary not an ARN", []string{"UserName", "pb1", "PermissionsBoundary", "notanarn"}, []string{"permissions boundaries"}},
		{"tags", []string{"UserName", "pb1", "Tags.member.1.Key", "team", "Tags.member.1.Value", "a"}, []string{"no tags", "without Tags"}},
		{"unknown", []string{"UserName", "pb1", "Colour", "red"}, []string{"Colour", "UserName, Path"}},
	} {
		wantIAMError(t, c.what, iamCall(t, env, "CreateUser", c.params...), 400, "InvalidInput", c.msg...)
	}
	wantIAMError(t, "no user made", iamCall(t, env, "GetUser", "UserName", "pb1"), 404, "NoSuchEntity")
	wantIAMError(t, "GetUser with a Marker", iamCall(t, env, "GetUser", "UserName", "pb1", "Marker", "x"), 400, "InvalidInput", "Marker")
	if a := iamCall(t, env, "CreateUser", "UserName", "pb1", "Path", "/t/"); a.status != 200 {
		t.Errorf("CreateUser without them: %d %s", a.status, a.body)
	}
}

// TestIAMPagination: ListUsers, ListAccessKeys and ListUserPolicies answer
// pages of MaxItems (1..1000) with IsTruncated and a Marker; a Marker holds
// the last item answered, so that deleting it between pages skips nothing;
// a Marker Portico did not answer, or another list's, is refused with 400.
func TestIAMPagination(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		if a := iamCall(t, env, "CreateUser", "UserName", u); a.status != 200 {
			t.Fatalf("CreateUser %s: %d %s", u, a.status, a.body)
		}
	}
	a := iamCall(t, env, "ListUsers", "MaxItems", "2")
	if a.status != 200 || strings.Join(a.Users, ",") != "u1,u2" || !a.truncated || a.Marker == "" {
		t.Fatalf("first page: %d %s", a.status, a.body)
	}
	// The last user answered goes before the next page is asked for.
	if d := iamCall(t, env, "DeleteUser", "UserName", "u2"); d.status != 200 {
		t.Fatalf("DeleteUser: %d %s", d.status, d.body)
	}
	a = iamCall(t, env, "ListUsers", "MaxItems", "2", "Marker", a.Marker)
	if a.status != 200 || strings.Join(a.Users, ",") != "u3,u4" || !a.truncated || a.Marker == "" {
		t.Fatalf("second page: %d %s", a.status, a.body)
	}
	a = iamCall(t, env, "ListUsers", "MaxItems", "2", "Marker", a.Marker)
	if a.status != 200 || strings.Join(a.Users, ",") != "u5" || a.truncated || a.Marker != "" {
		t.Fatalf("last page: %d %s", a.status, a.body)
	}
	if a = iamCall(t, env, "ListUsers"); strings.Join(a.Users, ",") != "u1,u3,u4,u5" || a.truncated {
		t.Errorf("all: %d %s", a.status, a.body)
	}
	users := iamCall(t, env, "ListUsers", "MaxItems", "1")
	for _, c := range []struct{ what, marker, maxItems, msg string }{
		{"garbage Marker", "garbage", "", "Invalid Marker"},
		{"empty Marker", "", "", "Invalid Marker"},
		{"MaxItems 0", "-", "0", "greater than or equal to 1"},
		{"MaxItems 1001", "-", "1001", "less than or equal to 1000"},
		{"MaxItems not a number", "-", "ten", "integer"},
	} {
		var p []string
		if c.marker != "-" {
			p = append(p, "Marker", c.marker)
		}
		if c.maxItems != "" {
			p = append(p, "MaxItems", c.maxItems)
		}
		wantIAMError(t, c.what, iamCall(t, env, "ListUsers", p...), 400, "ValidationError", c.msg)
	}

	// Policies and keys page the same way.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`
	for _, p := range []string{"p1", "p2", "p3"} {
		if a := iamCall(t, env, "PutUserPolicy", "UserName", "u1", "PolicyName", p, "PolicyDocument", doc); a.status != 200 {
			t.Fatalf("PutUserPolicy: %d %s", a.status, a.body)
		}
	}
	a = iamCall(t, env, "ListUserPolicies", "UserName", "u1", "MaxItems", "2")
	if a.status != 200 || strings.Join(a.Policies, ",") != "p1,p2" || !a.truncated {
		t.Fatalf("policies, first page: %d %s", a.status, a.body)
	}
	if b := iamCall(t, env, "ListUserPolicies", "UserName", "u1", "Marker", a.Marker); strings.Join(b.Policies, ",") != "p3" || b.truncated {
		t.Errorf("policies, last page: %d %s", b.status, b.body)
	}
	wantIAMError(t, "ListUsers' Marker on ListUserPolicies", iamCall(t, env, "ListUserPolicies", "UserName", "u1", "Marker", users.Marker),
		400, "ValidationError", "Invalid Marker")
	var ids []string
	for range 2 {
		ids = append(ids, iamCall(t, env, "CreateAccessKey", "UserName", "u3").KeyID)
	}
	a = iamCall(t, env, "ListAccessKeys", "UserName", "u3", "MaxItems", "1")
	b := iamCall(t, env, "ListAccessKeys", "UserName", "u3", "MaxItems", "1", "Marker", a.Marker)
	if len(a.Keys) != 1 || !a.truncated || len(b.Keys) != 1 || b.truncated || a.Keys[0] == b.Keys[0] ||
		!strings.Contains(strings.Join(ids, ","), a.Keys[0]) || !strings.Contains(strings.Join(ids, ","), b.Keys[0]) {
		t.Errorf("keys: %s then %s (made %v)", a.body, b.body, ids)
	}
}

// TestSTSIsNotServed: STS shares IAM's query protocol and, with
// --endpoint-url, the admin port. A GetCallerIdentity signed for sts, or sent
// with STS's Version, is answered InvalidAction saying Portico does not serve
// STS, not that the signature is scoped to the wrong service. As AWS checks a
// signature's scope before its secret, the answer to one signed for sts
// comes before the secret is checked: it tells nothing but that STS is not
// served.
func TestSTSIsNotServed(t *testing.T) {
	t.Parallel()
	const token = "sts-test-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	send := func(auth func(*http.Request)) iamAnswer {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", env.AdminURL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		auth(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a := iamAnswer{status: resp.StatusCode, body: string(b)}
		if err := xml.Unmarshal(b, &a); err != nil {
			t.Fatalf("%d %s: %v", resp.StatusCode, b, err)
		}
		return a
	}
	signFor := func(service string) func(*http.Request) {
		return func(req *http.Request) {
			sigv4test.SignNow(t, req, aws.Credentials{AccessKeyID: admin.TokenAccessKeyID, SecretAccessKey: token}, []byte(body), service)
		}
	}
	wantIAMError(t, "signed for sts", send(signFor("sts")), 400, "InvalidAction", "does not serve STS")
	wantIAMError(t, "signed for iam", send(signFor("iam")), 400, "InvalidAction", "does not serve STS")
	wantIAMError(t, "bearer token", send(func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+token) }),
		400, "InvalidAction", "does not serve STS")
}

// TestIAMTruncatedBodyAsOtherRoutes: a body cut short by its client (EOF
// before Content-Length bytes) is answered on IAM's query API as on the
// admin API's other routes: not at all (the client has gone; the
// connection closes), where it was a 400 ValidationError saying the body
// was over 64 KB or could not be read.
func TestIAMTruncatedBodyAsOtherRoutes(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	host := strings.TrimPrefix(env.AdminURL, "http://")
	for _, p := range []struct{ path, ct, body string }{
		{"/portico/v1/apis", "application/json", `{"name":"x","protocol":"HTTP"`},
		{"/2015-03-31/functions", "application/json", `{"FunctionName":"x"`},
		{"/", "application/x-www-form-urlencoded", "Action=CreateUser&Version=2010-05-08&UserName=a"},
	} {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
		_, _ = io.WriteString(c, "POST "+p.path+" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "+p.ct+"\r\nContent-Length: 200\r\n\r\n"+p.body)
		_ = c.(*net.TCPConn).CloseWrite()
		b, err := io.ReadAll(c)
		_ = c.Close()
		if err != nil || len(b) != 0 {
			t.Errorf("POST %s cut short: answered %q (%v), want no answer", p.path, b, err)
		}
	}
	// The user was not created.
	wantIAMError(t, "GetUser a", iamCall(t, env, "GetUser", "UserName", "a"), http.StatusNotFound, "NoSuchEntity")
}

// TestUnservedIAMActionNamesPutUserPolicy (authz28 #2): CreatePolicy,
// AttachUserPolicy and CreateGroup were answered "Could not find operation
// X for version 2010-05-08", which reads like a client version problem. The
// code stays InvalidAction; the text says Portico grants through inline user
// policies (PutUserPolicy) only.
func TestUnservedIAMActionNamesPutUserPolicy(t *testing.T) {
	t.Parallel()
	const token = "iam-unserved-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	for _, action := range []string{"CreatePolicy", "AttachUserPolicy", "CreateGroup", "TagUser"} {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", env.AdminURL+"/", strings.NewReader("Action="+action+"&Version=2010-05-08"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		a := iamAnswer{status: resp.StatusCode, body: string(b)}
		if err := xml.Unmarshal(b, &a); err != nil {
			t.Fatalf("%d %s: %v", resp.StatusCode, b, err)
		}
		want := "inline user policies only (PutUserPolicy)"
		if action == "TagUser" { // verify28a: a tag action told of policies
			want = "carry no tags"
		}
		wantIAMError(t, action, a, 400, "InvalidAction", "does not serve "+action, want)
	}
}
