package gateway

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/restevent"
)

// An AWS_PROXY event is written straight from the request into a pooled
// buffer: no aws-lambda-go struct, no maps of headers or parameters, no copy
// of the body but the one inside the event. The bytes are what json.Marshal
// gives for the struct buildV1 or buildV2 (events_oracle_test.go) fills for
// the same request, which TestEventAppendersMatchBuilders checks on many
// requests.

// eventBufs are the scratch buffers events are written into before they are
// copied out at their size.
var eventBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledEvent bounds the buffers kept in eventBufs.
const maxPooledEvent = 64 << 10

// encodeEvent writes an event with appendEvent into a pooled buffer and
// returns a copy at its size (the invoker keeps the payload for as long as
// the invocation runs, past the caller's return when the caller goes away).
func encodeEvent(appendEvent func([]byte) ([]byte, error)) ([]byte, error) {
	bp := eventBufs.Get().(*[]byte)
	b, err := appendEvent((*bp)[:0])
	var out []byte
	if err == nil {
		out = make([]byte, len(b))
		copy(out, b)
	}
	if cap(b) <= maxPooledEvent {
		*bp = b[:0]
		eventBufs.Put(bp)
	}
	return out, err
}

// eventHeader is a header of an event (restevent.Header).
type eventHeader = restevent.Header

// appendHeaderValues appends h's values as the inside of a JSON string,
// joined with commas.
func appendHeaderValues(b []byte, h *eventHeader) []byte {
	if h.Vals == nil {
		return appendEscaped(b, h.One)
	}
	for i, v := range h.Vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEscaped(b, v)
	}
	return b
}

// eventHeaders appends to hs the headers forwardedHeaders gives, named by
// name, sorted by that name (restevent.Headers).
func eventHeaders(hs []eventHeader, r *http.Request, rc *reqCtx, name func(string) string) []eventHeader {
	return restevent.Headers(hs, r, rc.RequestTime, rc.RequestID, name)
}

// queryParam is a parameter of the query string, unescaped.
type queryParam struct{ key, val string }

// maxFastQuery is how many parameters eventQuery parses itself; longer
// query strings go through url.ParseQuery.
const maxFastQuery = 32

// eventQuery appends the parameters of raw to ps as parseQuery parses them,
// sorted by key (a key's values in their order); a bad encoding is
// parseQuery's error.
func eventQuery(ps []queryParam, raw string) ([]queryParam, error) {
	if raw == "" {
		return ps, nil
	}
	if strings.IndexByte(raw, ';') >= 0 || strings.Count(raw, "&") >= maxFastQuery {
		q, err := parseQuery(raw)
		if err != nil {
			return nil, err
		}
		for _, k := range sortedKeys(q) {
			for _, v := range q[k] {
				ps = append(ps, queryParam{k, v})
			}
		}
		return ps, nil
	}
	for rest := raw; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			_, err = parseQuery(raw)
			return nil, err
		}
		if v, err = url.QueryUnescape(v); err != nil {
			_, err = parseQuery(raw)
			return nil, err
		}
		ps = append(ps, queryParam{k, v})
	}
	slices.SortStableFunc(ps, func(a, b queryParam) int { return strings.Compare(a.key, b.key) })
	return ps, nil
}

// nextKey returns the end of the run of parameters with ps[i]'s key.
func nextKey(ps []queryParam, i int) int {
	j := i + 1
	for j < len(ps) && ps[j].key == ps[i].key {
		j++
	}
	return j
}

// queryShape is how appendQuery writes a key's values.
type queryShape int

const (
	queryLast   queryShape = iota // the last value (payload 1.0's queryStringParameters)
	queryList                     // a list (multiValueQueryStringParameters)
	queryJoined                   // joined with commas (payload 2.0)
)

// appendQuery appends the parameters q (sorted by key) as an object by key.
func appendQuery(b []byte, q []queryParam, shape queryShape) []byte {
	b = append(b, '{')
	for i := 0; i < len(q); {
		j := nextKey(q, i)
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, q[i].key)
		b = append(b, ':')
		switch shape {
		case queryLast:
			b = appendJSONString(b, q[j-1].val)
		case queryList:
			b = append(b, '[')
			for k := i; k < j; k++ {
				if k > i {
					b = append(b, ',')
				}
				b = appendJSONString(b, q[k].val)
			}
			b = append(b, ']')
		case queryJoined:
			b = append(b, '"')
			for k := i; k < j; k++ {
				if k > i {
					b = append(b, ',')
				}
				b = appendEscaped(b, q[k].val)
			}
			b = append(b, '"')
		}
		i = j
	}
	return append(b, '}')
}

