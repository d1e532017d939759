package gateway

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/validate"
	"github.com/portico-dev/portico/invoker"
)

// TestDenseJSONBodyMemoryIsBounded: a 9 MB request body of 3 million empty
// objects (under the 10 MB payload limit), sent to a method whose request
// template reads it with $input.json or whose validator checks it against a
// model, is refused with a 400 in API Gateway's shape, and the request
// allocates a few times the body, not the 300-590 MB (35-65 times) that
// decoding it in full took.
func TestDenseJSONBodyMemoryIsBounded(t *testing.T) {
	e := newEnv(t)
	e.gw.Use(validate.New(nil))
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(`{}`)}, nil
	}
	fn := func(tmpl map[string]string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationAWS, URI: "function:hello", RequestTemplates: tmpl}
	}
	a := &apis.API{Name: "dense", Protocol: apis.ProtocolREST, Definition: apis.Definition{
		Models:            petModels,
		RequestValidators: map[string]apis.RequestValidator{"body": {ValidateRequestBody: true}},
		GatewayResponses: map[string]apis.GatewayResponse{"BAD_REQUEST_BODY": {ResponseTemplates: map[string]string{
			"application/json": `{"message": $context.error.messageString, "detail": "$context.error.validationErrorString"}`}}},
		Routes: []apis.Route{
			{Method: "POST", Path: "/template", Integration: fn(map[string]string{"application/json": `{"first": $input.json("$[0]")}`})},
			{Method: "POST", Path: "/validated", Integration: fn(nil), RequestValidator: "body",
				RequestModels: map[string]string{"application/json": "Pet"}},
		},
	}}
	id := e.deploy(a, "dev", nil)
	base := "/" + id + "/dev"
	dense := []byte("[" + strings.Repeat("{},", 3_000_000) + "{}]")

	for _, c := range []struct{ path, message, detail string }{
		{"/template", "Could not parse request body into json", ""},
		{"/validated", "Invalid request body", "more than 524288 JSON values"},
	} {
		t.Run(c.path, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := e.do("POST", base+c.path, bytes.NewReader(dense))
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: body %d bytes, allocated %d bytes (%.1fx): %d %s", c.path, len(dense), alloc, float64(alloc)/float64(len(dense)), r.status, r.body)
			var got struct{ Message, Detail string }
			if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 400 || got.Message != c.message ||
				!strings.Contains(got.Detail, c.detail) {
				t.Errorf("%d %q, want 400 %q with a detail containing %q", r.status, r.body, c.message, c.detail)
			}
			// The body is read and copied a few times (the client's and
			// the server's buffers); decoding adds at most about
			// MaxHeldBytes (templates) or 80 MB (validators); the race
			// detector allocates too.
			if limit := uint64(16 * len(dense)); alloc > limit {
				t.Errorf("one request allocated %d bytes for a %d-byte body, want at most %d", alloc, len(dense), limit)
			}
		})
	}
	// An ordinary body passes both.
	if r := e.do("POST", base+"/template", strings.NewReader(`[{"a": 1}]`)); r.status != 200 {
		t.Errorf("template, small body: %d %q", r.status, r.body)
	}
	if r := e.do("POST", base+"/validated", strings.NewReader(`{"name": "rex", "tags": [`+strings.Repeat(`"t",`, 100_000)+`"t"]}`)); r.status != 200 {
		t.Errorf("validated, 100,000 values: %d %q", r.status, r.body)
	}
	// A body nested deeper than the decoder goes, with few values, is
	// refused with a detail that names the bound; 10000 levels are decoded
	// (and fail the model, which wants an object): the bound is the decoder's.
	for _, c := range []struct {
		depth  int
		detail string
	}{
		{10001, "[the body nests JSON arrays and objects more than 10000 levels deep, more than a request validator checks]"},
		{10000, "[/: got array, want object]"},
	} {
		deep := strings.Repeat("[", c.depth) + strings.Repeat("]", c.depth)
		r := e.do("POST", base+"/validated", strings.NewReader(deep))
		var got struct{ Message, Detail string }
		if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 400 || got.Message != "Invalid request body" || got.Detail != c.detail {
			t.Errorf("nested %d deep: %d %q, want 400 with the detail %q", c.depth, r.status, r.body, c.detail)
		}
	}
}
