package connections

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// TestManagementRepeatedAuthorizationRefused: an @connections call that
// carries the Authorization header on two lines is refused 403
// ForbiddenException, whichever line holds the credential (the admin token as
// a bearer token, or a signature by credentials issued to a function), and the
// message is not sent: the lines are one comma-joined value, which is neither.
// The first line alone used to be checked and the call served.
func TestManagementRepeatedAuthorizationRefused(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	ws := ts.dial(t, "")
	id := ts.waitConns(t, 1)[0].ConnectionID
	u := ts.url + "/@connections/" + id
	cr := ts.m.Issue("chat")
	creds := aws.Credentials{AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken}
	post := func(msg string, signed bool, lines ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", u, bytes.NewReader([]byte(msg)))
		if err != nil {
			t.Fatal(err)
		}
		if signed {
			sigv4test.SignNow(t, req, creds, []byte(msg), SigningService)
		}
		for _, l := range lines {
			req.Header.Add("Authorization", l)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType")
	}
	bearer := "Bearer " + testToken
	for _, c := range []struct {
		name   string
		signed bool
		lines  []string
	}{
		{"bearer twice", false, []string{bearer, bearer}},
		{"bearer then junk", false, []string{bearer, "junk"}},
		{"junk then bearer", false, []string{"junk", bearer}},
		{"signed then junk", true, []string{"junk"}},
		{"signed then bearer", true, []string{bearer}},
	} {
		if status, typ := post(c.name, c.signed, c.lines...); status != http.StatusForbidden || typ != "ForbiddenException" {
			t.Errorf("%s: %d %q, want 403 ForbiddenException", c.name, status, typ)
		}
	}
	// The connection got none of them: the next message it reads is the
	// one sent with one line.
	if status, _ := post("once", false, bearer); status != http.StatusOK {
		t.Fatalf("bearer once: %d", status)
	}
	if got := readText(t, ws); got != "once" {
		t.Fatalf("the connection got %q first, want %q", got, "once")
	}
}
