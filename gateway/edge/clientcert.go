package edge

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// ClientCert is a mutual TLS client certificate as API Gateway describes it to
// functions and authorizers ($context.identity.clientCert; aws-lambda-go's
// fixtures hold its examples).
type ClientCert struct {
	// PEM is the certificate, PEM-encoded.
	PEM string
	// SubjectDN and IssuerDN are the names with their attributes in the order
	// the certificate holds them: "C=US,ST=Washington,...,CN=My Client".
	SubjectDN, IssuerDN string
	// SerialNumber is in decimal when it is small ("1"), else its bytes in
	// lower-case hex joined by colons ("a1:a1:...").
	SerialNumber string
	// NotBefore and NotAfter are the validity, the day padded with a space:
	// "Aug  5 09:36:04 2021 GMT".
	NotBefore, NotAfter string
}

// ClientCertOf describes the verified client certificate of a connection; nil
// without one (no TLS, or no certificate that was verified).
func ClientCertOf(cs *tls.ConnectionState) *ClientCert {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return nil
	}
	c := cs.PeerCertificates[0]
	const layout = "Jan _2 15:04:05 2006 GMT"
	return &ClientCert{
		PEM:       string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})),
		SubjectDN: distinguishedName(c.RawSubject, c.Subject), IssuerDN: distinguishedName(c.RawIssuer, c.Issuer),
		SerialNumber: certSerial(c.SerialNumber),
		NotBefore:    c.NotBefore.UTC().Format(layout), NotAfter: c.NotAfter.UTC().Format(layout),
	}
}

// distinguishedName spells a certificate's name with its attributes in the
// order the certificate holds them (pkix.Name.String, after RFC 2253, turns
// them around); parsed stands in for a raw name that does not parse.
func distinguishedName(raw []byte, parsed pkix.Name) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) > 0 {
		return parsed.String()
	}
	slices.Reverse(seq)
	return seq.String()
}

// certSerial spells a certificate serial number as API Gateway does: in
// decimal when it fits in 63 bits, else its bytes in lower-case hex joined by
// colons (OpenSSL's way of printing serials).
func certSerial(n *big.Int) string {
	if n.Sign() >= 0 && n.BitLen() < 64 {
		return n.String()
	}
	b := n.Bytes()
	hexes := make([]string, len(b))
	for i, x := range b {
		hexes[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(hexes, ":")
}
