package deploy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/functions"
)

// TestImageConfig: an Image function's ImageConfig is deployed with it (and
// sent to the Lambda API with its configuration); a change publishes a new
// version, and removing it sends an empty ImageConfig, which takes it off.
func TestImageConfig(t *testing.T) {
	dir := fixture(t)
	text := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Img:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: portico-samples/hello:v1
      AutoPublishAlias: live
      ImageConfig:
        EntryPoint: [/var/task/bootstrap]
        Command: [serve]
        WorkingDirectory: /var/task
`
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	want := &functions.ImageConfig{EntryPoint: []string{"/var/task/bootstrap"}, Command: []string{"serve"}, WorkingDirectory: "/var/task"}
	fn := f.fns["s-Img"].latest
	if !reflect.DeepEqual(fn.ImageConfig, want) {
		t.Fatalf("ImageConfig = %+v, want %+v", fn.ImageConfig, want)
	}
	if got := functionConfig(fn)["ImageConfig"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("the configuration sent holds ImageConfig %+v, want %+v", got, want)
	}
	f.calls = nil
	if _, err := deployText(t, f, dir, "s", strings.Replace(text, "Command: [serve]", "Command: [other]", 1), nil); err != nil {
		t.Fatal(err)
	}
	if got, want := f.mutating(), []string{"PutFunction s-Img", "PublishVersion s-Img", "SetAlias s-Img:live=2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	f.calls = nil
	noConfig := text[:strings.Index(text, "      ImageConfig:")]
	if _, err := deployText(t, f, dir, "s", noConfig, nil); err != nil {
		t.Fatal(err)
	}
	fn = f.fns["s-Img"].latest
	if fn.ImageConfig != nil || !reflect.DeepEqual(functionConfig(fn)["ImageConfig"], &functions.ImageConfig{}) {
		t.Fatalf("without ImageConfig: %+v, sent %+v; want none, sent empty", fn.ImageConfig, functionConfig(fn)["ImageConfig"])
	}
	if len(f.mutating()) == 0 {
		t.Fatal("removing ImageConfig changed nothing")
	}
}
