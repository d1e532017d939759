package accesslog

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// Record is one answered request as the access log sees it: the request's
// $context and what the stage measured around the pipeline.
type Record struct {
	C *pipeline.Context
	// Status is the status answered; ResponseLength the body bytes written.
	Status         int
	ResponseLength int64
	// Latency is the time from receiving the request to answering it.
	Latency time.Duration
	// Protocol is the request's protocol ("HTTP/1.1").
	Protocol string
	// Path is the request's path as the client sent it (stage included).
	Path string
	// RequestLength is the request's Content-Length, -1 when unknown.
	RequestLength int64
	// WS is the event of a WebSocket route dispatch (LogWebSocket), nil
	// for other requests: the WebSocket variables (connectionId, ...) read it.
	WS *events.APIGatewayWebsocketProxyRequest
	// TraceID is $context.xrayTraceId: the X-Ray trace id (the Root of the
	// answer's X-Amzn-Trace-Id) of a traced stage's request, set only for
	// formats that write it (Format.TraceID); "" otherwise.
	TraceID string
}

// getter appends a variable's value (nothing when it has none).
type getter func(b []byte, r *Record) []byte

// Format is a compiled access-log format. Immutable and safe for concurrent use.
type Format struct {
	parts []part
	// Source is the format as given.
	Source string
	// requestID and extendedRequestID say the format writes
	// $context.requestId and $context.extendedRequestId.
	requestID, extendedRequestID bool
	// traceID says it writes $context.xrayTraceId.
	traceID bool
}

// TraceID reports whether the format writes $context.xrayTraceId (which
// Record.TraceID then has to hold).
func (f *Format) TraceID() bool { return f.traceID }

// part is a literal or a variable.
type part struct {
	lit string
	get getter
	// quoted says get writes a value already quoted and escaped as a JSON
	// string ($context.error.messageString), which Append writes as it is.
	quoted bool
}

func str(f func(r *Record) string) getter {
	return func(b []byte, r *Record) []byte { return append(b, f(r)...) }
}

// clientCert appends a field of the mutual TLS client certificate (nothing
// without one).
func clientCert(f func(c *edge.ClientCert) string) getter {
	return func(b []byte, r *Record) []byte {
		if c := r.C.Identity.ClientCert(); c != nil {
			return append(b, f(c)...)
		}
		return b
	}
}

// status appends a status code (nothing when 0).
func status(f func(r *Record) int) getter {
	return func(b []byte, r *Record) []byte {
		if v := f(r); v != 0 {
			return strconv.AppendInt(b, int64(v), 10)
		}
		return b
	}
}

// integrationStatus is $context.integration.status: the status the integration
// named (a function's proxy response, an HTTP backend's answer), else, when an
// integration ran and did not fail (a streamed HTTP_PROXY answer, a mock), the
// status answered.
func integrationStatus(b []byte, r *Record) []byte {
	in := &r.C.Integration
	switch {
	case in.Status != 0:
		return strconv.AppendInt(b, int64(in.Status), 10)
	case in.HTTP && in.EndpointStatus != 0:
		return strconv.AppendInt(b, int64(in.EndpointStatus), 10)
	case in.Ran && in.Error == "" && r.Status != 0:
		return strconv.AppendInt(b, int64(r.Status), 10)
	}
	return b
}

// endpointStatus is $context.integrationStatus: for a function, the status of
// the Invoke call; for an HTTP backend its status (the status answered when
// the proxy passed it through); nothing for a mock or when none answered.
func endpointStatus(b []byte, r *Record) []byte {
	in := &r.C.Integration
	switch {
	case in.EndpointStatus != 0:
		return strconv.AppendInt(b, int64(in.EndpointStatus), 10)
	case in.HTTP && in.Ran && in.Error == "" && r.Status != 0:
		return strconv.AppendInt(b, int64(r.Status), 10)
	}
	return b
}

