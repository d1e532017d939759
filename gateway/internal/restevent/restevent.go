// Package restevent builds what the payload 1.0 events of a request have in
// common: the AWS_PROXY event the gateway sends a function and the REQUEST
// authorizer's event (gateway/auth) both carry the request's headers as the
// integration sees them, named as the client sent them, and the same
// requestContext.identity. One implementation keeps the two events alike.
package restevent

import (
	"crypto/sha256"
	hexenc "encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/internal/jsonw"
	"github.com/portico-dev/portico/gateway/internal/wirenames"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/tracing"
)

// The headers API Gateway adds to what the integration sees.
const (
	HdrHost           = "Host"
	HdrForwardedFor   = "X-Forwarded-For"
	HdrForwardedPort  = "X-Forwarded-Port"
	HdrForwardedProto = "X-Forwarded-Proto"
	HdrTraceID        = "X-Amzn-Trace-Id"
)

// Header is a header of an event: its name there and its values, or (Vals
// nil) its one value.
type Header struct {
	Name string
	Vals []string
	One  string
}

// Last is the header's last value, the one an event's headers carry.
func (h *Header) Last() string {
	if h.Vals == nil {
		return h.One
	}
	return h.Vals[len(h.Vals)-1]
}

// Values are the header's values, as an event's multiValueHeaders carry them.
func (h *Header) Values() []string {
	if h.Vals == nil {
		return []string{h.One}
	}
	return h.Vals
}

// Headers appends to hs r's headers as the integration sees them: the client's
// plus Host, X-Forwarded-For/Port/Proto and X-Amzn-Trace-Id (the client's,
// else one made from requestTime and requestID), as API Gateway adds them;
// named by name (the canonical name in, the event's name out; see Spelling),
// sorted by that name. Names that come out twice (only non-canonical keys set
// by hand can) keep one of their values, as the map of an event does; a
// header without values is left out. It allocates only when hs is too small.
func Headers(hs []Header, r *http.Request, requestTime time.Time, requestID string, name func(string) string) []Header {
	keepTrace := false
	for k, vs := range r.Header {
		switch k {
		case HdrHost, HdrForwardedFor, HdrForwardedPort, HdrForwardedProto:
			continue
		case HdrTraceID:
			if len(vs) > 0 && vs[0] != "" {
				keepTrace = true
				break
			}
			continue
		}
		if len(vs) == 0 {
			continue
		}
		hs = append(hs, Header{Name: name(k), Vals: vs})
	}
	add := func(k, v string) { hs = append(hs, Header{Name: name(k), One: v}) }
	add(HdrHost, r.Host)
	ip := peerIP(r)
	add(HdrForwardedFor, netaddr.ForwardedFor(r.Header[HdrForwardedFor], ip))
	add(HdrForwardedPort, netaddr.ForwardedPort(r))
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	add(HdrForwardedProto, proto)
	if !keepTrace {
		add(HdrTraceID, TraceID(requestTime, requestID))
	}
	slices.SortFunc(hs, func(a, b Header) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(hs, func(a, b Header) bool { return a.Name == b.Name })
}

// Spelling returns how r's header names reach a REST API's integration (its
// payload 1.0 events, its REQUEST authorizers' and its mapping templates'
// $input.params().header): the client's spelling, over HTTP/2 lower case, but
// API Gateway's for the headers it adds. HTTP APIs (rest false) keep the
// canonical names in payload 1.0.
func Spelling(r *http.Request, rest bool) func(string) string {
	if rest {
		if r.ProtoMajor == 2 {
			return H2Name
		} else if wire := wirenames.From(r.Context()); len(wire) > 0 {
			return wire.EventName
		}
	}
	return CanonicalName
}

// CanonicalName is the event name of a header in HTTP APIs' payload 1.0: its
// canonical name.
func CanonicalName(k string) string { return k }

// H2Name is the event name of a header in a REST event of an HTTP/2 request:
// the client's spelling, which HTTP/2 carries in lower case (RFC 9113, section
// 8.2.2), but for the headers the gateway adds or keeps, canonical as over
// HTTP/1.1 (wirenames.Names.EventName).
func H2Name(k string) string {
	switch k {
	case HdrHost, HdrForwardedFor, HdrForwardedPort, HdrForwardedProto, HdrTraceID:
		return k
	}
	return LowerName(k)
}

// LowerName is strings.ToLower of a header name, without allocating for the
// usual names.
func LowerName(k string) string {
	if s, ok := lowerNames[k]; ok {
		return s
	}
	return strings.ToLower(k)
}

// lowerNames are the lower-case forms of common header names.
var lowerNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Host", "Origin", "Pragma", "Referer", "User-Agent",
		"X-Amzn-Trace-Id", "X-Api-Key", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Request-Id",
		"Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "If-None-Match", "If-Modified-Since", "Upgrade-Insecure-Requests"} {
		m[k] = strings.ToLower(k)
	}
	return m
}()

// TraceID returns an X-Ray style trace header value made from the request's
// time and id. One allocation.
func TraceID(now time.Time, requestID string) string {
	var buf [TraceIDMax]byte
	return string(AppendTraceID(buf[:0], now, requestID))
}

// TraceIDMax bounds the length of TraceID's value.
const TraceIDMax = len("Root=1-") + 16 + 1 + 24

