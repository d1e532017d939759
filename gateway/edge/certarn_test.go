package edge

import "testing"

// TestCertificateFiles: a certificate ARN from files is a file URI (RFC
// 8089), its escapes decoded; one an older build stored that does not parse
// so (split on the raw string) is still read that way, so that its domain
// keeps being served after an upgrade.
func TestCertificateFiles(t *testing.T) {
	for _, tc := range []struct{ arn, cert, key string }{
		{"file:///etc/c.pem?key=/etc/k.pem", "/etc/c.pem", "/etc/k.pem"},
		{"file://localhost/etc/c.pem?key=/etc/k.pem", "/etc/c.pem", "/etc/k.pem"},
		{"file:///etc/my%20c%25.pem?key=/etc/my%20k%23.pem", "/etc/my c%.pem", "/etc/my k#.pem"},
		// Stored by older builds.
		{"file://c.pem?key=k.pem", "c.pem", "k.pem"},
		{"file:///etc/50%.pem?key=/etc/k.pem", "/etc/50%.pem", "/etc/k.pem"},
	} {
		c, k, ok := CertificateFiles(tc.arn)
		if !ok || c != tc.cert || k != tc.key {
			t.Errorf("CertificateFiles(%q) = %q %q %v, want %q %q", tc.arn, c, k, ok, tc.cert, tc.key)
		}
	}
	for _, arn := range []string{"file://c.pem?key=k.pem", "file:///etc/50%.pem?key=/etc/k.pem", "file:///c.pem?key=k.pem", "file:///c.pem", "https://x/c.pem?key=/k.pem"} {
		if c, k, err := ParseCertificateFileARN(arn); err == nil {
			t.Errorf("ParseCertificateFileARN(%q) = %q %q, want an error", arn, c, k)
		}
	}
	if _, _, ok := CertificateFiles("arn:aws:acm:us-east-1:1:certificate/x"); ok {
		t.Error("an ACM ARN read as files")
	}
}
