package openapi

import (
	"strings"
	"testing"
)

// TestJSONDocumentIsReadAsJSONOnly: a document that starts with { or [ (after
// white space and a BOM) is JSON: a trailing comma, a comment, single quotes
// or NaN are refused (they imported through the YAML fallback), and a JSON
// mistake is named in JSON's words with where it is (r-openapi24 #3). A
// BOM-prefixed valid document and YAML documents still import.
func TestJSONDocumentIsReadAsJSONOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, doc, want string }{
		{"trailing comma", `{"openapi":"3.0.1","info":{"title":"t","version":"1"},"paths":{},}`, "not valid JSON: line 1, column 66 (byte 66): invalid character '}' looking for beginning of object key string"},
		{"comment", "{\"openapi\":\"3.0.1\",\"info\":{\"title\":\"c\",\"version\":\"1\"}, # hi\n\"paths\":{}}", "not valid JSON: line 1, column 56"},
		{"single quotes", `{'openapi':'3.0.1','info':{'title':'s','version':'1'},'paths':{}}`, "not valid JSON: line 1, column 2"},
		{"NaN", `{"openapi":"3.0.1","info":{"title":"n","version":"1"},"x-n": NaN, "paths":{}}`, "invalid character 'N'"},
		{"cut short", "\n  {\"openapi\":\"3.0.1\",\"info\":{\"title\":\"bad\",", "not valid JSON: line 2, column 43 (byte 44): unexpected end of JSON input"},
		{"two values", `{"openapi":"3.0.1","info":{"title":"t","version":"1"},"paths":{}} {}`, "more after the end of the top-level value"},
		{"BOM", "\ufeff" + `{"openapi":"3.0.1","info":{"title":"bom","version":"1"},"paths":{}}`, ""},
		{"YAML", "openapi: 3.0.1\ninfo: {title: y, version: '1'}\npaths: {}\n", ""},
	} {
		_, err := Import(t.Context(), []byte(tc.doc), Options{})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want imported", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestYAMLNumbersKeepTheirText: an unquoted YAML number keeps the text it was
// written with: version 1.10 is "1.10" (it was "1.1"; 1.0 was "1"), and a
// model's integer past 64 bits keeps its digits (r-openapi24 #4).
func TestYAMLNumbersKeepTheirText(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"1.10", "1.0", "2"} {
		res, err := Import(t.Context(), []byte("openapi: 3.0.1\ninfo: {title: v, version: "+v+"}\npaths: {}\n"), Options{})
		if err != nil || res.API.Version != v {
			t.Errorf("version: %s: %+v %v, want %q", v, res, err, v)
		}
	}
	doc := "openapi: 3.0.1\ninfo: {title: big, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    N: {type: integer, minimum: -12345678901234567890123, maximum: 1.50}\n"
	res, err := Import(t.Context(), []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.API.Models["N"]); !strings.Contains(got, "-12345678901234567890123") || !strings.Contains(got, "1.50") {
		t.Errorf("model N: %s, want its numbers as written", got)
	}
}
