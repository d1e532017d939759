package openapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// TestImportJSONDuplicateKeyRefused: a JSON document with a key twice in one
// object is refused naming the key and the object, as the same document in
// YAML is; before, the last value won silently, so a second, empty security
// hid the operation's API key requirement and a second path dropped the
// first's operations.
func TestImportJSONDuplicateKeyRefused(t *testing.T) {
	const integ = `"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"},"responses":{"default":{"statusCode":"200"}}}`
	for name, tc := range map[string]struct{ doc, want string }{
		"security": {`{"openapi":"3.0.1","info":{"title":"dupsec","version":"1"},
 "components":{"securitySchemes":{"api_key":{"type":"apiKey","name":"x-api-key","in":"header"}}},
 "paths":{"/a":{"get":{"security":[{"api_key":[]}],` + integ + `,"security":[]}}}}`,
			`JSON object at /paths/~1a/get has the key "security" twice`},
		"path": {`{"openapi":"3.0.1","info":{"title":"p","version":"1"},
 "paths":{"/a":{"get":{` + integ + `}},"/a":{"post":{` + integ + `}}}}`,
			`JSON object at /paths has the key "/a" twice`},
		"escaped": {`{"openapi":"3.0.1","info":{"title":"p","version":"1"},"\u006fpenapi":"3.0.2","paths":{}}`,
			`JSON object at / has the key "openapi" twice`},
		"utf8": {"{\"openapi\":\"3.0.1\",\"info\":{\"title\":\"t\xff\xfe\",\"version\":\"1\"},\"paths\":{}}",
			`JSON is not valid UTF-8 at byte offset 37`},
	} {
		for _, proto := range []string{"REST", "HTTP"} {
			_, err := Import(t.Context(), []byte(tc.doc), Options{Protocol: proto})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, errdefs.ErrInvalid) {
				t.Errorf("%s %s: %v, want an invalid-input error containing %q", name, proto, err, tc.want)
			}
		}
	}
	// The document without the duplicate imports, with its key required.
	ok := `{"openapi":"3.0.1","info":{"title":"dupsec","version":"1"},
 "components":{"securitySchemes":{"api_key":{"type":"apiKey","name":"x-api-key","in":"header"}}},
 "paths":{"/a":{"get":{"security":[{"api_key":[]}],` + integ + `}}}}`
	res, err := Import(t.Context(), []byte(ok), Options{Protocol: "REST"})
	if err != nil {
		t.Fatalf("without the duplicate: %v", err)
	}
	if len(res.API.Routes) != 1 || !res.API.Routes[0].APIKeyRequired {
		t.Fatalf("routes %+v, want GET /a requiring an API key", res.API.Routes)
	}
}

// TestImportEmptyKeyNotDuplicate: an object with an empty key is no
// duplicate; each object's opening was read as a "" key, so any "" key was
// "twice". An integration whose responses name the default response twice,
// as "default" and "", is refused saying that.
func TestImportEmptyKeyNotDuplicate(t *testing.T) {
	const doc = `{"openapi":"3.0.1","info":{"title":"t","version":"1"},"paths":{"/m":{"get":{"responses":{"200":{"description":"ok"}},
 "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},"responses":%s}}}}}`
	_, err := Import(t.Context(), []byte(strings.Replace(doc, "%s", `{"default":{"statusCode":"200"},"":{"statusCode":"200"}}`, 1)), Options{Protocol: "REST"})
	if err == nil || strings.Contains(err.Error(), "twice") || !strings.Contains(err.Error(), `integration responses "default" and "" both name the default response`) || !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("default and \"\": %v; want the default response named twice", err)
	}
	if err := apis.CheckStrictJSON([]byte(`{"":{"":1},"a":{"b":{},"":[]}}`)); err != nil {
		t.Errorf("empty keys: %v", err)
	}
	if err := apis.CheckStrictJSON([]byte(`{"a":{"":1,"":2}}`)); err == nil || !strings.Contains(err.Error(), `the key "" twice`) {
		t.Errorf("an empty key twice: %v", err)
	}
}

// TestImportDeadRequestTemplateKeysWarn: a REST request template keyed by a
// media type with parameters or a wildcard is never selected (the request's
// media type is matched alone): the import says so, naming the key.
func TestImportDeadRequestTemplateKeysWarn(t *testing.T) {
	const doc = `{"openapi":"3.0.1","info":{"title":"t","version":"1"},"paths":{"/m":{"post":{"responses":{"200":{"description":"ok"}},
 "x-amazon-apigateway-integration":{"type":"mock","passthroughBehavior":"never","requestTemplates":{"application/json; charset=UTF-8":"{\"statusCode\": 200}","text/*":"{\"statusCode\": 200}","Application/XML":"{\"statusCode\": 200}"},"responses":{"default":{"statusCode":"200"}}}}}}}`
	res, err := Import(t.Context(), []byte(doc), Options{Protocol: "REST"})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(res.Warnings, "\n")
	for _, want := range []string{`requestTemplates["application/json; charset=UTF-8"] is never selected`, `key it "application/json"`, `requestTemplates["text/*"] is never selected: wildcards are not matched`} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings do not say %q:\n%s", want, w)
		}
	}
	if strings.Contains(w, "Application/XML") {
		t.Errorf("upper case is matched, yet warned of:\n%s", w)
	}
}