// appendBodyValue appends the JSON value of an event's body: its text, or
// with b64 its base64.
func appendBodyValue(b, body []byte, b64 bool) []byte {
	if b64 {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, body)
		return append(b, '"')
	}
	return appendJSONString(b, body)
}

// appendStagePath appends rc.StagePath() as a JSON string (without building
// it): as the client sent it (REST events), or decoded (HTTP APIs' events, as
// API Gateway sends them).
func appendStagePath(b []byte, rc *reqCtx, asSent bool) []byte {
	p, prefix := rc.Path, rc.StagePrefix
	if !asSent {
		p, prefix = unescapePath(p), unescapePath(prefix)
	}
	switch {
	case rc.CustomDomain && rc.AtBasePath:
		return appendJSONString(b, prefix)
	case rc.CustomDomain:
		return appendJSONStrings(b, prefix, p)
	case rc.Stage == apis.RouteDefault:
		return appendJSONString(b, p)
	case p == "/":
		return appendJSONStrings(b, "/", rc.Stage, "/")
	}
	return appendJSONStrings(b, "/", rc.Stage, p)
}

// appendRequestTime appends the request's time in requestTimeLayout as a JSON
// string.
func appendRequestTime(b []byte, rc *reqCtx) []byte {
	var buf [40]byte
	return appendJSONString(b, rc.RequestTime.UTC().AppendFormat(buf[:0], requestTimeLayout))
}

