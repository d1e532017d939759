package connections

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/signin"
)

// sdkClient returns an apigatewaymanagementapi client with the endpoint built
// the way AWS's samples build it: "https://" + domainName + "/" + stage (here
// http, and with the API in the path).
func sdkClient(endpoint, id, secret string) *apigatewaymanagementapi.Client {
	return sdkClientToken(endpoint, id, secret, "")
}

func sdkClientToken(endpoint, id, secret, token string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, token),
	})
}

func TestManagementSDK(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	ws := ts.dial(t, "")
	id := ts.waitConns(t, 1)[0].ConnectionID
	cr := ts.m.Issue("chat")
	key, secret := cr.AccessKeyID, cr.SecretAccessKey
	cl := sdkClientToken(ts.url, key, secret, cr.SessionToken)
	ctx := context.Background()

	if _, err := cl.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("hello from a function")}); err != nil {
		t.Fatalf("PostToConnection: %v", err)
	}
	if got := readText(t, ws); got != "hello from a function" {
		t.Fatalf("client got %q", got)
	}
	// Binary data arrives as a binary frame.
	if _, err := cl.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte{0xff, 0x01}}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	if typ, b, err := ws.ReadMessage(); err != nil || typ != websocket.BinaryMessage || !bytes.Equal(b, []byte{0xff, 0x01}) {
		t.Fatalf("binary: %d %x %v", typ, b, err)
	}

	got, err := cl.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	if got.ConnectedAt == nil || got.LastActiveAt == nil || got.Identity == nil || aws.ToString(got.Identity.SourceIp) != "127.0.0.1" ||
		time.Since(*got.ConnectedAt) > time.Minute || got.LastActiveAt.Before(got.ConnectedAt.Truncate(time.Millisecond)) {
		t.Fatalf("GetConnection = %+v identity %+v", got, got.Identity)
	}

	// Too large: 413.
	_, err = cl.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: make([]byte, 128<<10+1)})
	var tooLarge *types.PayloadTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Fatalf("oversized post: %v", err)
	}
	// Wrong secret: 403.
	bad := sdkClientToken(ts.url, key, secret+"x", cr.SessionToken)
	_, err = bad.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")})
	var forbidden *types.ForbiddenException
	if !errors.As(err, &forbidden) {
		t.Fatalf("badly signed post: %v", err)
	}
	// Unknown key: 403.
	other, otherSecret := "PTCOAAAAAAAAAAAAAAAA", "x"
	if _, err = sdkClient(ts.url, other, otherSecret).GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); !errors.As(err, &forbidden) {
		t.Fatalf("unknown key: %v", err)
	}
	// The admin token signs as access key id "portico".
	if _, err := sdkClient(ts.url, AdminAccessKeyID, testToken).GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("admin-signed: %v", err)
	}

	if _, err := cl.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	if ce := readClose(t, ws); ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("close = %v", ce)
	}
	ts.d.next(t, EventDisconnect)
	var gone *types.GoneException
	_, err = cl.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("late")})
	if !errors.As(err, &gone) {
		t.Fatalf("post to a closed connection: %v", err)
	}
	_, err = cl.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String("neverIssued00000")})
	if !errors.As(err, &gone) {
		t.Fatalf("get of an id never issued: %v", err)
	}
}

