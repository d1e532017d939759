package admin_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"go.etcd.io/bbolt"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestStoredRefusedDomainReadsBackNotAvailable: a custom domain an older
// build created under a name this build refuses to serve (one under the
// gateway's own execute-api domain, an IP literal) reads back, on both
// control planes, with a status that is not AVAILABLE (v1 FAILED, v2
// PENDING_OWNERSHIP_VERIFICATION, the closest each has) and a
// domainNameStatusMessage saying why and what to do; a domain that is served
// stays AVAILABLE. Both read back AVAILABLE while the gateway served neither.
func TestStoredRefusedDomainReadsBackNotAvailable(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	creds := credentials.NewStaticCredentialsProvider("portico", "secret", "")
	v1 := apigateway.New(apigateway.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	v2 := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1})
	env.Stop()
	db, err := bbolt.Open(filepath.Join(env.DataDir, "portico.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("domainnames"))
		if err != nil {
			return err
		}
		for _, name := range []string{"foo.execute-api.localhost", "127.0.0.5", "shop.example.test"} {
			if err := b.Put([]byte(name), []byte(`{"domainName":"`+name+`","certificateSource":"dev","createdAt":"`+now+`"}`)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	env.Restart()
	ctx := t.Context()
	for name, why := range map[string]string{"foo.execute-api.localhost": "shadow the gateway's own endpoints", "127.0.0.5": "IP"} {
		d1, err := v1.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		msg := aws.ToString(d1.DomainNameStatusMessage)
		if d1.DomainNameStatus != "FAILED" || !strings.Contains(msg, why) || !strings.Contains(msg, "delete") {
			t.Errorf("v1 %s: %s %q, want FAILED saying %q and what to do", name, d1.DomainNameStatus, msg, why)
		}
		d2, err := v2.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		c := d2.DomainNameConfigurations[0]
		if msg := aws.ToString(c.DomainNameStatusMessage); c.DomainNameStatus != "PENDING_OWNERSHIP_VERIFICATION" || !strings.Contains(msg, why) {
			t.Errorf("v2 %s: %s %q, want PENDING_OWNERSHIP_VERIFICATION saying %q", name, c.DomainNameStatus, msg, why)
		}
	}
	list, err := v1.GetDomainNames(ctx, &apigateway.GetDomainNamesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list.Items {
		want := "FAILED"
		if aws.ToString(d.DomainName) == "shop.example.test" {
			want = "AVAILABLE"
		}
		if string(d.DomainNameStatus) != want {
			t.Errorf("get-domain-names %s: %s, want %s", aws.ToString(d.DomainName), d.DomainNameStatus, want)
		}
	}
}
