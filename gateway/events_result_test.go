package gateway

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// proxyResults are function results of every shape: the common one, and ones
// the scanner leaves to the generic decoder (escaped keys, repeated keys,
// other types, unknown fields, cookies, missing statusCode, bad base64).
var proxyResults = []string{
	`{"statusCode":200,"headers":{"Content-Type":"application/json"},"multiValueHeaders":null,"body":"{\"message\":\"hello\"}"}`,
	`{"statusCode":200,"isBase64Encoded":false,"body":null,"headers":null}`,
	` { "statusCode" : "404" , "headers" : { "content-type" : "text/plain" } , "body" : "caf\u00e9 é" } `,
	`{"statusCode":200,"body":"aGVsbG8=","isBase64Encoded":true}`,
	`{"statusCode":200,"body":"not base64!","isBase64Encoded":true}`,
	`{"statusCode":201,"headers":{"x-a":"1","X-A":"2"},"body":"plain"}`,
	`{"statusCode":200,"headers":{"a":"\ud83d\ude00","b":"\"q\"","c":"bad \udc00 surrogate"}}`,
	`{"statusCode":"0200"}`, `{"statusCode":99}`, `{"statusCode":600}`, `{"statusCode":200.0}`, `{"statusCode":-1}`,
	`{"statusCode":null}`, `{"statusCode":true}`, `{"statusCode":"abc"}`, `{}`, `[]`, `"text"`, `42`, `null`, `{"a":`,
	`{"statusCode":200,"statusCode":500}`, `{"status\u0043ode":200}`, `{"statusCode":200,"extra":1}`,
	`{"statusCode":200,"headers":{"a":1}}`, `{"statusCode":200,"headers":{"a":null}}`, `{"statusCode":200,"headers":[]}`,
	`{"statusCode":200,"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"headers":{"Set-Cookie":"c=3"}}`,
	`{"statusCode":200,"cookies":["a=1"],"body":"x"}`, `{"statusCode":200,"body":5}`, `{"statusCode":200,"isBase64Encoded":"yes"}`,
	`{"statusCode":200,"body":"tab\there\nnl \u2028 \\ \/"}`, "{\"statusCode\":200,\"body\":\"\xff\xfe bad utf8\"}",
	`{"hello":"world"}`, `{"statusCode":204,"headers":{},"body":""}`,
}

func sameProxyResponse(a, b *proxyResponse) bool {
	return a.status == b.status && reflect.DeepEqual(a.headerMap(), b.headerMap()) && reflect.DeepEqual(a.cookies, b.cookies) &&
		string(a.body) == string(b.body)
}

func checkScanMatches(t *testing.T, payload string) {
	t.Helper()
	for _, v1 := range []bool{true, false} {
		decode := decodeProxyResponseV2
		if v1 {
			decode = decodeProxyResponseV1
		}
		got, ok := scanProxyResponse([]byte(payload), v1)
		if !ok {
			continue // the generic decoder answers
		}
		want, err := decode([]byte(payload))
		if err != nil {
			t.Fatalf("v1=%v %s: the scanner accepted what the decoder refuses: %v", v1, payload, err)
		}
		if !sameProxyResponse(got, want) {
			t.Fatalf("v1=%v %s:\n scanned %+v\n decoded %+v", v1, payload, got, want)
		}
	}
}

// TestScanProxyResponseMatchesDecoder: what the scanner accepts, it decodes as
// the generic decoder does; and it does accept the usual shape.
func TestScanProxyResponseMatchesDecoder(t *testing.T) {
	for _, p := range proxyResults {
		checkScanMatches(t, p)
	}
	for _, p := range proxyResults[:4] {
		if _, ok := scanProxyResponse([]byte(p), true); !ok {
			t.Errorf("the scanner left the usual shape %s to the generic decoder", p)
		}
	}
	for _, p := range []string{`{"statusCode":200,"extra":1}`, `{"statusCode":200,"cookies":["a=1"]}`, `{"statusCode":null}`, `{"body":"x","extra":1}`} {
		if _, err := parseProxyResponseV1([]byte(p)); err == nil {
			t.Errorf("payload 1.0 accepted %s", p)
		}
	}
}

// TestProxyResponseV1WithoutStatusCode: a payload 1.0 result without a
// statusCode is a 200, as API Gateway answers it, by the scanner and the
// decoder alike.
func TestProxyResponseV1WithoutStatusCode(t *testing.T) {
	for payload, body := range map[string]string{`{}`: "", `{"body":"nostatus"}`: "nostatus",
		`{"headers":{"X-A":"1"},"body":"h"}`: "h", `{"isBase64Encoded":true,"body":"aGk="}`: "hi"} {
		for name, parse := range map[string]func([]byte) (*proxyResponse, error){"parse": parseProxyResponseV1, "decode": decodeProxyResponseV1} {
			resp, err := parse([]byte(payload))
			if err != nil {
				t.Fatalf("%s %s: %v", name, payload, err)
			}
			if resp.status != 200 || string(resp.body) != body {
				t.Errorf("%s %s: status %d body %q, want 200 %q", name, payload, resp.status, resp.body, body)
			}
		}
	}
}

func FuzzScanProxyResponse(f *testing.F) {
	for _, p := range proxyResults {
		f.Add(p)
	}
	f.Fuzz(checkScanMatches)
}

// jsonStringSeeds are JSON strings with every escape, surrogate pairs, lone
// and reversed surrogates, a surrogate before a non-\u escape, and invalid
// UTF-8.
var jsonStringSeeds = []string{`""`, `"plain"`, `"q\"b\\s\/"`, `"\b\f\n\r\t"`, `"\u00e9\u0041\u20AC"`, `"\ud83d\ude00"`,
	`"\ud83d"`, `"\ude00\ud83d"`, `"\ud83d\n"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, "\"caf\xc3\xa9\"",
	"\"bad \xff\xfe \xc3\"", "\"\xe2\x80\"", `"x\u0000y"`, `"\uDBFF\uDFFF"`}

func checkJSONString(t *testing.T, raw string) {
	t.Helper()
	var want string
	if err := json.Unmarshal([]byte(raw), &want); err != nil || !strings.HasPrefix(strings.TrimSpace(raw), `"`) {
		return // not a JSON string
	}
	raw = strings.TrimSpace(raw)
	if got := jsonStringBytes([]byte(raw)); string(got) != want {
		t.Fatalf("jsonStringBytes(%s) = %q, want %q", raw, got, want)
	}
}

// TestJSONStringBytesMatchesDecoder: strings decode as encoding/json decodes
// them.
func TestJSONStringBytesMatchesDecoder(t *testing.T) {
	for _, s := range jsonStringSeeds {
		checkJSONString(t, s)
	}
}

func FuzzJSONStringBytes(f *testing.F) {
	for _, s := range jsonStringSeeds {
		f.Add(s)
	}
	f.Fuzz(checkJSONString)
}

// BenchmarkScanProxyResponse measures the usual result's fast decode.
func BenchmarkScanProxyResponse(b *testing.B) {
	p := []byte(`{"statusCode":200,"headers":{"Content-Type":"application/json","X-Request-Id":"abc"},"multiValueHeaders":null,"body":"{\"message\":\"hello\"}"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := scanProxyResponse(p, true); !ok {
			b.Fatal("not scanned")
		}
	}
}