func TestManagementHTTP(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	ws := ts.dial(t, "")
	id := ts.waitConns(t, 1)[0].ConnectionID
	type answer struct {
		status int
		header http.Header
		raw    []byte
		body   map[string]string
	}
	do := func(method, path, auth string, body []byte) answer {
		t.Helper()
		req, _ := http.NewRequest(method, ts.srv.URL+path, bytes.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		a := answer{status: resp.StatusCode, header: resp.Header}
		a.raw, _ = io.ReadAll(resp.Body)
		_ = json.Unmarshal(a.raw, &a.body)
		return a
	}
	path := "/" + testAPI + "/" + testStage + "/@connections/" + id
	cases := []struct {
		name, method, path, auth string
		body                     []byte
		status                   int
		errType                  string
	}{
		{"unsigned", "POST", path, "", []byte("x"), 403, "ForbiddenException"},
		{"wrong bearer", "POST", path, "Bearer nope", []byte("x"), 403, "ForbiddenException"},
		{"garbage signature", "GET", path, "AWS4-HMAC-SHA256 Credential=PTCO/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00", nil, 403, "ForbiddenException"},
		{"bearer post", "POST", path, "Bearer " + testToken, []byte("via bearer"), 200, ""},
		{"other api", "GET", "/zzzzzzzzzz/" + testStage + "/@connections/" + id, "Bearer " + testToken, nil, 410, "GoneException"},
		{"other stage", "GET", "/" + testAPI + "/prod/@connections/" + id, "Bearer " + testToken, nil, 410, "GoneException"},
		{"too large", "POST", path, "Bearer " + testToken, make([]byte, 128<<10+1), 413, "PayloadTooLargeException"},
		{"method", "PUT", path, "Bearer " + testToken, nil, 405, "MethodNotAllowedException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := do(c.method, c.path, c.auth, c.body)
			if a.status != c.status || a.header.Get("x-amzn-ErrorType") != c.errType {
				t.Fatalf("%s %s: %d %q %s", c.method, c.path, a.status, a.header.Get("x-amzn-ErrorType"), a.raw)
			}
			if c.status == 403 && a.body["message"] != "Forbidden" {
				t.Fatalf("403 body = %s", a.raw)
			}
		})
	}
	t.Run("too large, Expect 100-continue", func(t *testing.T) {
		// Refused from its Content-Length: no "100 Continue" tells the
		// client to send the 2 MB first.
		c, err := net.Dial("tcp", strings.TrimPrefix(ts.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		_, _ = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+testToken+
			"\r\nContent-Length: 2097152\r\nExpect: 100-continue\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("x-amzn-ErrorType") != "PayloadTooLargeException" {
			t.Fatalf("first answer: %d %q, want 413 PayloadTooLargeException (no 100 Continue)", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
		}
	})
	if got := readText(t, ws); got != "via bearer" {
		t.Fatalf("client got %q", got)
	}
	got := do("GET", path, "Bearer "+testToken, nil)
	if got.status != 200 {
		t.Fatalf("GET = %d", got.status)
	}
	var info struct {
		ConnectedAt  string `json:"connectedAt"`
		LastActiveAt string `json:"lastActiveAt"`
		Identity     struct {
			SourceIP  string `json:"sourceIp"`
			UserAgent string `json:"userAgent"`
		} `json:"identity"`
	}
	_ = json.Unmarshal(got.raw, &info)
	if _, err := time.Parse(time.RFC3339, info.ConnectedAt); err != nil || info.Identity.UserAgent != "test-agent" || !strings.HasSuffix(info.LastActiveAt, "Z") {
		t.Fatalf("GET body = %+v", info)
	}
	if a := do("DELETE", path, "Bearer "+testToken, nil); a.status != http.StatusNoContent {
		t.Fatalf("DELETE = %d", a.status)
	}
	if a := do("DELETE", path, "Bearer "+testToken, nil); a.status != http.StatusGone {
		t.Fatalf("second DELETE = %d", a.status)
	}
}

func TestIssuedCredentials(t *testing.T) {
	m := New(Config{}, nil)
	cr := m.Issue("fn")
	id, secret, token := cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken
	if len(id) != 20 || len(secret) != 40 || token == "" || cr.Expires.IsZero() {
		t.Fatalf("Issue = %+v", cr)
	}
	for range 2 { // derived, then remembered
		if got, ok := m.secretFor(id, token); !ok || got != secret {
			t.Fatalf("secretFor(issued) = %q %v", got, ok)
		}
	}
	for range 2 {
		if _, ok := m.secretFor(id, "not-a-token"); ok {
			t.Fatalf("a malformed token resolved")
		}
	}
	if _, ok := m.secretFor(id[:19]+"1", token); ok {
		t.Fatalf("a malformed id resolved")
	}
	if s, ok := m.secretFor(id, strings.Replace(token, "Zm4", "Zm5", 1)); ok && s == secret {
		t.Fatalf("a token naming another function kept the secret")
	}
	if s, _ := New(Config{}, nil).secretFor(id, token); s == secret {
		t.Fatalf("another manager derived the same secret")
	}
	if _, ok := m.secretFor(AdminAccessKeyID, ""); ok {
		t.Fatalf("admin key accepted without an admin token")
	}
}

// TestCredentialsScoped checks that a function's credentials manage only the
// connections of APIs whose routes integrate it, and only until they expire.
func TestCredentialsScoped(t *testing.T) {
	// Idle longer than the credentials live: expiry, not idleness, is tested.
	ts := newTestServer(t, Config{CredentialTTL: time.Hour, IdleTimeout: 2 * time.Hour}, chatKeys())
	fc := clock.NewFake(time.Now())
	ts.m.SetClock(fc)
	_ = ts.dial(t, "")
	id := ts.waitConns(t, 1)[0].ConnectionID
	ctx := context.Background()
	post := func(fn string) error {
		cr := ts.m.Issue(fn)
		_, err := sdkClientToken(ts.url, cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken).
			GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		return err
	}
	if err := post("chat"); err != nil {
		t.Fatalf("integrated function: %v", err)
	}
	var forbidden *types.ForbiddenException
	if err := post("someone-else"); !errors.As(err, &forbidden) {
		t.Fatalf("function no route integrates: %v, want ForbiddenException", err)
	}
	// Without its session token the key is refused.
	cr := ts.m.Issue("chat")
	if _, err := sdkClient(ts.url, cr.AccessKeyID, cr.SecretAccessKey).GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)}); !errors.As(err, &forbidden) {
		t.Fatalf("no session token: %v", err)
	}
	// Expired: the manager's clock passes the expiry. The requests are
	// signed at that clock's time (the SDK signs with the real clock, whose
	// date the manager refuses as skewed first), so only the credentials'
	// expiry can refuse the second.
	cr = ts.m.Issue("chat")
	creds := aws.Credentials{AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken}
	signedGet := func() (int, string, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, ts.url+"/@connections/"+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		const emptyBody = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // SHA-256 of nothing
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, emptyBody, "execute-api", "us-east-1", fc.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), raw
	}
	fc.Advance(time.Hour - time.Second)
	if status, _, raw := signedGet(); status != http.StatusOK {
		t.Fatalf("credentials a second before their expiry: %d %s, want 200", status, raw)
	}
	fc.Advance(2 * time.Second)
	if status, typ, raw := signedGet(); status != http.StatusForbidden || typ != "ForbiddenException" {
		t.Fatalf("expired credentials: %d %q %s, want 403 ForbiddenException", status, typ, raw)
	}
}

