package restevent

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/internal/wirenames"
	"github.com/portico-dev/portico/gateway/pipeline"
)

func TestTraceID(t *testing.T) {
	got := TraceID(time.Unix(0x5f0a1b2c, 0), "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
	if want := "Root=1-5f0a1b2c-0f1e2d3c4b5a69788796a5b4"; got != want {
		t.Errorf("TraceID = %q, want %q", got, want)
	}
	// Any other id (a WebSocket one, base64; one too short) is hashed into
	// the 24 hex digits X-Ray needs, the same for every call of the request.
	xray := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	for _, id := range []string{"ytyxig2U9ajeuNs=", "e6/Eryljok9v3A==", "ab-cd", "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", ""} {
		got := TraceID(time.Unix(0x1f, 0), id)
		if !xray.MatchString(got) || !strings.HasPrefix(got, "Root=1-0000001f-") {
			t.Errorf("TraceID of %q = %q, not X-Ray's shape", id, got)
		}
		if again := TraceID(time.Unix(0x1f, 0), id); again != got {
			t.Errorf("TraceID of %q: %q then %q", id, got, again)
		}
	}
	if a, b := TraceID(time.Unix(0x1f, 0), "ytyxig2U9ajeuNs="), TraceID(time.Unix(0x1f, 0), "oJP/5hR9AQWpuLM="); a == b {
		t.Errorf("two WebSocket request ids, one trace id %q", a)
	}
	if n := testing.AllocsPerRun(100, func() { _ = TraceID(time.Unix(0x1f, 0), "ytyxig2U9ajeuNs=") }); n > 1 {
		t.Errorf("TraceID of a WebSocket id: %v allocations, want 1", n)
	}
}

// TestIdentityJSON: requestContext.identity has every field of API Gateway's,
// an absent one null, as AWS's examples and aws-lambda-go's fixture show them;
// aws-lambda-go decodes it.
func TestIdentityJSON(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("User-Agent", "curl/8 <x>")
	anon := IdentityOf(r, &pipeline.Identity{SourceIP: "10.0.0.1"})
	got, err := json.Marshal(anon)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cognitoIdentityPoolId":null,"accountId":null,"cognitoIdentityId":null,"caller":null,"apiKey":null,"apiKeyId":null,` +
		`"accessKey":null,"sourceIp":"10.0.0.1","principalOrgId":null,"cognitoAuthenticationType":null,` +
		`"cognitoAuthenticationProvider":null,"userArn":null,"userAgent":"curl/8 \u003cx\u003e","user":null,"clientCert":null}`
	if string(got) != want {
		t.Errorf("anonymous identity\n got %s\nwant %s", got, want)
	}
	signed := IdentityOf(r, &pipeline.Identity{SourceIP: "10.0.0.1", APIKey: "k", APIKeyID: "kid", AccessKey: "AKIA",
		AccountID: "123456789012", Caller: "c", User: "u", UserARN: "arn:aws:iam::123456789012:user/u"})
	raw, err := signed.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var dec events.APIGatewayRequestIdentity
	if err := json.Unmarshal(raw, &dec); err != nil {
		t.Fatal(err)
	}
	if dec.APIKey != "k" || dec.APIKeyID != "kid" || dec.AccessKey != "AKIA" || dec.AccountID != "123456789012" || dec.Caller != "c" ||
		dec.User != "u" || dec.UserArn != "arn:aws:iam::123456789012:user/u" || dec.UserAgent != "curl/8 <x>" || dec.SourceIP != "10.0.0.1" {
		t.Errorf("decoded %+v from %s", dec, raw)
	}
}

// TestHeadersSpelling: the client's spelling over HTTP/1.1 on REST APIs,
// lower case over HTTP/2, canonical on HTTP APIs; API Gateway's spelling of
// the headers it adds.
func TestHeadersSpelling(t *testing.T) {
	r := httptest.NewRequest("GET", "http://h.example/x", nil)
	r.Header["Auth"] = []string{"a", "b"}
	r.RemoteAddr = "10.0.0.2:1234"
	r = r.WithContext(wirenames.With(r.Context(), wirenames.Names{"auth", "x-forwarded-for"}))
	names := func(hs []Header) map[string]string {
		m := map[string]string{}
		for i := range hs {
			m[hs[i].Name] = hs[i].Last()
		}
		return m
	}
	when, uuid := time.Unix(0x5f0a1b2c, 0), "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	rest := names(Headers(nil, r, when, uuid, Spelling(r, true)))
	if rest["auth"] != "b" || rest["Host"] != "h.example" || rest["X-Forwarded-For"] != "10.0.0.2" ||
		rest["X-Amzn-Trace-Id"] != "Root=1-5f0a1b2c-0f1e2d3c4b5a69788796a5b4" || rest["X-Forwarded-Proto"] != "http" {
		t.Errorf("REST headers %v", rest)
	}
	if http := names(Headers(nil, r, when, uuid, Spelling(r, false))); http["Auth"] != "b" {
		t.Errorf("HTTP API headers %v", http)
	}
	r.ProtoMajor = 2
	if h2 := names(Headers(nil, r, when, uuid, Spelling(r, true))); h2["auth"] != "b" || h2["Host"] == "" {
		t.Errorf("HTTP/2 headers %v", h2)
	}
}
