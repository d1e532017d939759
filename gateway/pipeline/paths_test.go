package pipeline

import (
	"maps"
	"testing"
)

func TestStagePath(t *testing.T) {
	for _, tc := range []struct {
		c    Context
		want string
	}{
		{Context{Stage: "dev", StagePrefix: "/abcdefghij/dev", Path: "/pets/a%20b"}, "/dev/pets/a%20b"},
		{Context{Stage: "dev", StagePrefix: "/dev", Path: "/"}, "/dev/"},
		{Context{Stage: "$default", StagePrefix: "/abcdefghij", Path: "/pets"}, "/pets"},
		{Context{Stage: "prod", StagePrefix: "/v2", Path: "/pets", CustomDomain: true}, "/v2/pets"},
		{Context{Stage: "prod", StagePrefix: "", Path: "/pets", CustomDomain: true}, "/pets"},
	} {
		if got := tc.c.StagePath(); got != tc.want {
			t.Errorf("%+v: StagePath %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestPathParametersAsSent(t *testing.T) {
	for _, tc := range []struct {
		resource, path string
		decoded, want  map[string]string
	}{
		{"/items/{id}/{proxy+}", "/items/a%20b/c%2Fd/e", map[string]string{"id": "a b", "proxy": "c/d/e"}, map[string]string{"id": "a%20b", "proxy": "c%2Fd/e"}},
		{"/{proxy+}", "/x%3Fy", map[string]string{"proxy": "x?y"}, map[string]string{"proxy": "x%3Fy"}},
		{"/items/{id}", "/items/plain", map[string]string{"id": "plain"}, map[string]string{"id": "plain"}},
		// A template that does not line up: the decoded parameters.
		{"/items/{id}/{other}", "/items/a%20b", map[string]string{"id": "a b", "other": "x"}, map[string]string{"id": "a b", "other": "x"}},
		{"/items", "/items", nil, nil},
	} {
		c := Context{ResourcePath: tc.resource, Path: tc.path, PathParameters: tc.decoded}
		if got := c.PathParametersAsSent(); !maps.Equal(got, tc.want) {
			t.Errorf("%s %s: %v, want %v", tc.resource, tc.path, got, tc.want)
		}
	}
}

func TestMatchedPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/", "/"},
		{"/secret", "/secret"},
		{"/secret/", "/secret"},
		{"/%73ecret", "/secret"},
		{"/%73ecret/", "/secret"},
		{"/pets/a%20b", "/pets/a b"},
		{"/admin%2Fusers", "/admin%2Fusers"},
		{"/admin%2fusers/x", "/admin%2Fusers/x"},
		{"/bad%zzescape/%61", "/bad%zzescape/a"},
		{"/a//b", "/a//b"},
	} {
		if got := MatchedPath(tc.in); got != tc.want {
			t.Errorf("MatchedPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
