package admin

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestCodeURLExpires: a presigned Code.Location works until 10 minutes after
// it was issued, and not after; nor once the token changed.
func TestCodeURLExpires(t *testing.T) {
	t.Parallel()
	var c codeURLs
	issued := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	loc := c.location(httptest.NewRequest("GET", "http://127.0.0.1:9090/2015-03-31/functions/f", nil), "tok", "f", "1", issued)
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/portico/v1/functions/f/code" || u.Query().Get("Qualifier") != "1" {
		t.Fatalf("location %s", loc)
	}
	check := func(token string, at time.Time) error {
		is, err := c.presigned(httptest.NewRequest("GET", loc, nil), token, at)
		if !is {
			t.Fatalf("%s is not taken for a presigned code URL", loc)
		}
		return err
	}
	if err := check("tok", issued.Add(codeURLExpiry-time.Second)); err != nil {
		t.Errorf("just before expiry: %v", err)
	}
	if err := check("tok", issued.Add(codeURLExpiry)); err == nil {
		t.Error("at expiry: taken")
	}
	if err := check("other", issued); err == nil {
		t.Error("after the token changed: taken")
	}
}