// authorizerLatency is $context.authorizer.latency in ms (nothing when no
// authorizer ran).
func authorizerLatency(b []byte, r *Record) []byte {
	if r.C.Authorizer.Status == 0 {
		return b
	}
	return strconv.AppendInt(b, int64(r.C.Authorizer.LatencyMS), 10)
}

// dataProcessed is $context.dataProcessed: the bytes of the request body
// (its Content-Length, or what was read of it: by the pipeline, or as it
// streamed to an HTTP_PROXY backend) and of the response body.
func dataProcessed(b []byte, r *Record) []byte {
	n := r.RequestLength
	if n < 0 {
		n = 0
		if l, ok := r.C.BodyLength(); ok {
			n = int64(l)
		}
	}
	return strconv.AppendInt(b, n+r.ResponseLength, 10)
}

// absent is a variable Portico has no value of: written "-".
func absent(b []byte, _ *Record) []byte { return b }

// integrationLatency is $context.integrationLatency in ms: nothing when no
// integration ran.
func integrationLatency(b []byte, r *Record) []byte {
	if !r.C.Integration.Ran {
		return b
	}
	return strconv.AppendInt(b, r.C.IntegrationLatency.Milliseconds(), 10)
}

// recordResourceID is $context.resourceId: the id of the matched route's
// resource, nothing before a route matched.
func recordResourceID(r *Record) string {
	if r.C.ResourcePath == "" {
		return ""
	}
	if d := r.C.Deployed; d != nil && d.API != nil {
		return d.API.ResourceIDOf(r.C.ResourcePath)
	}
	return apis.ResourceID(r.C.APIID, r.C.ResourcePath)
}

func dur(f func(r *Record) time.Duration) getter {
	return func(b []byte, r *Record) []byte { return strconv.AppendInt(b, f(r).Milliseconds(), 10) }
}

