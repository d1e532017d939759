package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no secret", "GET /pets?limit=3&x=y", "GET /pets?limit=3&x=y"},
		{"presigned", "http://b/p?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fexecute-api%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef0123&X-Amz-Security-Token=tok",
			"http://b/p?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED"},
		{"lower case", "?x-amz-signature=ab&api_key=k1&apikey=k2", "?x-amz-signature=REDACTED&api_key=REDACTED&apikey=REDACTED"},
		{"quoted in an error", `Get "http://b/p?x-api-key=s3cr3t": dial tcp: refused`, `Get "http://b/p?x-api-key=REDACTED": dial tcp: refused`},
		{"authorization header", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=0a1b",
			"AWS4-HMAC-SHA256 Credential=REDACTED, SignedHeaders=host, Signature=REDACTED"},
		{"oauth 2.0 (obs26)", "?access_token=a1&Client_Secret=c2&id_token=i3&refresh_token=r4&password=p5&token_type=bearer",
			"?access_token=REDACTED&Client_Secret=REDACTED&id_token=REDACTED&refresh_token=REDACTED&password=REDACTED&token_type=bearer"},
		{"longer name is not a secret", "?mysignature=1&signatures=2", "?mysignature=1&signatures=2"},
		{"empty value", "?X-Amz-Signature=&a=b", "?X-Amz-Signature=&a=b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := String(tc.in); got != tc.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, nil))
	l := Logger(base).With("url", "/p?X-Amz-Signature=sig1")
	cause := errors.New(`backend "http://b/?X-Amz-Security-Token=tok2" failed`)
	l.Error("failed ?x-api-key=key3", "err", cause, "n", 3, "m", map[string]string{"q": "api_key=key4"},
		slog.Group("g", "s", "Signature=sig5"))
	out := buf.String()
	for _, secret := range []string{"sig1", "tok2", "key3", "key4", "sig5"} {
		if strings.Contains(out, secret) {
			t.Errorf("log carries %s: %s", secret, out)
		}
	}
	if !strings.Contains(out, "n=3") || strings.Count(out, Mask) != 5 {
		t.Errorf("log: %s", out)
	}
	if Logger(l) != l {
		t.Error("Logger wraps a redacting logger twice")
	}
}

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://c:4318/v1/traces":                   "http://c:4318/v1/traces",
		"http://u:PASS@c:4318/v1/traces?key=Q&flag": "http://u:xxxxx@c:4318/v1/traces?key=xxxxx&flag",
		"http://u:PASS@c:43 18/x?key=Q":             "http://xxxxx@c:43 18/x?xxxxx",
		"u:PASS@c?key=Q":                            "u:xxxxx@c?key=xxxxx",
		// obs20: a value masked in the password or the query is masked in
		// the path too (decoded or escaped), and in the fragment.
		"http://u:STAGE-pass-9@h/x/STAGE-pass-9?token=STAGE-pass-9": "http://u:xxxxx@h/x/xxxxx?token=xxxxx",
		"http://h/services/T1/B1/hook%20sekrit?k=hook+sekrit":       "http://h/services/T1/B1/xxxxx?k=xxxxx",
		"http://h/bot/tok%2Fen/x?t=tok%2Fen#tok/en":                 "http://h/bot/xxxxx/x?t=xxxxx#xxxxx",
		"http://h/a/b?t=ab": "http://h/a/b?t=xxxxx",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShape(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"object", `{"usageIdentifierKey":"k3y","principalId":"p","context":{"tok":"t0k"}}`,
			"a JSON object with fields context, principalId, usageIdentifierKey (70 bytes)"},
		{"empty object", `{}`, "an empty JSON object (2 bytes)"},
		{"string", `"s3cr3t"`, "a JSON string (8 bytes)"},
		{"number", `12`, "a JSON number (2 bytes)"},
		{"array", `["s3cr3t"]`, "a JSON array (10 bytes)"},
		{"null", `null`, "JSON null (4 bytes)"},
		{"not JSON", `s3cr3t`, "not JSON (6 bytes)"},
		{"trailing bytes", `{"a":1} s3cr3t`, "not JSON (14 bytes)"},
		{"long name", `{"` + strings.Repeat("n", 50) + `":1}`, "a JSON object with fields " + strings.Repeat("n", 40) + "... (56 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Shape([]byte(tc.in)); got != tc.want {
				t.Errorf("Shape(%s)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
	var many strings.Builder
	many.WriteString("{")
	for i := range 25 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"f%02d":"s3cr3t"`, i)
	}
	many.WriteString("}")
	if got := Shape([]byte(many.String())); !strings.Contains(got, "f19 and 5 more (") || strings.Contains(got, "f20") || strings.Contains(got, "s3cr3t") {
		t.Errorf("Shape of 25 fields: %s", got)
	}
}

func TestStringKeepsOtherMasks(t *testing.T) {
	for _, in := range []string{"http://u:xxxxx@h/x?apikey=xxxxx&other=xxxxx", "?api_key=********", "?api_key=REDACTED"} {
		if got := String(in); got != in {
			t.Errorf("String(%q) = %q", in, got)
		}
	}
	if got := StringWith("?api_key=k1&x=1", HeaderMask); got != "?api_key=********&x=1" {
		t.Errorf("StringWith: %q", got)
	}
}

func TestValues(t *testing.T) {
	secrets := []string{`tok"en<1>`, "abc", "longer-secret"}
	in := `a tok"en<1> b {"t":"tok\"en\u003c1\u003e"} {"d":"{\"t\":\"tok\\\"en<1>\"}"} abc longer-secret`
	want := `a ******** b {"t":"********"} {"d":"{\"t\":\"********\"}"} abc ********`
	if got := Values(in, secrets, HeaderMask); got != want {
		t.Errorf("Values\n got %s\nwant %s", got, want)
	}
}

// TestQuote: a value an error repeats is quoted, but PEM or a long value is
// described instead of repeated.
func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"TLS_1_0", `"TLS_1_0"`},
		{"-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n", "(what looks like a PEM private key, not repeated here)"},
		{"-----BEGIN CERTIFICATE-----\nMIIB\n", "(a PEM block, not repeated here)"},
		{strings.Repeat("x", 201), "(a value of 201 bytes, not repeated here)"},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%.20q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestJSONMembers: a secret parameter's name as a JSON member masks its