// appendEventV1 appends r's REST (payload 1.0) event: json.Marshal of what
// buildV1 gives.
func appendEventV1(b []byte, r *http.Request, rc *reqCtx, body []byte, stageVars map[string]string, binaryTypes []string) ([]byte, error) {
	var qbuf [8]queryParam
	q, err := eventQuery(qbuf[:0], r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	name := headerSpelling(r, rc)
	var hbuf [16]eventHeader
	hs := eventHeaders(hbuf[:0], r, rc, name)

	resource := rc.Route.Path
	if resource == apis.RouteDefault {
		resource = "/" + "{proxy+}"
	}
	// REST APIs pass the path and its parameters as the client sent them;
	// HTTP APIs decode them, and name the payload version.
	rest := rc.Protocol == apis.ProtocolREST
	if rest {
		b = append(b, `{"resource":`...)
	} else {
		b = append(b, `{"version":"1.0","resource":`...)
	}
	b = appendJSONString(b, resource)
	b = append(b, `,"path":`...)
	switch {
	case rest && rc.CustomDomain && rc.AtBasePath:
		b = appendJSONString(b, rc.StagePrefix) // "/v2" as sent, no slash added
	case rest && rc.CustomDomain:
		// Through a custom domain name REST events carry the base path
		// too ("/v2/pets" for a mapping "v2"), as API Gateway sends them.
		b = appendJSONStrings(b, rc.StagePrefix, rc.Path)
	case rest:
		b = appendJSONString(b, rc.Path)
	default:
		b = appendJSONString(b, unescapePath(rc.Path))
	}
	b = append(b, `,"httpMethod":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"headers":{`...)
	for i, h := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, h.Name)
		b = append(b, ':')
		b = appendJSONString(b, h.Last())
	}
	b = append(b, `},"multiValueHeaders":{`...)
	for i, h := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, h.Name)
		b = append(b, ':')
		if h.Vals == nil {
			b = append(b, '[')
			b = appendJSONString(b, h.One)
			b = append(b, ']')
		} else {
			b = appendStrings(b, h.Vals)
		}
	}
	b = append(b, `},"queryStringParameters":`...)
	if len(q) == 0 {
		b = append(b, `null,"multiValueQueryStringParameters":null`...)
	} else {
		b = appendQuery(b, q, queryLast)
		b = append(b, `,"multiValueQueryStringParameters":`...)
		b = appendQuery(b, q, queryList)
	}
	b = append(b, `,"pathParameters":`...)
	if rest {
		b = appendStringMap(b, nilIfEmpty(rc.PathParametersAsSent()))
	} else {
		b = appendStringMap(b, nilIfEmpty(rc.PathParameters))
	}
	b = append(b, `,"stageVariables":`...)
	b = appendStringMap(b, nilIfEmpty(stageVars))

	b = append(b, `,"requestContext":{"accountId":`...)
	b = appendJSONString(b, functions.AccountID)
	b = append(b, `,"resourceId":`...)
	b = appendJSONString(b, resourceID(rc, resource))
	b = append(b, `,"stage":`...)
	b = appendJSONString(b, rc.Stage)
	b = append(b, `,"domainName":`...)
	b = appendJSONString(b, rc.DomainName)
	b = append(b, `,"domainPrefix":`...)
	b = appendJSONString(b, domainPrefix(rc.DomainName))
	// HTTP APIs' requestId is the short apigw-requestid one, as in AWS's
	// 1.0 example ("id=") and their 2.0 events.
	b = append(b, `,"requestId":`...)
	b = appendJSONString(b, rc.APIRequestID())
	b = append(b, `,"extendedRequestId":`...)
	b = appendJSONString(b, rc.ExtendedRequestID)
	b = append(b, `,"protocol":`...)
	b = appendJSONString(b, r.Proto)
	b = append(b, `,"identity":`...)
	id := restevent.IdentityOf(r, &rc.Identity)
	if b, err = id.AppendJSON(b); err != nil {
		return nil, err
	}
	b = append(b, `,"resourcePath":`...)
	b = appendJSONString(b, resource)
	b = append(b, `,"path":`...)
	b = appendStagePath(b, rc, rest)
	b = append(b, `,"authorizer":`...)
	if rc.Authorizer.Kind == "" && !rest {
		b = append(b, `{"claims":null,"scopes":null}`...) // authorizerV1's, without the map
	} else if a := authorizerV1(&rc.Authorizer, rest); a == nil {
		b = append(b, "null"...)
	} else if b, err = appendMarshal(b, a); err != nil {
		return nil, err
	}
	b = append(b, `,"httpMethod":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"requestTime":`...)
	b = appendRequestTime(b, rc)
	b = append(b, `,"requestTimeEpoch":`...)
	b = strconv.AppendInt(b, rc.RequestTime.UnixMilli(), 10)
	b = append(b, `,"apiId":`...)
	b = appendJSONString(b, rc.APIID)
	// No body is null, and isBase64Encoded is always there, as API Gateway
	// sends them.
	b = append(b, `},"body":`...)
	b64 := len(body) > 0 && (isBinaryREST(r.Header.Get("Content-Type"), binaryTypes) || !utf8.Valid(body))
	if len(body) == 0 {
		b = append(b, "null"...)
	} else {
		b = appendBodyValue(b, body, b64)
	}
	if b64 {
		return append(b, `,"isBase64Encoded":true}`...), nil
	}
	return append(b, `,"isBase64Encoded":false}`...), nil
}

// headerSpelling returns how r's header names reach the integration
// (restevent.Spelling): the client's spelling on REST APIs, canonical names in
// HTTP APIs' payload 1.0.
func headerSpelling(r *http.Request, rc *reqCtx) func(string) string {
	return restevent.Spelling(r, rc.Protocol == apis.ProtocolREST)
}

