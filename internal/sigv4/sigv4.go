// Package sigv4 verifies AWS Signature Version 4 signatures on incoming HTTP
// requests (the Authorization header form), as AWS services do: it rebuilds the
// canonical request from what was received, derives the signing key from the
// caller's secret through the HMAC chain, and compares signatures in constant time.
//
// It is the server side of what the AWS SDKs' signers do, so that a function using
// the AWS SDK for Go v2 (or the AWS CLI) with credentials Portico issued can call
// Portico's AWS-shaped APIs. Presigned URLs (query-string signatures, X-Amz-*
// parameters) are accepted too. Check verifies what the headers say before any
// body is read.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// amzDateLayout is the X-Amz-Date format, e.g. 20150830T123600Z.
const amzDateLayout = "20060102T150405Z"

// DefaultMaxSkew is how far a request's X-Amz-Date may be from the server's clock
// (AWS allows 15 minutes).
const DefaultMaxSkew = 15 * time.Minute

// emptyHash is the hex SHA-256 of no bytes.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

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

// DateError is a signature dated too far from the server's clock, or a
// presigned URL used outside its X-Amz-Expires. It wraps ErrExpired.
type DateError struct {
	// Date is the signature's X-Amz-Date (or Date), as sent.
	Date string
	// Now is the server's time, Skew how far Date may be from it.
	Now  time.Time
	Skew time.Duration
	// Expires is a presigned URL's X-Amz-Expires; 0 for a signed header.
	Expires time.Duration
}

func (e *DateError) Error() string { return ErrExpired.Error() + ": " + e.Message() }
func (e *DateError) Unwrap() error { return ErrExpired }
func (e *DateError) future() bool {
	t, err := time.Parse(amzDateLayout, e.Date)
	return err == nil && t.After(e.Now)
}
func (e *DateError) signed() time.Time {
	t, _ := time.Parse(amzDateLayout, e.Date)
	return t
}

// Message is what AWS says of the date: "Signature expired: DATE is now earlier
// than NOW-SKEW (NOW - 5 min.)", or for a date in the future "Signature not yet
// current: DATE is still later than NOW+SKEW (NOW + 5 min.)"; for a presigned
// URL past its X-Amz-Expires, when it expired.
func (e *DateError) Message() string {
	now := e.Now.UTC()
	mins := strconv.Itoa(int(e.Skew/time.Minute)) + " min."
	switch {
	case e.future():
		return fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			e.Date, now.Add(e.Skew).Format(amzDateLayout), now.Format(amzDateLayout), mins)
	case e.Expires > 0:
		return fmt.Sprintf("Signature expired: the presigned URL signed at %s was valid for %d seconds (X-Amz-Expires), until %s; it is now %s",
			e.Date, int(e.Expires/time.Second), e.signed().Add(e.Expires).UTC().Format(amzDateLayout), now.Format(amzDateLayout))
	}
	return fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
		e.Date, now.Add(-e.Skew).Format(amzDateLayout), now.Format(amzDateLayout), mins)
}

// IncompleteError is a signature that lacks something AWS requires, with AWS's
// words for it. It wraps ErrMalformed.
type IncompleteError struct{ Message string }

func (e *IncompleteError) Error() string { return ErrMalformed.Error() + ": " + e.Message }
func (e *IncompleteError) Unwrap() error { return ErrMalformed }

// OneAuthorization returns an *IncompleteError when h carries the
// Authorization header on more than one line, else nil. The lines are one
// comma-joined value (RFC 9110), which is no SigV4 signature (AWS answers
// IncompleteSignatureException, "... not a valid key=value pair ... in
// Authorization header"), nor a bearer token: checking one line alone would
// admit a request whose handler or integration sees another Authorization than
// the one verified. Every surface that authenticates by the header calls it
// first; Check does too.
func OneAuthorization(h http.Header) error {
	if n := len(h["Authorization"]); n > 1 {
		return &IncompleteError{Message: fmt.Sprintf("The Authorization header is sent %d times: send it once.", n)}
	}
	return nil
}

