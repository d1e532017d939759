package apis

import (
	"encoding/json"
	"testing"
)

// TestJSONValueErrorWordsTypes: a value of the wrong type is named by its
// place in the document (map keys and indexes too) and the type it must
// have, in the document's terms, with no Go type name.
func TestJSONValueErrorWordsTypes(t *testing.T) {
	type cors struct {
		AllowOrigins []string `json:"allowOrigins"`
		MaxAge       *int     `json:"maxAge"`
		Credentials  bool     `json:"allowCredentials"`
	}
	type resp struct {
		Templates map[string]string `json:"responseTemplates"`
	}
	for name, tc := range map[string]struct {
		raw  string
		v    any
		want string
	}{
		"list from string": {`{"allowOrigins": "*"}`, &cors{}, `x.allowOrigins must be a list of strings, not a string`},
		"int from string":  {`{"allowOrigins": ["*"], "maxAge": "x"}`, &cors{}, `x.maxAge must be an integer, not a string`},
		"bool":             {`{"allowCredentials": "true"}`, &cors{}, `x.allowCredentials must be true or false, not a string`},
		"whole":            {`[1]`, &cors{}, `x must be an object, not a list`},
		"map key":          {`{"DEFAULT_4XX": {"responseTemplates": {"a": "b"}}, "DEFAULT_5XX": 5}`, &map[string]resp{}, `x.DEFAULT_5XX must be an object, not a number`},
		"nested map key":   {`{"D": {"responseTemplates": {"application/json": {"a": 1}}}}`, &map[string]resp{}, `x.D.responseTemplates["application/json"] must be a string, not an object`},
		"list index":       {`{"allowOrigins": ["a", 2]}`, &cors{}, `x.allowOrigins[1] must be a string, not a number`},
		"overflow":         {`{"maxAge": 1e99}`, &cors{}, `x.maxAge must be an integer, not a number (1e99)`},
		"map of objects":   {`"s"`, &map[string]resp{}, `x must be an object of objects, not a string`},
	} {
		t.Run(name, func(t *testing.T) {
			err := JSONValueError("x", []byte(tc.raw), json.Unmarshal([]byte(tc.raw), tc.v))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}