// appendEventV2 appends r's HTTP API (payload 2.0) event: json.Marshal of
// what buildV2 gives.
func appendEventV2(b []byte, r *http.Request, rc *reqCtx, body []byte, stageVars map[string]string) ([]byte, error) {
	var qbuf [8]queryParam
	q, err := eventQuery(qbuf[:0], r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	var hbuf [16]eventHeader
	// Sorted by canonical name, which sorts by the lower-case name too but
	// for names with bytes between 'Z' and 'a' ("[\]^_`"); the event's keys
	// are sorted again below.
	hs := eventHeaders(hbuf[:0], r, rc, restevent.CanonicalName)
	var cookies []string
	n := 0
	for _, h := range hs {
		lk := restevent.LowerName(h.Name)
		if lk == "cookie" && h.Vals != nil { // (a Cookie header is the client's)
			for _, v := range h.Vals {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		h.Name = lk
		hs[n] = h
		n++
	}
	hs = hs[:n]
	slices.SortStableFunc(hs, func(a, b eventHeader) int { return strings.Compare(a.Name, b.Name) })

	routeKey := rc.Route.RouteKey
	b = append(b, `{"version":"2.0","routeKey":`...)
	b = appendJSONString(b, routeKey)
	b = append(b, `,"rawPath":`...)
	b = appendStagePath(b, rc, false)
	b = append(b, `,"rawQueryString":`...)
	b = appendJSONString(b, r.URL.RawQuery)
	if len(cookies) > 0 {
		b = append(b, `,"cookies":`...)
		b = appendStrings(b, cookies)
	}
	b = append(b, `,"headers":{`...)
	for i := 0; i < len(hs); {
		// Names that differ only in case (set by hand) are one header.
		j := i + 1
		for j < len(hs) && hs[j].Name == hs[i].Name {
			j++
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, hs[i].Name)
		b = append(b, ':', '"')
		for k := i; k < j; k++ {
			if k > i {
				b = append(b, ',')
			}
			b = appendHeaderValues(b, &hs[k])
		}
		b = append(b, '"')
		i = j
	}
	b = append(b, '}')
	if len(q) > 0 {
		b = append(b, `,"queryStringParameters":`...)
		b = appendQuery(b, q, queryJoined)
	}
	if len(rc.PathParameters) > 0 {
		b = append(b, `,"pathParameters":`...)
		b = appendStringMap(b, rc.PathParameters)
	}

	b = append(b, `,"requestContext":{"routeKey":`...)
	b = appendJSONString(b, routeKey)
	b = append(b, `,"accountId":`...)
	b = appendJSONString(b, functions.AccountID)
	b = append(b, `,"stage":`...)
	b = appendJSONString(b, rc.Stage)
	b = append(b, `,"requestId":`...)
	b = appendJSONString(b, rc.ExtendedRequestID)
	if a := authorizerV2(&rc.Authorizer, &rc.Identity); a != nil {
		b = append(b, `,"authorizer":`...)
		if b, err = appendMarshal(b, a); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"apiId":`...)
	b = appendJSONString(b, rc.APIID)
	b = append(b, `,"domainName":`...)
	b = appendJSONString(b, rc.DomainName)
	b = append(b, `,"domainPrefix":`...)
	b = appendJSONString(b, domainPrefix(rc.DomainName))
	b = append(b, `,"time":`...)
	b = appendRequestTime(b, rc)
	b = append(b, `,"timeEpoch":`...)
	b = strconv.AppendInt(b, rc.RequestTime.UnixMilli(), 10)
	b = append(b, `,"http":{"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendStagePath(b, rc, false)
	b = append(b, `,"protocol":`...)
	b = appendJSONString(b, r.Proto)
	b = append(b, `,"sourceIp":`...)
	b = appendJSONString(b, rc.Identity.SourceIP)
	b = append(b, `,"userAgent":`...)
	b = appendJSONString(b, r.UserAgent())
	b = append(b, '}')
	// authentication is there only for a client certificate, as API
	// Gateway sends it (aws-lambda-go's struct has no omitempty; a Node or
	// Python handler testing for the key would take an empty one for a
	// certificate).
	if auth := clientCertV2(r); auth != (events.APIGatewayV2HTTPRequestContextAuthentication{}) {
		b = append(b, `,"authentication":`...)
		if b, err = appendMarshal(b, auth); err != nil {
			return nil, err
		}
	}
	b = append(b, '}')

	if len(stageVars) > 0 {
		b = append(b, `,"stageVariables":`...)
		b = appendStringMap(b, stageVars)
	}
	b64 := false
	if len(body) > 0 {
		b64 = !isTextHTTP(r.Header.Get("Content-Type"), body)
		b = append(b, `,"body":`...)
		b = appendBodyValue(b, body, b64)
	}
	if b64 {
		return append(b, `,"isBase64Encoded":true}`...), nil
	}
	return append(b, `,"isBase64Encoded":false}`...), nil
}

// nilIfEmpty is m, or nil when m is empty (the events leave out empty
// collections as null).
func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