// TestManagementWrongRegion checks AWS's answer to a signature scoped to
// another region: 403 InvalidSignatureException naming the region, not
// ForbiddenException.
func TestManagementWrongRegion(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	_ = ts.dial(t, "")
	id := ts.waitConns(t, 1)[0].ConnectionID
	cr := ts.m.Issue("chat")
	cl := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(ts.url),
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider(cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken),
	})
	_, err := cl.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" ||
		apiErr.ErrorMessage() != "Credential should be scoped to a valid region, not 'eu-west-1'. " {
		t.Fatalf("wrong region: %v, want InvalidSignatureException", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Fatalf("wrong region: %v, want status 403", err)
	}
	var forbidden *types.ForbiddenException
	if errors.As(err, &forbidden) {
		t.Fatalf("wrong region answered ForbiddenException: %v", err)
	}
}

// TestManagementSignInsLimited signs @connections calls with a wrong secret
// through the AWS SDK: after signin.Burst failures, even the right credentials
// get 429 LimitExceededException with Retry-After, and so does the admin token
// as a bearer token, until the budget refills; the credentials issued to
// sandboxes keep working. The failures are counted in the
// limiter given by SetSignIns, the one the admin API shares.
func TestManagementSignInsLimited(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	fc := clock.NewFake(time.Now())
	ts.m.SetClock(fc)
	lim := &signin.Limiter{}
	ts.m.SetSignIns(lim)
	_ = ts.dial(t, "")
	id := ts.waitConns(t, 1)[0].ConnectionID
	ctx := context.Background()
	get := func(secret string) error {
		cl := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
			BaseEndpoint: aws.String(ts.url), Region: "us-east-1", RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(AdminAccessKeyID, secret, ""),
		})
		_, err := cl.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		return err
	}
	if err := get(testToken); err != nil {
		t.Fatalf("the admin token: %v", err)
	}
	var forbidden *types.ForbiddenException
	for i := range signin.Burst {
		if err := get("guess"); !errors.As(err, &forbidden) {
			t.Fatalf("failure %d: %v, want ForbiddenException", i+1, err)
		}
	}
	err := get(testToken)
	var limited *types.LimitExceededException
	var re *awshttp.ResponseError
	if !errors.As(err, &limited) || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusTooManyRequests ||
		re.Response.Header.Get("Retry-After") != "6" {
		t.Fatalf("the right secret after %d failures: %v, want 429 LimitExceededException with Retry-After 6", signin.Burst, err)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.url+"/@connections/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("x-amzn-ErrorType") != "LimitExceededException" {
		t.Fatalf("the bearer token after the limit: %d %q", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
	if lim.Wait("127.0.0.1", fc.Now()) == 0 {
		t.Fatal("the shared limiter does not hold the failures")
	}
	// Credentials Portico issued to a sandbox (unguessable: an HMAC the
	// server derives) still work from the waiting address, which a
	// process-runtime sandbox shares with anyone on the host; the same key
	// id with a wrong secret is answered as the wait answers.
	cr := ts.m.Issue("chat")
	once := func(id, secret, token string) *apigatewaymanagementapi.Client {
		return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{BaseEndpoint: aws.String(ts.url), Region: "us-east-1", RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(id, secret, token)})
	}
	fn := once(cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken)
	if _, err := fn.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")}); err != nil {
		t.Fatalf("a function's credentials while the address waits: %v", err)
	}
	forged := once(cr.AccessKeyID, strings.Repeat("A", 40), cr.SessionToken)
	if _, err := forged.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")}); !errors.As(err, &limited) {
		t.Fatalf("an issued key id with a wrong secret while the address waits: %v, want LimitExceededException", err)
	}
	fc.Advance(signin.Every)
	if err := get(testToken); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
}

