package deploy

import (
	"path/filepath"
	"testing"
)

// FuzzParseTemplate: no template, however malformed, panics or hangs the
// reader; it is read or refused with an error.
func FuzzParseTemplate(f *testing.F) {
	f.Add([]byte(twoFunctions))
	f.Add([]byte(httpAuth))
	f.Add([]byte("Transform: AWS::Serverless-2016-10-31\nResources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties:\n      X: !Sub [\"${a}\", {a: !Ref A}]\n"))
	f.Add([]byte(`{"Transform":"AWS::Serverless-2016-10-31","Resources":{"A":{"Type":"AWS::ApiGatewayV2::Api","Properties":{"Name":{"Fn::GetAtt":["A","ApiId"]}}}}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := Parse(filepath.Join(dir, "t.yaml"), data, Options{Stack: "s"})
		if err != nil {
			return
		}
		_, _ = Build(tpl)
	})
}
