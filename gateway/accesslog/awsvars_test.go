package accesslog

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// TestMoreAPIGatewayVariables: the REST access-log variables API Gateway
// documents are accepted (they were refused as unknown): those Portico has a
// value of are written from the request, the others as "-", as API Gateway
// writes an absent value. $context.authorizer.integrationLatency and
// .integrationStatus are the Lambda authorizer's call, not keys of its
// context.
func TestMoreAPIGatewayVariables(t *testing.T) {
	absent := []string{"awsEndpointRequestId2", "responseOverride.status", "responseOverride.header.X-Foo",
		"requestOverride.header.X-Foo", "identity.cognitoAuthenticationProvider", "identity.cognitoAuthenticationType",
		"identity.cognitoIdentityId", "identity.cognitoIdentityPoolId", "identity.principalOrgId", "identity.vpceId",
		"waf.error", "waf.latency", "waf.status", "wafResponseCode", "webaclArn", "authorize.error", "authorize.latency",
		"authorize.status", "authenticate.error", "authenticate.latency", "authenticate.status", "authorizer.requestId"}
	format := "$context.requestId|$context.accountId|$context.resourceId|$context.xrayTraceId|" +
		"$context.authorizer.integrationLatency|$context.authorizer.integrationStatus"
	for _, v := range absent {
		format += "|$context." + v
	}
	f, err := Parse(format)
	if err != nil {
		t.Fatal(err)
	}
	dep := &apis.Deployment{API: apis.API{ID: "abcdefghij"}}
	c := &pipeline.Context{RequestID: "r1", APIID: "abcdefghij", ResourcePath: "/pets/{id}",
		Deployed: &pipeline.Deployed{API: &dep.API, Deployment: dep},
		Authorizer: pipeline.Authorizer{Kind: "lambda", Status: 200, InvokeStatus: 200, LatencyMS: 7,
			Context: map[string]any{"integrationLatency": "ctx", "integrationStatus": "ctx"}}}
	got := string(f.Append(nil, &Record{C: c, Status: 200, TraceID: "1-5f84c7a9-0123456789abcdef01234567"}))
	want := "r1|" + functions.AccountID + "|" + apis.ResourceID("abcdefghij", "/pets/{id}") +
		"|1-5f84c7a9-0123456789abcdef01234567|7|200" + strings.Repeat("|-", len(absent))
	if got != want {
		t.Errorf("line\n%s\nwant\n%s", got, want)
	}
	// The authorizer's Lambda ran and denied: its call is written; a cached
	// answer ran none: "-".
	c.Authorizer = pipeline.Authorizer{Status: 403, InvokeStatus: 200, LatencyMS: 7, Error: "denied"}
	if got := string(f.Append(nil, &Record{C: c, Status: 403, TraceID: "t"})); !strings.Contains(got, "|t|7|200|") {
		t.Errorf("a fresh Deny: %s", got)
	}
	c.Authorizer = pipeline.Authorizer{Kind: "lambda", Status: 200}
	if got := string(f.Append(nil, &Record{C: c, Status: 200, TraceID: "t"})); !strings.Contains(got, "|t|-|-|") {
		t.Errorf("a cached Allow: %s", got)
	}
	// No route, no authorizer, no trace.
	got = string(f.Append(nil, &Record{C: &pipeline.Context{RequestID: "r2"}, Status: 403}))
	want = "r2|" + functions.AccountID + "|-|-|-|-" + strings.Repeat("|-", len(absent))
	if got != want {
		t.Errorf("line\n%s\nwant\n%s", got, want)
	}
}

// TestIntegrationLatencyWhenNoIntegrationRan: $context.integrationLatency and
// .integration.latency are "-" when no integration ran (a refusal, a cache
// hit), as API Gateway writes them; they were "0". An integration that ran
// within the millisecond is "0".
func TestIntegrationLatencyWhenNoIntegrationRan(t *testing.T) {
	f, err := Parse("$context.requestId $context.integrationLatency $context.integration.latency")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    *pipeline.Context
		want string
	}{
		{&pipeline.Context{RequestID: "refused"}, "refused - -"},
		{&pipeline.Context{RequestID: "hit", CacheHit: true}, "hit - -"},
		{&pipeline.Context{RequestID: "quick", Integration: pipeline.Integration{Ran: true}}, "quick 0 0"},
		{&pipeline.Context{RequestID: "ran", Integration: pipeline.Integration{Ran: true}, IntegrationLatency: 25 * time.Millisecond}, "ran 25 25"},
	} {
		if got := string(f.Append(nil, &Record{C: tc.c, Status: 200})); got != tc.want {
			t.Errorf("line %q, want %q", got, tc.want)
		}
	}
}

