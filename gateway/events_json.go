package gateway

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// The AWS_PROXY events are encoded by appending bytes rather than through
// encoding/json's reflection: the output is byte for byte what json.Marshal
// gives for the same aws-lambda-go struct (field order, omitempty, map keys
// sorted, encoding/json's string escaping with HTML escaping), which
// TestEventEncodingMatchesEncodingJSON checks. Values that only authorizers and
// client certificates bring (nested objects of any shape) are rare and go
// through json.Marshal.

// marshalV1 encodes a REST (payload 1.0) event as json.Marshal would.
func marshalV1(ev *events.APIGatewayProxyRequest) ([]byte, error) {
	b := make([]byte, 0, 1024+len(ev.Body)+len(ev.Body)/8)
	b = append(b, `{"resource":`...)
	b = appendJSONString(b, ev.Resource)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, ev.Path)
	b = append(b, `,"httpMethod":`...)
	b = appendJSONString(b, ev.HTTPMethod)
	b = append(b, `,"headers":`...)
	b = appendStringMap(b, ev.Headers)
	b = append(b, `,"multiValueHeaders":`...)
	b = appendStringsMap(b, ev.MultiValueHeaders)
	b = append(b, `,"queryStringParameters":`...)
	b = appendStringMap(b, ev.QueryStringParameters)
	b = append(b, `,"multiValueQueryStringParameters":`...)
	b = appendStringsMap(b, ev.MultiValueQueryStringParameters)
	b = append(b, `,"pathParameters":`...)
	b = appendStringMap(b, ev.PathParameters)
	b = append(b, `,"stageVariables":`...)
	b = appendStringMap(b, ev.StageVariables)

	rc := &ev.RequestContext
	b = append(b, `,"requestContext":{"accountId":`...)
	b = appendJSONString(b, rc.AccountID)
	b = append(b, `,"resourceId":`...)
	b = appendJSONString(b, rc.ResourceID)
	if rc.OperationName != "" {
		b = append(b, `,"operationName":`...)
		b = appendJSONString(b, rc.OperationName)
	}
	b = append(b, `,"stage":`...)
	b = appendJSONString(b, rc.Stage)
	b = append(b, `,"domainName":`...)
	b = appendJSONString(b, rc.DomainName)
	b = append(b, `,"domainPrefix":`...)
	b = appendJSONString(b, rc.DomainPrefix)
	b = append(b, `,"requestId":`...)
	b = appendJSONString(b, rc.RequestID)
	b = append(b, `,"extendedRequestId":`...)
	b = appendJSONString(b, rc.ExtendedRequestID)
	b = append(b, `,"protocol":`...)
	b = appendJSONString(b, rc.Protocol)
	b = append(b, `,"identity":`...)
	var err error
	if b, err = appendIdentity(b, &rc.Identity); err != nil {
		return nil, err
	}
	b = append(b, `,"resourcePath":`...)
	b = appendJSONString(b, rc.ResourcePath)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, rc.Path)
	b = append(b, `,"authorizer":`...)
	if rc.Authorizer == nil {
		b = append(b, "null"...)
	} else if b, err = appendMarshal(b, rc.Authorizer); err != nil {
		return nil, err
	}
	b = append(b, `,"httpMethod":`...)
	b = appendJSONString(b, rc.HTTPMethod)
	b = append(b, `,"requestTime":`...)
	b = appendJSONString(b, rc.RequestTime)
	b = append(b, `,"requestTimeEpoch":`...)
	b = strconv.AppendInt(b, rc.RequestTimeEpoch, 10)
	b = append(b, `,"apiId":`...)
	b = appendJSONString(b, rc.APIID)
	b = append(b, '}')

	b = append(b, `,"body":`...)
	b = appendJSONString(b, ev.Body)
	if ev.IsBase64Encoded {
		b = append(b, `,"isBase64Encoded":true`...)
	}
	return append(b, '}'), nil
}

