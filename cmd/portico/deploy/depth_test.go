package deploy

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplateDepthBounded: deeply nested intrinsic functions cost time and
// memory growing faster than their depth (3 s and 125 MB for 1000 nested
// !Join), and past about 4000 the template was refused as "invalid JSON ...
// exceeded max depth", for a YAML file, naming no limit. The nesting is
// bounded first, with an error naming the limit, the line and the format.
func TestTemplateDepthBounded(t *testing.T) {
	dir := fixture(t)
	head := "Transform: AWS::Serverless-2016-10-31\nResources:\n  Hello:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: hello\n      Runtime: provided.al2023\n      Handler: bootstrap\n      Description: "
	yamlJoins := func(n int) string {
		return head + strings.Repeat(`!Join ["", [`, n) + `"x"` + strings.Repeat("]]", n) + "\n"
	}
	jsonJoins := func(n int) string {
		return `{"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Hello": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "hello", "Runtime": "provided.al2023", "Handler": "bootstrap", "Description": ` +
			strings.Repeat(`{"Fn::Join": ["", [`, n) + `"x"` + strings.Repeat("]]}", n) + "}}}}"
	}
	path := filepath.Join(dir, "template.yaml")
	if _, err := Parse(path, []byte(yamlJoins(40)), Options{}); err != nil {
		t.Fatalf("40 nested !Join: %v", err)
	}
	for _, c := range []struct{ text, format string }{
		{yamlJoins(150), "YAML"}, {yamlJoins(3000), "YAML"}, {jsonJoins(100), "JSON"}, {jsonJoins(3000), "JSON"},
	} {
		_, err := Parse(path, []byte(c.text), Options{})
		if err == nil || !strings.Contains(err.Error(), "more than 200 levels deep, the most Portico reads; this "+c.format+" nests deeper") {
			t.Errorf("%s of %d bytes: err = %v, want the depth limit named", c.format, len(c.text), err)
		}
	}
}