// variables are the $context variables an access log may use, as API Gateway
// names them.
var variables = map[string]getter{
	"requestId":                              str(func(r *Record) string { return r.C.APIRequestID() }),
	"extendedRequestId":                      str(func(r *Record) string { return r.C.ExtendedRequestID }),
	"apiId":                                  str(func(r *Record) string { return r.C.APIID }),
	"stage":                                  str(func(r *Record) string { return r.C.Stage }),
	"deploymentId":                           str(func(r *Record) string { return r.C.DeploymentID }),
	"domainName":                             str(func(r *Record) string { return r.C.DomainName }),
	"domainPrefix":                           str(func(r *Record) string { return r.C.DomainPrefix }),
	"httpMethod":                             str(func(r *Record) string { return r.C.HTTPMethod }),
	"resourcePath":                           str(func(r *Record) string { return r.C.ResourcePath }),
	"routeKey":                               str(func(r *Record) string { return r.C.RouteKey }),
	"path":                                   str(recordPath),
	"protocol":                               str(func(r *Record) string { return r.Protocol }),
	"identity.sourceIp":                      str(func(r *Record) string { return r.C.Identity.SourceIP }),
	"identity.userAgent":                     str(func(r *Record) string { return r.C.Identity.UserAgent }),
	"identity.apiKeyId":                      str(func(r *Record) string { return r.C.Identity.APIKeyID }),
	"identity.accessKey":                     str(func(r *Record) string { return r.C.Identity.AccessKey }),
	"identity.caller":                        str(func(r *Record) string { return r.C.Identity.Caller }),
	"identity.user":                          str(func(r *Record) string { return r.C.Identity.User }),
	"identity.userArn":                       str(func(r *Record) string { return r.C.Identity.UserARN }),
	"identity.accountId":                     str(func(r *Record) string { return r.C.Identity.AccountID }),
	"identity.clientCert.clientCertPem":      clientCert(func(c *edge.ClientCert) string { return c.PEM }),
	"identity.clientCert.subjectDN":          clientCert(func(c *edge.ClientCert) string { return c.SubjectDN }),
	"identity.clientCert.issuerDN":           clientCert(func(c *edge.ClientCert) string { return c.IssuerDN }),
	"identity.clientCert.serialNumber":       clientCert(func(c *edge.ClientCert) string { return c.SerialNumber }),
	"identity.clientCert.validity.notBefore": clientCert(func(c *edge.ClientCert) string { return c.NotBefore }),
	"identity.clientCert.validity.notAfter":  clientCert(func(c *edge.ClientCert) string { return c.NotAfter }),
	"authorizer.principalId":                 str(func(r *Record) string { return r.C.Authorizer.PrincipalID }),
	"error.message":                          str(func(r *Record) string { return r.C.Error.Message }),
	"error.responseType":                     str(func(r *Record) string { return string(r.C.Error.ResponseType) }),
	"error.validationErrorString":            str(func(r *Record) string { return r.C.Error.ValidationErrorString }),
	// The quoted value of $context.error.message, "$context.error.message":
	// "-" when there is no error, so that a JSON format that writes it
	// unquoted ("message":$context.error.messageString) stays valid on every
	// line. The quoting is JSON's.
	"error.messageString": func(b []byte, r *Record) []byte {
		if r.C.Error.Message == "" {
			return append(b, `"-"`...)
		}
		return appendJSONString(b, r.C.Error.Message)
	},
	"isCanaryRequest": func(b []byte, r *Record) []byte {
		return strconv.AppendBool(b, r.C.IsCanaryRequest)
	},
	"status": func(b []byte, r *Record) []byte { return strconv.AppendInt(b, int64(r.Status), 10) },
	"responseLength": func(b []byte, r *Record) []byte {
		return strconv.AppendInt(b, r.ResponseLength, 10)
	},
	"requestTime": func(b []byte, r *Record) []byte {
		return r.C.RequestTime.UTC().AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	},
	"requestTimeEpoch": func(b []byte, r *Record) []byte {
		return strconv.AppendInt(b, r.C.RequestTime.UnixMilli(), 10)
	},
	"responseLatency": dur(func(r *Record) time.Duration { return r.Latency }),
	// "-" when no integration ran (a refusal, a cache hit), as API Gateway
	// writes it.
	"integrationLatency":  integrationLatency,
	"integration.latency": integrationLatency,
	"cacheHit":            func(b []byte, r *Record) []byte { return strconv.AppendBool(b, r.C.CacheHit) },
	// The integration's answer (pipeline.Integration).
	"integration.status":            integrationStatus,
	"integration.integrationStatus": endpointStatus,
	"integrationStatus":             endpointStatus,
	"integration.error":             str(func(r *Record) string { return r.C.Integration.Error }),
	"integrationErrorMessage":       str(func(r *Record) string { return r.C.Integration.Error }),
	"integration.requestId":         str(func(r *Record) string { return r.C.Integration.RequestID }),
	"awsEndpointRequestId":          str(func(r *Record) string { return r.C.Integration.RequestID }),
	"dataProcessed":                 dataProcessed,
	// The route's authorizer's answer; these names are API Gateway's, not
	// keys of the authorizer's context.
	"authorizer.status":  status(func(r *Record) int { return int(r.C.Authorizer.Status) }),
	"authorizer.latency": authorizerLatency,
	"authorizer.error":   str(func(r *Record) string { return r.C.Authorizer.Error }),
	// The API mapping a custom domain name matched, without its leading
	// slash ("v1/orders"), as API Gateway writes it.
	"customDomain.basePathMatched": str(func(r *Record) string {
		if !r.C.CustomDomain {
			return ""
		}
		// The mapping's key: the base path as the client spelled it,
		// decoded (it was matched decoded; a %2F was refused before).
		b := strings.TrimPrefix(r.C.StagePrefix, "/")
		if strings.IndexByte(b, '%') >= 0 {
			if d, err := url.PathUnescape(b); err == nil {
				b = d
			}
		}
		return b
	}),
	// API Gateway's, that Portico has a value of.
	"accountId":   str(func(*Record) string { return functions.AccountID }),
	"resourceId":  str(recordResourceID),
	"xrayTraceId": str(func(r *Record) string { return r.TraceID }),
	// The Lambda authorizer's own call ($context.authorizer.integrationLatency,
	// .integrationStatus, .requestId): API Gateway's values, not keys of its
	// context.
	// Written when the Lambda was called, whatever it decided; "-" for a
	// cached answer or a refusal without a call.
	"authorizer.integrationLatency": func(b []byte, r *Record) []byte {
		if r.C.Authorizer.InvokeStatus == 0 {
			return b
		}
		return strconv.AppendInt(b, int64(r.C.Authorizer.LatencyMS), 10)
	},
	"authorizer.integrationStatus": func(b []byte, r *Record) []byte {
		if r.C.Authorizer.InvokeStatus == 0 {
			return b
		}
		return strconv.AppendInt(b, int64(r.C.Authorizer.InvokeStatus), 10)
	},
	"authorizer.requestId": absent,
	// API Gateway's, that Portico has no value of (no WAF, Cognito,
	// VPC endpoints, organizations, second endpoint request id, separate
	// authentication and authorization steps): "-", as API Gateway writes
	// an absent value.
	"awsEndpointRequestId2":                  absent,
	"identity.cognitoAuthenticationProvider": absent,
	"identity.cognitoAuthenticationType":     absent,
	"identity.cognitoIdentityId":             absent,
	"identity.cognitoIdentityPoolId":         absent,
	"identity.principalOrgId":                absent,
	"identity.vpceId":                        absent,
	"identity.vpcId":                         absent,
	"waf.error":                              absent,
	"waf.latency":                            absent,
	"waf.status":                             absent,
	"wafResponseCode":                        absent,
	"webaclArn":                              absent,
	"authorize.error":                        absent,
	"authorize.latency":                      absent,
	"authorize.status":                       absent,
	"authenticate.error":                     absent,
	"authenticate.latency":                   absent,
	"authenticate.status":                    absent,
	"responseOverride.status":                absent,
	"responseOverride.header.":               nil, // prefix: absent
	"requestOverride.header.":                nil, // prefix: absent
	"authorizer.claims.":                     nil, // prefix: $context.authorizer.claims.NAME
	"authorizer.":                            nil, // prefix: $context.authorizer.NAME
}