// TestCredentialsScopedBeforeLookup: a function's credentials are checked
// against the API and stage the URL names before the connection is looked
// up: a function no route there integrates gets 403 for a made-up id as for
// a live one, and the function that is integrated 410 for the made-up id.
func TestCredentialsScopedBeforeLookup(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	_ = ts.dial(t, "")
	live := ts.waitConns(t, 1)[0].ConnectionID
	ctx := context.Background()
	get := func(fn, id string) error {
		cr := ts.m.Issue(fn)
		_, err := sdkClientToken(ts.url, cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken).
			GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		return err
	}
	var forbidden *types.ForbiddenException
	var gone *types.GoneException
	for _, id := range []string{live, "madeUpId0000000="} {
		if err := get("someone-else", id); !errors.As(err, &forbidden) {
			t.Errorf("function no route integrates, connection %s: %v, want ForbiddenException", id, err)
		}
	}
	if err := get("chat", "madeUpId0000000="); !errors.As(err, &gone) {
		t.Errorf("integrated function, made-up id: %v, want GoneException", err)
	}
}

// TestCredentialsAtNoAPIURL: at a URL that names no API the connection names
// it, so a function's credentials answer only for the connections of the APIs
// whose routes integrate the function: another API's live connection is, to
// it, as gone as a made-up id (410 both), else its answers would tell which
// connections exist.
func TestCredentialsAtNoAPIURL(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	_ = ts.dial(t, "")
	live := ts.waitConns(t, 1)[0].ConnectionID
	ctx := context.Background()
	noAPI := ts.srv.URL + "/" + testStage
	get := func(fn, id string) error {
		cr := ts.m.Issue(fn)
		_, err := sdkClientToken(noAPI, cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken).
			GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		return err
	}
	post := func(fn, id string) error {
		cr := ts.m.Issue(fn)
		_, err := sdkClientToken(noAPI, cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken).
			PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")})
		return err
	}
	var gone *types.GoneException
	for _, id := range []string{live, "madeUpId0000000="} {
		if err := get("someone-else", id); !errors.As(err, &gone) {
			t.Errorf("GET, function no route integrates, connection %s: %v, want GoneException", id, err)
		}
		if err := post("someone-else", id); !errors.As(err, &gone) {
			t.Errorf("POST, function no route integrates, connection %s: %v, want GoneException", id, err)
		}
	}
	if err := get("chat", "madeUpId0000000="); !errors.As(err, &gone) {
		t.Errorf("integrated function, made-up id: %v, want GoneException", err)
	}
	if err := get("chat", live); err != nil {
		t.Errorf("integrated function, its API's live connection: %v", err)
	}
}

// TestManagementClockSkew: a request signed more than the allowed skew ago
// (the server's clock 20 minutes ahead) gets AWS's answer, 403
// InvalidSignatureException "Signature expired: DATE is now earlier than
// ...", where it got a bare {"message":"Forbidden"} that did not say the
// clock was off.
func TestManagementClockSkew(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	ts.m.SetClock(clock.NewFake(time.Now().Add(20 * time.Minute)))
	cr := ts.m.Issue("chat")
	cl := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(ts.url), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken),
	})
	_, err := cl.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("AAAAAAAAAAAAAAAA"), Data: []byte("x")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" ||
		!strings.HasPrefix(apiErr.ErrorMessage(), "Signature expired: ") || !strings.Contains(apiErr.ErrorMessage(), " is now earlier than ") {
		t.Fatalf("skewed signature: %v, want InvalidSignatureException \"Signature expired: ... is now earlier than ...\"", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Fatalf("skewed signature: %v, want status 403", err)
	}
}