// appendIdentity encodes requestContext.identity of a payload 1.0 event.
func appendIdentity(b []byte, id *events.APIGatewayRequestIdentity) ([]byte, error) {
	b = append(b, '{')
	first := true
	opt := func(name, v string) {
		if v != "" {
			b = appendField(b, &first, name)
			b = appendJSONString(b, v)
		}
	}
	opt("cognitoIdentityPoolId", id.CognitoIdentityPoolID)
	opt("accountId", id.AccountID)
	opt("cognitoIdentityId", id.CognitoIdentityID)
	opt("caller", id.Caller)
	opt("apiKey", id.APIKey)
	opt("apiKeyId", id.APIKeyID)
	opt("accessKey", id.AccessKey)
	b = appendField(b, &first, "sourceIp")
	b = appendJSONString(b, id.SourceIP)
	opt("cognitoAuthenticationType", id.CognitoAuthenticationType)
	opt("cognitoAuthenticationProvider", id.CognitoAuthenticationProvider)
	opt("userArn", id.UserArn)
	b = append(b, `,"userAgent":`...)
	b = appendJSONString(b, id.UserAgent)
	opt("user", id.User)
	if id.ClientCert != nil {
		b = append(b, `,"clientCert":`...)
		var err error
		if b, err = appendMarshal(b, id.ClientCert); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// marshalV2 encodes an HTTP API (payload 2.0) event as json.Marshal would.
func marshalV2(ev *events.APIGatewayV2HTTPRequest) ([]byte, error) {
	b := make([]byte, 0, 1024+len(ev.Body)+len(ev.Body)/8)
	b = append(b, `{"version":`...)
	b = appendJSONString(b, ev.Version)
	b = append(b, `,"routeKey":`...)
	b = appendJSONString(b, ev.RouteKey)
	b = append(b, `,"rawPath":`...)
	b = appendJSONString(b, ev.RawPath)
	b = append(b, `,"rawQueryString":`...)
	b = appendJSONString(b, ev.RawQueryString)
	if len(ev.Cookies) > 0 {
		b = append(b, `,"cookies":`...)
		b = appendStrings(b, ev.Cookies)
	}
	b = append(b, `,"headers":`...)
	b = appendStringMap(b, ev.Headers)
	if len(ev.QueryStringParameters) > 0 {
		b = append(b, `,"queryStringParameters":`...)
		b = appendStringMap(b, ev.QueryStringParameters)
	}
	if len(ev.PathParameters) > 0 {
		b = append(b, `,"pathParameters":`...)
		b = appendStringMap(b, ev.PathParameters)
	}

	rc := &ev.RequestContext
	b = append(b, `,"requestContext":{"routeKey":`...)
	b = appendJSONString(b, rc.RouteKey)
	b = append(b, `,"accountId":`...)
	b = appendJSONString(b, rc.AccountID)
	b = append(b, `,"stage":`...)
	b = appendJSONString(b, rc.Stage)
	b = append(b, `,"requestId":`...)
	b = appendJSONString(b, rc.RequestID)
	var err error
	if rc.Authorizer != nil {
		b = append(b, `,"authorizer":`...)
		if b, err = appendMarshal(b, rc.Authorizer); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"apiId":`...)
	b = appendJSONString(b, rc.APIID)
	b = append(b, `,"domainName":`...)
	b = appendJSONString(b, rc.DomainName)
	b = append(b, `,"domainPrefix":`...)
	b = appendJSONString(b, rc.DomainPrefix)
	b = append(b, `,"time":`...)
	b = appendJSONString(b, rc.Time)
	b = append(b, `,"timeEpoch":`...)
	b = strconv.AppendInt(b, rc.TimeEpoch, 10)
	h := &rc.HTTP
	b = append(b, `,"http":{"method":`...)
	b = appendJSONString(b, h.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, h.Path)
	b = append(b, `,"protocol":`...)
	b = appendJSONString(b, h.Protocol)
	b = append(b, `,"sourceIp":`...)
	b = appendJSONString(b, h.SourceIP)
	b = append(b, `,"userAgent":`...)
	b = appendJSONString(b, h.UserAgent)
	// authentication is a struct: omitempty never leaves it out.
	b = append(b, `},"authentication":`...)
	if rc.Authentication == (events.APIGatewayV2HTTPRequestContextAuthentication{}) {
		b = append(b, `{"clientCert":{"clientCertPem":"","issuerDN":"","serialNumber":"","subjectDN":"","validity":{"notAfter":"","notBefore":""}}}`...)
	} else if b, err = appendMarshal(b, rc.Authentication); err != nil {
		return nil, err
	}
	b = append(b, '}')

	if len(ev.StageVariables) > 0 {
		b = append(b, `,"stageVariables":`...)
		b = appendStringMap(b, ev.StageVariables)
	}
	if ev.Body != "" {
		b = append(b, `,"body":`...)
		b = appendJSONString(b, ev.Body)
	}
	if ev.IsBase64Encoded {
		b = append(b, `,"isBase64Encoded":true}`...)
	} else {
		b = append(b, `,"isBase64Encoded":false}`...)
	}
	return b, nil
}

// appendField appends an object member's name, with the comma before it
// unless it is the first.
func appendField(b []byte, first *bool, name string) []byte {
	if !*first {
		b = append(b, ',')
	}
	*first = false
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// appendMarshal appends json.Marshal(v).
func appendMarshal(b []byte, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// sortedMapKeys returns m's keys sorted, in buf when it is large enough.
func sortedMapKeys[V any](m map[string]V, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendStringMap encodes a map of strings: null when nil, keys sorted.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [16]string
	b = append(b, '{')
	for i, k := range sortedMapKeys(m, buf[:]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendStringsMap encodes a map of string lists: null when nil, keys sorted.
func appendStringsMap(b []byte, m map[string][]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [16]string
	b = append(b, '{')
	for i, k := range sortedMapKeys(m, buf[:]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendStrings(b, m[k])
	}
	return append(b, '}')
}

// appendStrings encodes a list of strings; a nil list is null.
func appendStrings(b []byte, vs []string) []byte {
	if vs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json writes
// it: HTML characters (<, >, &), control characters, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