// ScopeError is a credential scoped to a region or service other than the
// verifier's. It wraps ErrMismatch.
type ScopeError struct {
	// Region and WantRegion are set when the region differs: the scope's and
	// the verifier's.
	Region, WantRegion string
	// Service and WantService are set when the service differs.
	Service, WantService string
}

// Error implements error.
func (e *ScopeError) Error() string {
	if e.WantRegion != "" {
		return fmt.Sprintf("credential scope names region %q, not %q: %v", e.Region, e.WantRegion, ErrMismatch)
	}
	return fmt.Sprintf("credential scope names service %q, not %q: %v", e.Service, e.WantService, ErrMismatch)
}

// Unwrap returns ErrMismatch.
func (e *ScopeError) Unwrap() error { return ErrMismatch }

// Message is what AWS answers for the scope: "Credential should be scoped to a
// valid region, not 'eu-west-1'. " or "Credential should be scoped to correct
// service: 'execute-api'. ".
func (e *ScopeError) Message() string {
	if e.WantRegion != "" {
		return "Credential should be scoped to a valid region, not '" + e.Region + "'. "
	}
	return "Credential should be scoped to correct service: '" + e.WantService + "'. "
}

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
			return nil, fmt.Errorf("an authorization part has no '=': %w", ErrMalformed)
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" || f[0] == "" || len(f[1]) != 8 {
				return nil, fmt.Errorf("credential is not key/yyyymmdd/region/service/aws4_request: %w", ErrMalformed)
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
				return nil, fmt.Errorf("signature has %d characters, not 64: %w", len(v), ErrMalformed)
			}
			if _, err := hex.DecodeString(v); err != nil {
				return nil, fmt.Errorf("signature is not hex: %w", ErrMalformed)
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
	// id is unknown. Its keys are long-term ones: a request that also carries a
	// session token (X-Amz-Security-Token) is refused with ErrUnknownKey, as
	// AWS refuses a token it did not issue with the key ("The security token
	// included in the request is invalid.").
	Secret func(accessKeyID string) (secret string, ok bool)
	// SessionSecret, when set, is used instead of Secret: it also sees the
	// request's session token (X-Amz-Security-Token), for credentials whose secret
	// depends on it. It decides alone whether a token may come with a key:
	// it should refuse a long-term key sent with one.
	SessionSecret func(accessKeyID, sessionToken string) (secret string, ok bool)
	// Service, when set, is the only service name accepted in the credential scope
	// (e.g. "execute-api").
	Service string
	// Region, when set, is the only region accepted in the credential scope
	// (e.g. "us-east-1"): a signature scoped to another region is refused with
	// a *ScopeError, as AWS refuses it, before any key is looked up.
	Region string
	// MaxSkew bounds |X-Amz-Date - now| (DefaultMaxSkew when zero).
	MaxSkew time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Keys, when set, caches derived signing keys across requests (the four
	// HMACs of SigningKey are most of a verification's cost).
	Keys *KeyCache
}

// KeyCache caches signing keys by secret, date, region and service. The zero
// value is ready; safe for concurrent use. It holds at most maxCachedKeys keys
// (then it starts again empty: a cold cache costs HMACs, never correctness).
type KeyCache struct {
	mu sync.RWMutex
	m  map[keyID][]byte
}

type keyID struct{ secret, date, region, service string }

const maxCachedKeys = 4096

// signingKey returns SigningKey(secret, date, region, service), cached.
func (kc *KeyCache) signingKey(secret, date, region, service string) []byte {
	id := keyID{secret, date, region, service}
	kc.mu.RLock()
	k, ok := kc.m[id]
	kc.mu.RUnlock()
	if ok {
		return k
	}
	k = SigningKey(secret, date, region, service)
	kc.mu.Lock()
	if kc.m == nil || len(kc.m) >= maxCachedKeys {
		kc.m = make(map[keyID][]byte)
	}
	kc.m[id] = k
	kc.mu.Unlock()
	return k
}

// Verify checks r's signature. body is the request body as received (it is hashed
// unless X-Amz-Content-Sha256 is UNSIGNED-PAYLOAD or already names its hash). It
// returns the verified credential, or an error wrapping one of the kinds above.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Credential, error) {
	p, err := v.Check(r)
	if err != nil {
		return nil, err
	}
	if err := p.VerifyBody(body); err != nil {
		return nil, err
	}
	return &p.Credential, nil
}

