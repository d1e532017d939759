// Package sigv4 verifies AWS Signature Version 4 signatures on incoming HTTP
// requests (the Authorization header form), as AWS services do: it rebuilds the
// canonical request from what was received, derives the signing key from the
// caller's secret through the HMAC chain, and compares signatures in constant time.
//
// It is the server side of what the AWS SDKs' signers do, so that a function using
// the AWS SDK for Go v2 (or the AWS CLI) with credentials Portico issued can call
// Portico's AWS-shaped APIs. Presigned URLs (query-string signatures) are not
// accepted.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// amzDateLayout is the X-Amz-Date format, e.g. 20150830T123600Z.
const amzDateLayout = "20060102T150405Z"

// DefaultMaxSkew is how far a request's X-Amz-Date may be from the server's clock
// (AWS allows 15 minutes).
const DefaultMaxSkew = 15 * time.Minute

// UnsignedPayload is the X-Amz-Content-Sha256 value of a request whose body is not
// part of its signature.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// Error kinds. Verify wraps them with detail; callers map them all to 403.
var (
	// ErrMissing means the request carries no SigV4 Authorization header.
	ErrMissing = errors.New("request is not signed")
	// ErrMalformed means the Authorization header or X-Amz-Date does not parse.
	ErrMalformed = errors.New("malformed signature")
	// ErrUnknownKey means the access key id is not one the server knows.
	ErrUnknownKey = errors.New("unknown access key id")
	// ErrExpired means X-Amz-Date is too far from the server's clock.
	ErrExpired = errors.New("signature expired or not yet valid")
	// ErrMismatch means the signature does not match the request.
	ErrMismatch = errors.New("signature does not match")
)

// Credential is the parsed Credential= part of an Authorization header.
type Credential struct {
	AccessKeyID string
	Date        string // yyyymmdd
	Region      string
	Service     string
}

// Scope returns "date/region/service/aws4_request".
func (c Credential) Scope() string {
	return c.Date + "/" + c.Region + "/" + c.Service + "/aws4_request"
}

// Authorization is a parsed SigV4 Authorization header.
type Authorization struct {
	Credential    Credential
	SignedHeaders []string // lower case, sorted as sent
	Signature     string   // hex
}

// ParseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/
// execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex".
func ParseAuthorization(h string) (*Authorization, error) {
	if h == "" {
		return nil, ErrMissing
	}
	rest, ok := strings.CutPrefix(h, Algorithm+" ")
	if !ok {
		if strings.HasPrefix(h, "AWS4-") || strings.HasPrefix(h, "AWS ") {
			return nil, fmt.Errorf("algorithm %q is not %s: %w", strings.SplitN(h, " ", 2)[0], Algorithm, ErrMalformed)
		}
		return nil, ErrMissing
	}
	a := &Authorization{}
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			return nil, fmt.Errorf("authorization part %q: %w", part, ErrMalformed)
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" || f[0] == "" || len(f[1]) != 8 {
				return nil, fmt.Errorf("credential %q: %w", v, ErrMalformed)
			}
			a.Credential = Credential{AccessKeyID: f[0], Date: f[1], Region: f[2], Service: f[3]}
			haveCred = true
		case "SignedHeaders":
			if v == "" {
				return nil, fmt.Errorf("empty SignedHeaders: %w", ErrMalformed)
			}
			a.SignedHeaders = strings.Split(v, ";")
			haveSigned = true
		case "Signature":
			if len(v) != 64 {
				return nil, fmt.Errorf("signature %q: %w", v, ErrMalformed)
			}
			if _, err := hex.DecodeString(v); err != nil {
				return nil, fmt.Errorf("signature %q: %w", v, ErrMalformed)
			}
			a.Signature = v
			haveSig = true
		}
	}
	if !haveCred || !haveSigned || !haveSig {
		return nil, fmt.Errorf("authorization needs Credential, SignedHeaders and Signature: %w", ErrMalformed)
	}
	return a, nil
}