// refused are variables API Gateway has that an access log must not write.
var refused = map[string]string{
	"identity.apiKey": "it is the caller's secret API key; use $context.identity.apiKeyId",
}

// Parse compiles an access-log format. Every $context variable must be one
// API Gateway defines and Portico fills; an unknown one is refused, named. A
// value that is empty is written as "-", as API Gateway writes it.
//
// Line breaks at the format's start and end are not written (a YAML block
// scalar, `Format: >` in a template, ends in one): each record is one line
// whatever the format ends with. Source keeps the format as it was set.
func Parse(format string) (*Format, error) {
	source := format
	format = strings.Trim(format, "\r\n")
	if strings.TrimSpace(format) == "" {
		return nil, fmt.Errorf("access log format is empty: use $context variables, e.g. %s", CLF)
	}
	const maxFormat = 3 << 10
	if len(format) > maxFormat {
		return nil, fmt.Errorf("access log format is %d bytes, more than %d", len(format), maxFormat)
	}
	f := &Format{Source: source}
	rest := format
	var lit strings.Builder
	for {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			lit.WriteString(rest)
			break
		}
		lit.WriteString(rest[:i])
		rest = rest[i:]
		name, ok := strings.CutPrefix(rest, "$context.")
		if !ok {
			if v := leadingName(rest[1:]); v != "" && (v[0] < '0' || v[0] > '9') {
				return nil, fmt.Errorf("access log format: unknown variable $%s: only $context variables are available", headerVariable(rest[1:], v))
			}
			lit.WriteByte('$')
			rest = rest[1:]
			continue
		}
		v := leadingName(name)
		if strings.HasPrefix(v, "responseOverride.header.") || strings.HasPrefix(v, "requestOverride.header.") {
			v = headerVariable(name, v)
		}
		rest = name[len(v):]
		if v == "" {
			return nil, fmt.Errorf("access log format: $context. names no variable")
		}
		get, err := lookup(v)
		if err != nil {
			return nil, err
		}
		switch v {
		case "requestId":
			f.requestID = true
		case "extendedRequestId":
			f.extendedRequestID = true
		case "xrayTraceId":
			f.traceID = true
		}
		if lit.Len() > 0 {
			f.parts = append(f.parts, part{lit: literal(lit.String())})
			lit.Reset()
		}
		f.parts = append(f.parts, part{get: get, quoted: v == "error.messageString"})
	}
	if lit.Len() > 0 {
		f.parts = append(f.parts, part{lit: literal(lit.String())})
	}
	return f, nil
}