// Pending is a signature whose form, credential scope, date and access key have
// been checked from the request's headers (or query string) alone; what remains
// is the signature itself, which covers the body.
type Pending struct {
	// Credential is the credential the request names.
	Credential Credential
	// SessionToken is X-Amz-Security-Token, when sent.
	SessionToken string
	// Presigned says the signature came in the query string.
	Presigned bool

	r         *http.Request
	auth      *Authorization
	secret    string
	amzDate   string
	canonQury string
	keys      *KeyCache
}

// Check verifies everything about r's signature that does not need the body:
// the Authorization header (or the X-Amz-* query parameters of a presigned URL)
// parses, the scope names the service, the date is within MaxSkew (a presigned
// URL's X-Amz-Expires not past) and the access key is known. It reads no body.
func (v *Verifier) Check(r *http.Request) (*Pending, error) {
	return v.CheckQuery(r, r.URL.RawQuery)
}

// CheckQuery is Check of r with the query rawQuery, the one the client sent
// and signed, for a caller that has rewritten r.URL.RawQuery since.
func (v *Verifier) CheckQuery(r *http.Request, rawQuery string) (*Pending, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if err := OneAuthorization(r.Header); err != nil {
		return nil, err
	}
	p := &Pending{r: r}
	var amzDate string
	var expires time.Duration
	if r.Header.Get("Authorization") == "" && strings.Contains(rawQuery, "X-Amz-Algorithm=") {
		q, _ := url.ParseQuery(rawQuery) // as r.URL.Query(): the pairs that parse
		auth, d, exp, err := parsePresigned(q)
		if err != nil {
			return nil, err
		}
		p.auth, amzDate, expires, p.Presigned = auth, d, exp, true
		p.SessionToken = q.Get("X-Amz-Security-Token")
		p.canonQury = CanonicalQuery(stripSignature(rawQuery))
	} else {
		auth, err := ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			return nil, err
		}
		p.auth = auth
		amzDate = r.Header.Get("X-Amz-Date")
		if amzDate == "" {
			amzDate = r.Header.Get("Date")
		}
		p.SessionToken = r.Header.Get("X-Amz-Security-Token")
		p.canonQury = CanonicalQuery(rawQuery)
	}
	c := p.auth.Credential
	p.Credential = c
	if v.Region != "" && c.Region != v.Region {
		return nil, &ScopeError{Region: c.Region, WantRegion: v.Region}
	}
	if v.Service != "" && c.Service != v.Service {
		return nil, &ScopeError{Service: c.Service, WantService: v.Service}
	}
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return nil, fmt.Errorf("X-Amz-Date %q: %w", amzDate, ErrMalformed)
	}
	if t.Format("20060102") != c.Date {
		return nil, fmt.Errorf("credential date %s differs from X-Amz-Date %s: %w", c.Date, amzDate, ErrMismatch)
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	at := now()
	d := at.Sub(t)
	if p.Presigned {
		if d < -skew || d > expires {
			return nil, &DateError{Date: amzDate, Now: at, Skew: skew, Expires: expires}
		}
	} else if d > skew || d < -skew {
		return nil, &DateError{Date: amzDate, Now: at, Skew: skew}
	}
	if !slices.Contains(p.auth.SignedHeaders, "host") {
		return nil, &IncompleteError{Message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
	}
	var secret string
	var ok bool
	switch {
	case v.SessionSecret != nil:
		secret, ok = v.SessionSecret(c.AccessKeyID, p.SessionToken)
	case p.SessionToken != "":
		return nil, fmt.Errorf("access key id %q with a session token it was not issued with: %w", c.AccessKeyID, ErrUnknownKey)
	default:
		secret, ok = v.Secret(c.AccessKeyID)
	}
	if !ok {
		return nil, fmt.Errorf("access key id %q: %w", c.AccessKeyID, ErrUnknownKey)
	}
	p.secret, p.amzDate, p.keys = secret, amzDate, v.Keys
	return p, nil
}

// DeclaredHash returns the X-Amz-Content-Sha256 header: a hex SHA-256 of the body
// or UNSIGNED-PAYLOAD, "" when not sent.
func (p *Pending) DeclaredHash() string { return p.r.Header.Get("X-Amz-Content-Sha256") }

// VerifyHash checks the signature over payloadHash, the hash the client says it
// signed (DeclaredHash), before the body is read. The caller must then check that
// the body hashes to it (HashingReader) unless it is UNSIGNED-PAYLOAD.
func (p *Pending) VerifyHash(payloadHash string) error {
	c := p.Credential
	var key []byte
	if p.keys != nil {
		key = p.keys.signingKey(p.secret, c.Date, c.Region, c.Service)
	} else {
		key = SigningKey(p.secret, c.Date, c.Region, c.Service)
	}
	// The canonical request is hashed as it is written, and the string to sign
	// fed to the HMAC piece by piece: no copies of either are built.
	var buf [1024]byte
	sum := sha256.Sum256(appendCanonicalRequest(buf[:0], p.r, p.canonQury, p.auth.SignedHeaders, payloadHash))
	sts := append(buf[:0], Algorithm+"\n"...)
	sts = append(sts, p.amzDate...)
	sts = append(sts, '\n')
	sts = append(sts, c.Date...)
	sts = append(sts, '/')
	sts = append(sts, c.Region...)
	sts = append(sts, '/')
	sts = append(sts, c.Service...)
	sts = append(sts, "/aws4_request\n"...)
	sts = hex.AppendEncode(sts, sum[:])
	m := hmac.New(sha256.New, key)
	_, _ = m.Write(sts)
	var got [sha256.Size]byte
	if n, err := hex.Decode(got[:], []byte(p.auth.Signature)); err != nil || n != len(got) ||
		!hmac.Equal(m.Sum(sum[:0]), got[:]) {
		return fmt.Errorf("access key id %q: %w", p.Credential.AccessKeyID, ErrMismatch)
	}
	return nil
}

// VerifyBody checks the signature over the body as received. A declared
// X-Amz-Content-Sha256 must match the body. UNSIGNED-PAYLOAD is S3's alone: on a
// signed header the signature must still cover the body's hash, as Lambda, API
// Gateway and IAM check it, so that a signed request's body cannot be swapped
// on the way. A presigned URL signs the hash of the body or UNSIGNED-PAYLOAD;
// either is taken.
func (p *Pending) VerifyBody(body []byte) error {
	payloadHash := p.DeclaredHash()
	switch {
	case payloadHash == "" && len(body) == 0:
		payloadHash = emptyHash
	case payloadHash == "", payloadHash == UnsignedPayload && !p.Presigned:
		payloadHash = HashHex(body)
	case payloadHash != UnsignedPayload && payloadHash != HashHex(body):
		return fmt.Errorf("X-Amz-Content-Sha256 does not match the body: %w", ErrMismatch)
	}
	err := p.VerifyHash(payloadHash)
	if err != nil && p.Presigned && payloadHash != UnsignedPayload {
		err = p.VerifyHash(UnsignedPayload)
	}
	return err
}

// HashingReader wraps a body whose signature was verified over want (a hex
// SHA-256): reading it to the end returns an error wrapping ErrMismatch instead of
// io.EOF when the bytes do not hash to want.
func HashingReader(body io.Reader, want string) io.Reader {
	return &hashingReader{r: body, h: sha256.New(), want: want}
}

type hashingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	done bool
}