// AppendTraceID appends TraceID's value to b. The Root's 24 hex digits are
// the first 24 of a request id that is a UUID (a REST or HTTP API request's),
// so that the id is readable in the trace; any other id (a WebSocket one is
// 16 base64 characters) is hashed into 24 hex digits, so that every call for
// one request (a $connect authorizer and its function) names one trace id
// of the shape X-Ray takes.
func AppendTraceID(b []byte, now time.Time, requestID string) []byte {
	b = append(b, "Root=1-"...)
	var num [16]byte
	hex := strconv.AppendInt(num[:0], now.Unix(), 16)
	for i := len(hex); i < 8; i++ {
		b = append(b, '0')
	}
	b = append(b, hex...)
	b = append(b, '-')
	if uuidHexDigits(requestID) >= 24 {
		n := 0
		for i := 0; i < len(requestID) && n < 24; i++ {
			if requestID[i] != '-' {
				b = append(b, requestID[i])
				n++
			}
		}
		return b
	}
	sum := sha256.Sum256([]byte(requestID))
	return hexenc.AppendEncode(b, sum[:12])
}

// uuidHexDigits is the number of lower-case hex digits in id when id is made of
// them and dashes only (a UUID), else 0.
func uuidHexDigits(id string) int {
	n := 0
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			n++
		case c != '-':
			return 0
		}
	}
	return n
}

// InvokeTraceID is the trace a function invoked for a request that came
// without one runs under: TraceID's Root, the one its event's
// X-Amzn-Trace-Id names, with a random Parent, not sampled. One allocation.
func InvokeTraceID(now time.Time, requestID string) string {
	const hexDigits = "0123456789abcdef"
	var buf [TraceIDMax + len(";Parent=") + 16 + len(";Sampled=0")]byte
	b := AppendTraceID(buf[:0], now, requestID)
	b = append(b, ";Parent="...)
	p := rand.Uint64() //nolint:gosec // ids need uniqueness, not secrecy
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexDigits[p>>uint(i)&0xf])
	}
	b = append(b, ";Sampled=0"...)
	return string(b)
}

// InvokeTrace is the trace a function (or a Lambda authorizer) invoked for
// the request with headers h runs under: the last X-Amzn-Trace-Id line (the
// one an event's headers name; the client's, or a traced stage's span)
// continued as the Invoke API continues a caller's (tracing.ContinueXRay:
// canonical form, Lineage and the like dropped); without one of that shape,
// InvokeTraceID, the Root the event's X-Amzn-Trace-Id names. Every call for
// one request names the same Root, so that the authorizer and the function
// run in one trace. A canonical header costs no allocation.
func InvokeTrace(h http.Header, now time.Time, requestID string) string {
	if vs := h[HdrTraceID]; len(vs) > 0 {
		if v, ok := tracing.ContinueXRay(vs[len(vs)-1]); ok {
			return v
		}
	}
	return InvokeTraceID(now, requestID)
}

// peerIP is the address of r's peer (an IPv4-mapped address as its IPv4
// form).
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return netaddr.Unmapped(host)
}

// Identity is requestContext.identity of a payload 1.0 event. Its JSON has
// every field API Gateway's has, an absent one as null (as in AWS's examples
// and aws-lambda-go's fixture), in the order of aws-lambda-go's
// APIGatewayRequestIdentity, which decodes it.
type Identity struct {
	SourceIP, UserAgent                         string
	APIKey, APIKeyID                            string
	AccessKey, AccountID, Caller, User, UserARN string
	ClientCert                                  *events.APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCert
}

// IdentityOf is the identity of r, from what the pipeline learnt of its
// caller (id) and r's mutual TLS client certificate.
func IdentityOf(r *http.Request, id *pipeline.Identity) Identity {
	out := Identity{SourceIP: id.SourceIP, UserAgent: r.UserAgent(),
		APIKey: id.APIKey, APIKeyID: id.APIKeyID, AccessKey: id.AccessKey, AccountID: id.AccountID,
		Caller: id.Caller, User: id.User, UserARN: id.UserARN}
	if c := edge.ClientCertOf(r.TLS); c != nil {
		out.ClientCert = &events.APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCert{
			ClientCertPem: c.PEM, SubjectDN: c.SubjectDN, IssuerDN: c.IssuerDN, SerialNumber: c.SerialNumber,
			Validity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCertValidity{NotBefore: c.NotBefore, NotAfter: c.NotAfter},
		}
	}
	return out
}

// AppendJSON appends the identity's JSON object to b.
func (id *Identity) AppendJSON(b []byte) ([]byte, error) {
	opt := func(name, v string) {
		b = append(b, name...)
		if v == "" {
			b = append(b, "null"...)
		} else {
			b = jsonw.AppendString(b, v)
		}
	}
	opt(`{"cognitoIdentityPoolId":`, "")
	opt(`,"accountId":`, id.AccountID)
	opt(`,"cognitoIdentityId":`, "")
	opt(`,"caller":`, id.Caller)
	opt(`,"apiKey":`, id.APIKey)
	opt(`,"apiKeyId":`, id.APIKeyID)
	opt(`,"accessKey":`, id.AccessKey)
	b = append(b, `,"sourceIp":`...)
	b = jsonw.AppendString(b, id.SourceIP)
	opt(`,"principalOrgId":`, "")
	opt(`,"cognitoAuthenticationType":`, "")
	opt(`,"cognitoAuthenticationProvider":`, "")
	opt(`,"userArn":`, id.UserARN)
	b = append(b, `,"userAgent":`...)
	b = jsonw.AppendString(b, id.UserAgent)
	opt(`,"user":`, id.User)
	b = append(b, `,"clientCert":`...)
	if id.ClientCert == nil {
		b = append(b, "null"...)
	} else {
		raw, err := json.Marshal(id.ClientCert)
		if err != nil {
			return nil, err
		}
		b = append(b, raw...)
	}
	return append(b, '}'), nil
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (id Identity) MarshalJSON() ([]byte, error) { return id.AppendJSON(nil) }