// CheckFormat parses a stage's access log format as the control planes take
// it (Parse), and refuses one holding a control character of its own (a line
// break, ESC; checkLiteral) and, as API Gateway does, one that writes no request
// id: a REST API's format must include $context.requestId or
// $context.extendedRequestId, an HTTP or WebSocket API's $context.requestId.
//
// Line breaks at its start and end are taken, and not written (Parse).
func CheckFormat(protocol, format string) (*Format, error) {
	if err := checkLiteral(format); err != nil {
		return nil, err
	}
	f, err := Parse(format)
	if err != nil {
		return nil, err
	}
	switch {
	case protocol == apis.ProtocolREST && !f.requestID && !f.extendedRequestID:
		return nil, errors.New("the access log format must include at least $context.requestId or $context.extendedRequestId: " +
			"add $context.requestId (the x-amzn-RequestId each answer carries), or use a preset (clf, json, xml, csv)")
	case protocol != apis.ProtocolREST && !f.requestID:
		return nil, errors.New("the access log format must include at least $context.requestId: " +
			"add $context.requestId (the apigw-requestid each answer carries), or use a preset (clf, json, xml, csv)")
	}
	return f, nil
}

// controlChar reports whether r is a character a format's text must not
// hold: a C0 control other than tab (a line break, ESC), DEL, a C1 control,
// U+2028 or U+2029 (line separators to some readers). Tab, which breaks no
// line and starts no escape sequence, is taken (a tab-separated format).
func controlChar(r rune) bool {
	return r < 0x20 && r != '\t' || r >= 0x7f && r <= 0x9f || r == 0x2028 || r == 0x2029
}

// checkLiteral refuses a format holding a control character (controlChar):
// one request is one line, and nothing written makes a terminal running
// tail -f obey an escape sequence. The character is named, and where it is.
func checkLiteral(format string) error {
	inner := strings.TrimRight(format, "\r\n")
	start := len(inner) - len(strings.TrimLeft(inner, "\r\n"))
	for i, r := range inner {
		if !controlChar(r) || i < start {
			continue
		}
		what := fmt.Sprintf("the control character U+%04X", r)
		switch r {
		case '\n':
			what = `a line feed (\n)`
		case '\r':
			what = `a carriage return (\r)`
		case 0x1b:
			what = "an escape character (ESC, U+001B)"
		}
		return fmt.Errorf("access log format: holds %s at byte %d: remove it (and any other line break or control character); "+
			"each request is written as one line, so a format is one line too (a tab is taken)", what, i)
	}
	return nil
}