func (h *hashingReader) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	h.h.Write(b[:n])
	if errors.Is(err, io.EOF) && !h.done {
		h.done = true
		if hex.EncodeToString(h.h.Sum(nil)) != h.want {
			return n, fmt.Errorf("the body does not hash to X-Amz-Content-Sha256: %w", ErrMismatch)
		}
	}
	return n, err
}

// parsePresigned reads the X-Amz-* query parameters of a presigned URL.
func parsePresigned(q url.Values) (*Authorization, string, time.Duration, error) {
	if alg := q.Get("X-Amz-Algorithm"); alg != Algorithm {
		return nil, "", 0, fmt.Errorf("X-Amz-Algorithm %q is not %s: %w", alg, Algorithm, ErrMalformed)
	}
	h := Algorithm + " Credential=" + q.Get("X-Amz-Credential") + ", SignedHeaders=" + q.Get("X-Amz-SignedHeaders") +
		", Signature=" + q.Get("X-Amz-Signature")
	auth, err := ParseAuthorization(h)
	if err != nil {
		return nil, "", 0, err
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 || secs > 604800 {
		return nil, "", 0, &IncompleteError{Message: fmt.Sprintf(
			"X-Amz-Expires must be a whole number of seconds from 1 to 604800 (a week); the URL has %.20q", q.Get("X-Amz-Expires"))}
	}
	return auth, q.Get("X-Amz-Date"), time.Duration(secs) * time.Second, nil
}

// stripSignature removes X-Amz-Signature from a raw query, which the canonical
// query of a presigned URL leaves out.
func stripSignature(raw string) string {
	parts := strings.Split(raw, "&")
	out := parts[:0]
	for _, p := range parts {
		if !strings.HasPrefix(p, "X-Amz-Signature=") {
			out = append(out, p)
		}
	}
	return strings.Join(out, "&")
}

// CanonicalRequest builds the canonical request of r over the given signed header
// names (lower case) and payload hash:
//
//	METHOD\nURI\nQUERY\nHEADERS\n\nSIGNEDHEADERS\nPAYLOADHASH
//
// The URI is the path as the client sent it, escaped once more (every path
// segment URI-encoded twice, as AWS does for all services but S3).
func CanonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	return canonicalRequest(r, CanonicalQuery(r.URL.RawQuery), signedHeaders, payloadHash)
}

func canonicalRequest(r *http.Request, canonQuery string, signedHeaders []string, payloadHash string) string {
	return string(appendCanonicalRequest(nil, r, canonQuery, signedHeaders, payloadHash))
}

// appendCanonicalRequest appends the canonical request to b.
func appendCanonicalRequest(b []byte, r *http.Request, canonQuery string, signedHeaders []string, payloadHash string) []byte {
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, CanonicalURI(requestPath(r))...)
	b = append(b, '\n')
	b = append(b, canonQuery...)
	b = append(b, '\n')
	for _, h := range signedHeaders {
		b = append(b, h...)
		b = append(b, ':')
		b = append(b, headerValue(r, h)...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, h := range signedHeaders {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, h...)
	}
	b = append(b, '\n')
	return append(b, payloadHash...)
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
		return collapseSpaces(strings.TrimSpace(r.Host))
	case "content-length":
		values = r.Header.Values("Content-Length")
		if len(values) == 0 && r.ContentLength >= 0 {
			values = []string{fmt.Sprint(r.ContentLength)}
		}
	default:
		values = r.Header.Values(name)
	}
	if len(values) == 1 {
		return collapseSpaces(strings.TrimSpace(values[0]))
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