// TestAuthorizerValuesControlCharacters is what the obs9 tester found: an
// authorizer context value's \n and \r were escaped, but its other control
// characters (ESC of a terminal escape sequence, 0x01) and U+2028 reached the
// line raw, which no JSON decoder takes and a terminal obeys. Every control
// character is escaped, in every format: a JSON format's line decodes to the
// value itself.
func TestAuthorizerValuesControlCharacters(t *testing.T) {
	const evil = "a\"b\\c\n{\"forged\":true}\r\u0001\u001b[31m\t\u007f\u009b\u2028\u2029end é"
	c := &pipeline.Context{RequestID: "r1", Authorizer: pipeline.Authorizer{Kind: "lambda", Status: 200,
		Context: map[string]any{"evil": evil}}}
	for _, format := range []string{`{"rid":"$context.requestId","evil":"$context.authorizer.evil"}`, `$context.requestId $context.authorizer.evil`} {
		f, err := Parse(format)
		if err != nil {
			t.Fatal(err)
		}
		line := string(f.Append(nil, &Record{C: c, Status: 200}))
		for _, r := range line {
			if r < 0x20 || r >= 0x7f && r <= 0x9f || r == '\u2028' || r == '\u2029' {
				t.Errorf("format %s: the line holds %U raw: %q", format, r, line)
			}
		}
		if !strings.HasSuffix(line, `\u2028\u2029end é"}`) && !strings.HasSuffix(line, `\u2028\u2029end é`) {
			t.Errorf("format %s: %q", format, line)
		}
	}
	// A JSON format whose value's quote is escaped (the value has none,
	// here) decodes to the value.
	c.Authorizer.Context["evil"] = strings.NewReplacer(`"`, "", `\`, "").Replace(evil)
	f, _ := Parse(`{"evil":"$context.authorizer.evil"}`)
	var got struct{ Evil string }
	if line := f.Append(nil, &Record{C: c, Status: 200}); json.Unmarshal(line, &got) != nil || got.Evil != c.Authorizer.Context["evil"] {
		t.Errorf("line %q decodes to %q, want the value", line, got.Evil)
	}
}

// TestInvalidUTF8Replaced: a value's bytes that are not UTF-8 (a User-Agent
// of 0xFF 0xFE) are written as U+FFFD, as spans write them, so that a JSON
// format's line is UTF-8 a strict decoder takes; valid characters, C1 lookalike
// lead bytes (¢) included, are kept (obs11).
func TestInvalidUTF8Replaced(t *testing.T) {
	c := &pipeline.Context{RequestID: "r1", Authorizer: pipeline.Authorizer{Kind: "lambda", Status: 200,
		Context: map[string]any{"v": "a \xff\xfe b ¢ … é \xe2\x80 \x1b"}}}
	f, err := Parse(`{"rid":"$context.requestId","v":"$context.authorizer.v"}`)
	if err != nil {
		t.Fatal(err)
	}
	line := f.Append(nil, &Record{C: c, Status: 200})
	var got struct{ V string }
	if !utf8.Valid(line) || json.Unmarshal(line, &got) != nil || got.V != "a \ufffd\ufffd b ¢ … é \ufffd\ufffd \x1b" {
		t.Errorf("line %q decodes to %q", line, got.V)
	}
}

// TestClientValuesCannotForgeFields (obs23): a value a client chose (a
// User-Agent, the property names a request validator quotes, the path, an
// authorizer's context) cannot close the quoted JSON field, the XML element or
// attribute, or the quoted CSV field it is written in: a refused request is
// never read back as another status or request id, every line parses, and
// a JSON format's value decodes to what the client sent.
func TestClientValuesCannotForgeFields(t *testing.T) {
	evil := []string{
		`x","st":"200","id":"forged","z":"`,
		`evil"},"x":"y`,
		`a\'b`, // the validator's quoting of a name holding '
		`</v><st>200</st><v>`,
		`' st='200`,
		`\","st":"200`,
		"tab\there & <amp> \"both\" 'quotes' \\ end",
	}
	newRecord := func(v string) *Record {
		c := &pipeline.Context{RequestID: "rid-1", Authorizer: pipeline.Authorizer{Kind: "lambda", Status: 200,
			Context: map[string]any{"v": v}}}
		c.Identity.UserAgent = v
		c.Error.ValidationErrorString = "[/: additional properties '" + v + "' not allowed]"
		return &Record{C: c, Status: 400, Path: "/" + v}
	}
	vars := []string{"identity.userAgent", "error.validationErrorString", "authorizer.v", "path"}
	for _, v := range evil {
		r := newRecord(v)
		for _, name := range vars {
			get, err := lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			want := string(get(nil, r))
			f, err := Parse(`{"id":"$context.requestId","st":"$context.status","v":"$context.` + name + `"}`)
			if err != nil {
				t.Fatal(err)
			}
			line := f.Append(nil, r)
			var got map[string]string
			if err := json.Unmarshal(line, &got); err != nil {
				t.Errorf("%s %q: JSON line %s does not parse: %v", name, v, line, err)
			} else if len(got) != 3 || got["id"] != "rid-1" || got["st"] != "400" || got["v"] != want {
				t.Errorf("%s %q: JSON line %s reads %q", name, v, line, got)
			}

			f, _ = Parse(`<r id="$context.requestId" a='$context.` + name + `'><st>$context.status</st><v>$context.` + name + `</v></r>`)
			line = f.Append(nil, r)
			var x struct {
				ID string   `xml:"id,attr"`
				A  string   `xml:"a,attr"`
				St []string `xml:"st"`
				V  []string `xml:"v"`
			}
			if err := xml.Unmarshal(line, &x); err != nil {
				t.Errorf("%s %q: XML line %s does not parse: %v", name, v, line, err)
			} else if x.ID != "rid-1" || len(x.St) != 1 || x.St[0] != "400" || len(x.V) != 1 {
				t.Errorf("%s %q: XML line %s reads %+v", name, v, line, x)
			}

			f, _ = Parse(`$context.requestId,"$context.` + name + `",$context.status`)
			line = f.Append(nil, r)
			rec, err := csv.NewReader(bytes.NewReader(line)).Read()
			if err != nil || len(rec) != 3 || rec[0] != "rid-1" || rec[2] != "400" {
				t.Errorf("%s %q: CSV line %s reads %q (%v)", name, v, line, rec, err)
			}
		}
	}
}