// string value, as OAuth 2.0 token responses and JSON refresh requests
// carry them (r-sec27 finding 1, named #2 in the fixer's brief).
func TestJSONMembers(t *testing.T) {
	for in, want := range map[string]string{
		`{"grant_type":"refresh_token","refresh_token":"SEKRETJSONRT"}`:       `{"grant_type":"refresh_token","refresh_token":"REDACTED"}`,
		`{"password" : "p\"w", "Access_Token":"a","client_secret":"c","n":1}`: `{"password" : "REDACTED", "Access_Token":"REDACTED","client_secret":"REDACTED","n":1}`,
		`{"user":"password","x":"refresh_token"}`:                             `{"user":"password","x":"refresh_token"}`,
		`{"password":12,"id_token":""}`:                                       `{"password":12,"id_token":""}`,
		`body={"access_token":"t"}&password=p`:                                `body={"access_token":"REDACTED"}&password=REDACTED`,
		`{"access_token":"unterminated`:                                       `{"access_token":"REDACTED`,
	} {
		if got := String(in); got != want {
			t.Errorf("String(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestEscapedSecrets is r-obs28's finding 1: a secret parameter after an
// '&' that JSON wrote as \u0026 (Go's encoding/json does), a JSON member
// inside a JSON string (an event quoting the client's JSON body), a name
// written with an escape or percent-encoded, and camel case, were not
// masked.
func TestEscapedSecrets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"body":"a=1\u0026client_secret=AMPSEC22"}`, `{"body":"a=1\u0026client_secret=REDACTED"}`},
		{`{"body":"a=1\\u0026password=P1\\u0026b=2"}`, `{"body":"a=1\\u0026password=REDACTED\\u0026b=2"}`},
		{`{"event":{"body":"{\"client_secret\":\"JSONSEC24\",\"n\":\"rex\"}"}}`, `{"event":{"body":"{\"client_secret\":\"REDACTED\",\"n\":\"rex\"}"}}`},
		{`{"e":"{\"body\":\"{\\\"password\\\":\\\"WSPASS66\\\"}\"}"}`, `{"e":"{\"body\":\"{\\\"password\\\":\\\"REDACTED\\\"}\"}"}`},
		{`{"e":"{\"password\" : \"a\\\"b\\\\\", \"n\":1}"}`, `{"e":"{\"password\" : \"REDACTED\", \"n\":1}"}`},
		{`{"access\u005ftoken":"ESCKEY1"}`, `{"access\u005ftoken":"REDACTED"}`},
		{`client%5Fsecret=PCTSEC1&x=1`, `client%5Fsecret=REDACTED&x=1`},
		{`redirect=%3Fclient_secret%3DNESTED1%26x%3D1`, `redirect=%3Fclient_secret%3DREDACTED`},
		{`a\nclient_secret=NLSEC1`, `a\nclient_secret=REDACTED`},
		{`{"accessToken":"CAMEL1","clientSecret":"CAMEL2"} refreshToken=CAMEL3`, `{"accessToken":"REDACTED","clientSecret":"REDACTED"} refreshToken=REDACTED`},
		{`{"e":"{\"n\":\"password\",\"x\":\"y\"}"}`, `{"e":"{\"n\":\"password\",\"x\":\"y\"}"}`},
		{`a=1\u0026b=2 u0026=3`, `a=1\u0026b=2 u0026=3`},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// TestJSONArraysAndAuthorization is r-sec29's finding 2: a secret-named
// member whose value is an array of strings, and an Authorization member (a
// body that echoes the request's headers), went through unmasked.
func TestJSONArraysAndAuthorization(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"client_secret":["SEKRETARR"],"n":"x"}`, `{"client_secret":["REDACTED"],"n":"x"}`},
		{`{"password": [ "A1" , "B2"], "x":["y"]}`, `{"password": [ "REDACTED" , "REDACTED"], "x":["y"]}`},
		{`{"password":[12,"x"],"id_token":[]}`, `{"password":[12,"REDACTED"],"id_token":[]}`},
		{`{"client_secret":[1,"SKB"],"t":[true, null, -1.5e3, "SKI", false, "SK2"]}`, `{"client_secret":[1,"REDACTED"],"t":[true, null, -1.5e3, "SKI", false, "SK2"]}`},
		{`{"access_token":[true, null, -1.5e3, "SKI", false, "SK2"]}`, `{"access_token":[true, null, -1.5e3, "REDACTED", false, "REDACTED"]}`},
		{`{"secret":[{"a":"kept"},"x"]}`, `{"secret":[{"a":"kept"},"x"]}`},
		{`{"e":"{\"client_secret\":[\"Q1\",\"Q2\"]}"}`, `{"e":"{\"client_secret\":[\"REDACTED\",\"REDACTED\"]}"}`},
		{`{"Authorization":"Bearer SEKRETINBODY","password":12345678}`, `{"Authorization":"REDACTED","password":12345678}`},
		{`{"headers":{"authorization":["Bearer X1"]}}`, `{"headers":{"authorization":["REDACTED"]}}`},
		{`{"access_token":["unterminated`, `{"access_token":["REDACTED`},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}