// literal returns a format's text with the control characters it may hold
// (controlChar; a format stored before CheckFormat refused them) written
// escaped, as values are (escapeValue), so that they never reach a line raw.
func literal(s string) string {
	if !strings.ContainsFunc(s, controlChar) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case controlChar(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// leadingName returns the variable name at the start of s: letters, digits,
// '_' and inner dots.
func leadingName(s string) string {
	n := 0
	for n < len(s) {
		c := s[n]
		if c == '.' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			n++
			continue
		}
		break
	}
	return strings.TrimRight(s[:n], ".")
}

// headerVariable extends v, a variable naming a header at the start of s,
// over the '-'s of the header's name (X-Foo-Bar).
func headerVariable(s, v string) string {
	for len(v) < len(s) && s[len(v)] == '-' {
		more := leadingName(s[len(v)+1:])
		if more == "" || strings.Contains(more, ".") {
			break
		}
		v = s[:len(v)+1+len(more)]
	}
	return v
}

func lookup(v string) (getter, error) {
	if why, ok := refused[v]; ok {
		return nil, fmt.Errorf("access log format: $context.%s is not written to logs: %s", v, why)
	}
	if g := variables[v]; g != nil {
		return g, nil
	}
	for _, p := range []string{"responseOverride.header.", "requestOverride.header."} {
		if key, ok := strings.CutPrefix(v, p); ok && key != "" {
			return absent, nil
		}
	}
	if key, ok := strings.CutPrefix(v, "authorizer.claims."); ok && key != "" {
		return authorizerValue(key), nil
	}
	if key, ok := strings.CutPrefix(v, "authorizer."); ok && key != "" && !strings.Contains(key, ".") {
		return authorizerValue(key), nil
	}
	return nil, fmt.Errorf("access log format: unknown variable $context.%s", v)
}

func authorizerValue(key string) getter {
	return func(b []byte, r *Record) []byte {
		v, ok := r.C.Authorizer.Context[key]
		if !ok || v == nil {
			return b
		}
		return fmt.Append(b, v)
	}
}

// Append appends r's line (without a newline) to b. Every value is written
// as the inside of a JSON string, with one rule whoever chose it (a client's
// User-Agent, path, Host, body or certificate; an authorizer's context or a
// JWT's claims; Portico's own values alike): its line breaks (clientCertPem's, say) as \n and \r, its other
// control characters (C0, DEL, C1) and U+2028/U+2029 as \t or \u00XX, \u2028
// and \u2029, a backslash as \\, and the characters that delimit a field in
// JSON, XML, HTML and quoted CSV (" ' < > &) as \u0022, \u0027, \u003c,
// \u003e and \u0026 (as encoding/json's HTML-safe escaping writes them); a byte
// that is not UTF-8 as U+FFFD. So a request is one line in line-oriented files,
// a terminal showing the file obeys no escape sequence of a client's, no value
// can close the quoted field, attribute or element it is written in to add
// fields of its own, and a value inside a JSON format's quotes is a valid
// JSON string that decodes to the value itself. $context.error.messageString,
// which is a JSON string already, is written as it is. A line is at most
// MaxLine bytes: a longer one (a format repeating a long header, say) is cut
// there, at a character boundary.
func (f *Format) Append(b []byte, r *Record) []byte {
	start := len(b)
	for _, p := range f.parts {
		if len(b)-start > MaxLine {
			break
		}
		if p.get == nil {
			b = append(b, p.lit...)
			continue
		}
		n := len(b)
		b = p.get(b, r)
		if len(b) == n {
			b = append(b, '-')
		} else if !p.quoted && needsEscape(b[n:]) {
			b = escapeValue(b, n)
		}
	}
	return cutLine(b, start)
}

// MaxLine is the most bytes of one access-log line (its newline aside): 256
// KiB, what CloudWatch Logs takes in one event.
const MaxLine = 256 << 10

// cutLine cuts the line b[start:] to MaxLine bytes, at the start of a
// character.
func cutLine(b []byte, start int) []byte {
	if len(b)-start <= MaxLine {
		return b
	}
	end := start + MaxLine
	for end > start && !utf8.RuneStart(b[end]) {
		end--
	}
	return b[:end]
}

// appendJSONString appends s as a JSON string: quoted, with '"', '\\' and
// control characters escaped and invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// escaped are the ASCII bytes escapeValue writes as escapes: the C0
// controls and DEL, the backslash, and the characters that delimit a field in
// JSON, XML, HTML and quoted CSV.
var escaped = func() (t [utf8.RuneSelf]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	for _, c := range []byte{0x7f, '\\', '"', '\'', '<', '>', '&'} {
		t[c] = true
	}
	return t
}()

// needsEscape reports whether v holds a byte escapeValue escapes (escaped),
// or the first byte of a C1 control (0xC2) or of U+2028 or U+2029 (0xE2),
// which escapeValue then reads whole; or whether v is not valid UTF-8.
func needsEscape(v []byte) bool {
	high := false
	for _, c := range v {
		if c < utf8.RuneSelf && escaped[c] || c == 0xc2 || c == 0xe2 {
			return true
		}
		high = high || c >= utf8.RuneSelf
	}
	return high && !utf8.Valid(v)
}

// escapeValue writes the value b[n:] as the inside of a JSON string that
// none of JSON, XML, HTML and CSV reads a delimiter in (Append): \n, \r and
// \t; \\ for a backslash; \u00XX for the other C0 controls, DEL, the C1
// controls and " ' < > &; \u2028 and \u2029; a byte that is not UTF-8 is
// replaced by U+FFFD (as spans replace it), so that a line stays UTF-8; other
// bytes are kept.
func escapeValue(b []byte, n int) []byte {
	const hex = "0123456789abcdef"
	v := append([]byte(nil), b[n:]...)
	b = b[:n]
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c < utf8.RuneSelf && escaped[c]:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c == 0xc2 && i+1 < len(v) && v[i+1] >= 0x80 && v[i+1] <= 0x9f: // U+0080..U+009F
			b = append(b, '\\', 'u', '0', '0', hex[v[i+1]>>4], hex[v[i+1]&0xf])
			i++
		case c == 0xe2 && i+2 < len(v) && v[i+1] == 0x80 && (v[i+2] == 0xa8 || v[i+2] == 0xa9): // U+2028, U+2029
			b = append(b, `\u202`...)
			b = append(b, '8'+v[i+2]-0xa8)
			i += 2
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(v[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, v[i:i+size]...)
			}
			i += size - 1
		default:
			b = append(b, c)
		}
	}
	return b
}