// Verifier checks signatures. Its fields are read-only after construction; it is
// safe for concurrent use.
type Verifier struct {
	// Secret returns the secret access key of an access key id, or false when the
	// id is unknown.
	Secret func(accessKeyID string) (secret string, ok bool)
	// Service, when set, is the only service name accepted in the credential scope
	// (e.g. "execute-api").
	Service string
	// MaxSkew bounds |X-Amz-Date - now| (DefaultMaxSkew when zero).
	MaxSkew time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Verify checks r's signature. body is the request body as received (it is hashed
// unless X-Amz-Content-Sha256 is UNSIGNED-PAYLOAD or already names its hash). It
// returns the verified credential, or an error wrapping one of the kinds above.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Credential, error) {
	auth, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	c := auth.Credential
	if v.Service != "" && c.Service != v.Service {
		return nil, fmt.Errorf("credential scope names service %q, not %q: %w", c.Service, v.Service, ErrMismatch)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		amzDate = r.Header.Get("Date")
	}
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return nil, fmt.Errorf("X-Amz-Date %q: %w", amzDate, ErrMalformed)
	}
	if t.Format("20060102") != c.Date {
		return nil, fmt.Errorf("credential date %s differs from X-Amz-Date %s: %w", c.Date, amzDate, ErrMismatch)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if d := now().Sub(t); d > skew || d < -skew {
		return nil, fmt.Errorf("X-Amz-Date %s is %s from the server's time: %w", amzDate, d.Round(time.Second), ErrExpired)
	}
	if !slices.Contains(auth.SignedHeaders, "host") {
		return nil, fmt.Errorf("SignedHeaders must include host: %w", ErrMalformed)
	}
	secret, ok := v.Secret(c.AccessKeyID)
	if !ok {
		return nil, fmt.Errorf("access key id %q: %w", c.AccessKeyID, ErrUnknownKey)
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		payloadHash = HashHex(body)
	} else if payloadHash != UnsignedPayload && payloadHash != HashHex(body) {
		return nil, fmt.Errorf("X-Amz-Content-Sha256 does not match the body: %w", ErrMismatch)
	}
	creq := CanonicalRequest(r, auth.SignedHeaders, payloadHash)
	sts := StringToSign(amzDate, c.Scope(), creq)
	want := hex.EncodeToString(Sign(SigningKey(secret, c.Date, c.Region, c.Service), sts))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(auth.Signature))) {
		return nil, fmt.Errorf("access key id %q: %w", c.AccessKeyID, ErrMismatch)
	}
	return &c, nil
}

// CanonicalRequest builds the canonical request of r over the given signed header
// names (lower case) and payload hash:
//
//	METHOD\nURI\nQUERY\nHEADERS\n\nSIGNEDHEADERS\nPAYLOADHASH
//
// The URI is the path as the client sent it, escaped once more (every path
// segment URI-encoded twice, as AWS does for all services but S3).
func CanonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(CanonicalURI(requestPath(r)))
	b.WriteByte('\n')
	b.WriteString(CanonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, h := range signedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// requestPath is the escaped path exactly as the client sent it.
func requestPath(r *http.Request) string {
	if r.RequestURI != "" && strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ := strings.Cut(r.RequestURI, "?")
		return p
	}
	return r.URL.EscapedPath()
}

// headerValue returns a signed header's canonical value: the values joined with
// ",", each trimmed with inner runs of spaces collapsed. Host and Content-Length,
// which net/http keeps outside Header, come from the request.
func headerValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength >= 0 {
			values = []string{fmt.Sprint(r.ContentLength)}
		}
	default:
		values = r.Header.Values(name)
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = collapseSpaces(strings.TrimSpace(v))
	}
	return strings.Join(out, ",")
}

func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// CanonicalURI URI-encodes an (already escaped) path once more, leaving "/" and the
// unreserved characters as they are. An empty path is "/".
func CanonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	return uriEncode(escapedPath, false)
}

// CanonicalQuery sorts the query parameters by name, then value, each URI-encoded.
func CanonicalQuery(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		pairs = append(pairs, kv{uriEncode(k, true), uriEncode(v, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// uriEncode percent-encodes every byte but the unreserved characters A-Z a-z 0-9
// - _ . ~ (and "/" unless encodeSlash), with upper-case hex, as SigV4 requires.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// StringToSign returns "AWS4-HMAC-SHA256\nAMZDATE\nSCOPE\nhex(sha256(creq))".
func StringToSign(amzDate, scope, canonicalRequest string) string {
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + HashHex([]byte(canonicalRequest))
}

// SigningKey derives the signing key: HMAC("AWS4"+secret, date) -> region ->
// service -> "aws4_request".
func SigningKey(secret, date, region, service string) []byte {
	k := Sign([]byte("AWS4"+secret), date)
	k = Sign(k, region)
	k = Sign(k, service)
	return Sign(k, "aws4_request")
}

// Sign returns HMAC-SHA256(key, data).
func Sign(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// HashHex returns the lower-case hex SHA-256 of b.
func HashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
