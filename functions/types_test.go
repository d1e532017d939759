package functions

import (
	"strings"
	"testing"
)

// TestResolvedImageURI: an Image function's Code.ResolvedImageUri reads as
// Lambda's, REPOSITORY@sha256:DIGEST, the repository as the function names it
// without its tag or digest; before, it was the bare image id.
func TestResolvedImageURI(t *testing.T) {
	id := "sha256:" + strings.Repeat("ab", 32)
	other := "sha256:" + strings.Repeat("cd", 32)
	for _, tc := range []struct {
		name, uri, pin, want string
	}{
		{"tag", "hello:latest", id, "hello@" + id},
		{"no tag", "hello", id, "hello@" + id},
		{"registry with a port", "registry.example:5000/team/fn:v1", id, "registry.example:5000/team/fn@" + id},
		{"registry with a port, no tag", "registry.example:5000/team/fn", id, "registry.example:5000/team/fn@" + id},
		{"ECR", "123456789012.dkr.ecr.us-east-1.amazonaws.com/fn:1", id, "123456789012.dkr.ecr.us-east-1.amazonaws.com/fn@" + id},
		{"by digest", "hello@" + other, id, "hello@" + id},
		{"tag and digest", "hello:1@" + other, id, "hello@" + id},
		{"an image id", id, id, id},
		{"not pinned", "hello:1", "", ""},
		{"pinned to a reference (no resolver)", "hello:1", "hello:1", "hello:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{PackageType: PackageImage, ImageURI: tc.uri, ResolvedImage: tc.pin}
			if got := c.ResolvedImageURI(); got != tc.want {
				t.Errorf("ResolvedImageURI of %q pinned to %q = %q, want %q", tc.uri, tc.pin, got, tc.want)
			}
		})
	}
}