// Presets: the formats API Gateway's console offers for REST APIs, each with
// both request ids.
const (
	CLF  = `$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId $context.extendedRequestId`
	JSON = `{ "requestId":"$context.requestId", "extendedRequestId":"$context.extendedRequestId", "ip": "$context.identity.sourceIp", "caller":"$context.identity.caller", "user":"$context.identity.user","requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath", "status":"$context.status","protocol":"$context.protocol", "responseLength":"$context.responseLength" }`
	XML  = `<request id="$context.requestId"> <extendedRequestId>$context.extendedRequestId</extendedRequestId> <ip>$context.identity.sourceIp</ip> <caller>$context.identity.caller</caller> <user>$context.identity.user</user> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <resourcePath>$context.resourcePath</resourcePath> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>`
	CSV  = `$context.identity.sourceIp,$context.identity.caller,$context.identity.user,$context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,$context.status,$context.responseLength,$context.requestId,$context.extendedRequestId`
)

// Presets names the presets, as `portico` and the console offer them.
var Presets = map[string]string{"clf": CLF, "json": JSON, "xml": XML, "csv": CSV}

// recordPath is $context.path: the stage and the path, as the request's
// events and templates have it ("/dev/pets"; pipeline.Context.StagePath), or
// the path the client sent when no stage answered.
func recordPath(r *Record) string {
	if r.C != nil && r.C.Stage != "" {
		return r.C.StagePath()
	}
	return r.Path
}
