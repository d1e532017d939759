package admin_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
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
	"github.com/portico-dev/portico/gateway/edge"
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

// TestDomainWhoseHandshakesFailReadsBackNotAvailable: a stored domain whose
// TLS handshakes fail at start (a truststore stored empty by an older build;
// certificate files that do not load beside a stored copy that has expired)
// reads back FAILED (v1) and PENDING_CERTIFICATE_REIMPORT (v2) with a message
// saying why, as a domain whose name is refused does; it read AVAILABLE.
// Renewed files serve the file domain again, without a restart or an update.
func TestDomainWhoseHandshakesFailReadsBackNotAvailable(t *testing.T) {
	var edg *edge.Edge
	e := startTLSDomains(t, &edg)
	ctx := t.Context()
	certPath, keyPath := filepath.Join(e.files, "f.pem"), filepath.Join(e.files, "f-key.pem")
	arn := "file://" + certPath + "?key=" + keyPath
	// The copy in the store expired an hour ago, as a 397-day certificate
	// issued 397 days and an hour ago has.
	expiredCert, expiredKey, err := e.ca.Issue([]string{"files.example.test"}, time.Now().Add(-397*24*time.Hour-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.write(t, "f.pem", []byte("junk"))
	e.write(t, "f-key.pem", expiredKey)
	e.env.Stop()
	db, err := bbolt.Open(filepath.Join(e.env.DataDir, "portico.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	pemJSON := func(b []byte) string { j, _ := json.Marshal(b); return string(j) }
	if err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("domainnames"))
		if err != nil {
			return err
		}
		for name, rec := range map[string]string{
			"mtls.example.test":  `{"domainName":"mtls.example.test","certificateSource":"dev","truststoreUri":"file:///nonexistent/empty.pem","createdAt":"` + now + `"}`,
			"files.example.test": `{"domainName":"files.example.test","certificatePem":` + pemJSON(expiredCert) + `,"keyPem":` + pemJSON(expiredKey) + `,"certificateSource":"` + arn + `","createdAt":"` + now + `"}`,
			"fine.example.test":  `{"domainName":"fine.example.test","certificateSource":"dev","createdAt":"` + now + `"}`,
		} {
			if err := b.Put([]byte(name), []byte(rec)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	e.env.Restart()

	status := func(name string) (v1, v2, msg string) {
		t.Helper()
		d1, err := e.v1.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		d2, err := e.v2.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return string(d1.DomainNameStatus), string(d2.DomainNameConfigurations[0].DomainNameStatus), aws.ToString(d1.DomainNameStatusMessage)
	}
	for name, why := range map[string]string{"mtls.example.test": "no PEM certificate", "files.example.test": "junk"} {
		if _, err := e.handshake(t, name); err == nil {
			t.Errorf("%s: a handshake succeeded", name)
		}
		v1, v2, msg := status(name)
		if v1 != "FAILED" || v2 != "PENDING_CERTIFICATE_REIMPORT" || !strings.Contains(msg, "handshakes fail") {
			t.Errorf("%s: %s / %s %q, want FAILED / PENDING_CERTIFICATE_REIMPORT saying its handshakes fail (%s)", name, v1, v2, msg, why)
		}
	}
	if _, err := e.handshake(t, "fine.example.test"); err != nil {
		t.Errorf("fine.example.test: %v", err)
	}
	if v1, v2, _ := status("fine.example.test"); v1 != "AVAILABLE" || v2 != "AVAILABLE" {
		t.Errorf("fine.example.test: %s / %s, want AVAILABLE", v1, v2)
	}

	// Renewed files (certbot renewing them) are loaded as they are written.
	reloads, stop := make(chan error, 16), make(chan struct{})
	t.Cleanup(func() { close(stop) })
	edg.SetReloadHook(func(domain string, err error) {
		if domain != "files.example.test" {
			return
		}
		select {
		case reloads <- err:
		case <-stop:
		}
	})
	c, k, err := e.ca.Issue([]string{"files.example.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := x509.ParseCertificate(pair.Certificate[0])
	e.write(t, "f-key.pem", k)
	e.write(t, "f.pem", c)
	for reloaded := false; !reloaded; {
		select {
		case err := <-reloads:
			reloaded = err == nil
		case <-time.After(time.Minute): // a guard against hanging, not a timing assertion
			t.Fatal("renewed files were not loaded")
		}
	}
	if leaf, err := e.handshake(t, "files.example.test"); err != nil || leaf.SerialNumber.Cmp(want.SerialNumber) != 0 {
		t.Errorf("renewed: %v, want the renewed certificate served", err)
	}
	if v1, v2, msg := status("files.example.test"); v1 != "AVAILABLE" || v2 != "AVAILABLE" {
		t.Errorf("renewed: %s / %s %q, want AVAILABLE", v1, v2, msg)
	}
}
