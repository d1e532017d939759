// Package sigv4test signs requests for tests the way AWS clients do, with the
// AWS SDK for Go v2's SigV4 signer (never a hand-written one, so that the
// tests hold Portico's verifier to what real clients send), and makes IAM
// users and access keys through the admin API's IAM query API to sign with.
//
// Its functions fail the test they are given on an error; they are safe for
// concurrent use.
package sigv4test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/portico-dev/portico/internal/sigv4"
)

// Region is the region Portico serves and the tests sign for.
const Region = "us-east-1"

// EmptyHash is the hex SHA-256 of an empty payload, what a request without a
// body signs.
const EmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Sign signs req in place (Authorization, X-Amz-Date and, with a session
// token, X-Amz-Security-Token) with cr for service and region at at, with
// payloadHash as the body's hash (sigv4.HashHex of it, or
// sigv4.UnsignedPayload).
func Sign(t testing.TB, req *http.Request, cr aws.Credentials, payloadHash, service, region string, at time.Time) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), cr, req, payloadHash, service, region, at); err != nil {
		t.Fatalf("signing %s %s: %v", req.Method, req.URL, err)
	}
}

// SignNow is Sign for Region now, with body's hash: what a client sends for a
// request with that body.
func SignNow(t testing.TB, req *http.Request, cr aws.Credentials, body []byte, service string) {
	t.Helper()
	Sign(t, req, cr, sigv4.HashHex(body), service, Region, time.Now())
}

// Presign returns req's URL presigned with cr for service and region at at
// (X-Amz-* query parameters; X-Amz-Expires already in req's query is kept).
func Presign(t testing.TB, req *http.Request, cr aws.Credentials, payloadHash, service, region string, at time.Time) string {
	t.Helper()
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), cr, req, payloadHash, service, region, at)
	if err != nil {
		t.Fatalf("presigning %s %s: %v", req.Method, req.URL, err)
	}
	return u
}

// Key is an access key as IAM's CreateAccessKey answers it.
type Key struct {
	ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
	Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
}

// Credentials returns k as the SDK's long-term credentials.
func (k Key) Credentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
}

// IAMCall sends one IAM query-protocol action (params in name, value pairs)
// to the admin API at adminURL, as the AWS CLI does, with token as the
// bearer token when it is not "", and returns the status and the XML body.
func IAMCall(t testing.TB, adminURL, token, action string, params ...string) (int, string) {
	t.Helper()
	f := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
	for i := 0; i+1 < len(params); i += 2 {
		f.Add(params[i], params[i+1])
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, adminURL+"/", strings.NewReader(f.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("IAM %s: %v", action, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("IAM %s: %v", action, err)
	}
	return resp.StatusCode, string(b)
}

// NewUser creates IAM user name with an access key and, when policyDoc is not
// "", an inline policy "p" holding it, on the admin API at adminURL (token as
// for IAMCall), and returns the key.
func NewUser(t testing.TB, adminURL, token, name, policyDoc string) Key {
	t.Helper()
	if st, body := IAMCall(t, adminURL, token, "CreateUser", "UserName", name); st != http.StatusOK {
		t.Fatalf("CreateUser %s: %d %s", name, st, body)
	}
	st, body := IAMCall(t, adminURL, token, "CreateAccessKey", "UserName", name)
	var k Key
	if st != http.StatusOK || xml.Unmarshal([]byte(body), &k) != nil || k.ID == "" || k.Secret == "" {
		t.Fatalf("CreateAccessKey %s: %d %s", name, st, body)
	}
	if policyDoc != "" {
		if st, body := IAMCall(t, adminURL, token, "PutUserPolicy", "UserName", name, "PolicyName", "p", "PolicyDocument", policyDoc); st != http.StatusOK {
			t.Fatalf("PutUserPolicy %s: %d %s", name, st, body)
		}
	}
	return k
}
