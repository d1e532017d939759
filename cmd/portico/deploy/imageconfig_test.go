package deploy

import (
	"errors"
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

// TestImageRebuiltUnderSameTag: an image rebuilt under the tag the template
// names is new code, though no property changed. As CloudFormation resolves
// an ImageUri by tag to its digest at each deploy, the deploy resolves it
// through the server (here the fake's resolver), compares it with what the
// function and its alias's version run, and updates, publishes and points the
// alias when it differs, saying so in the plan; unchanged, nothing happens.
func TestImageRebuiltUnderSameTag(t *testing.T) {
	dir := fixture(t)
	text := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Img:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: portico-samples/hello:latest
      AutoPublishAlias: live
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: portico-samples/other:latest
`
	const (
		ref     = "portico-samples/hello:latest"
		other   = "portico-samples/other:latest"
		old     = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
		rebuilt = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	)
	f := newFake()
	f.images[ref], f.images[other] = old, old
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	if p, err := deployText(t, f, dir, "s", text, nil); err != nil || len(f.mutating()) != 0 {
		t.Fatalf("the same image again: calls %v, err %v, plan %+v", f.mutating(), err, p.Changes)
	}

	f.images[ref], f.images[other] = rebuilt, rebuilt
	f.calls = nil
	p, err := deployText(t, f, dir, "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PutFunction s-Img", "PublishVersion s-Img", "PutFunction s-Plain", "SetAlias s-Img:live=2"}
	if got := f.mutating(); !reflect.DeepEqual(got, want) {
		t.Fatalf("rebuilt: calls = %v, want %v", got, want)
	}
	var printed strings.Builder
	p.Print(&printed)
	for _, line := range []string{
		"image portico-samples/hello:latest was rebuilt: it names sha256:222222222222 now (s-Img runs sha256:111111111111)",
		"image portico-samples/other:latest was rebuilt: it names sha256:222222222222 now (s-Plain runs sha256:111111111111)",
		"0 to create, 2 to update",
	} {
		if !strings.Contains(printed.String(), line) {
			t.Errorf("the plan does not say %q:\n%s", line, printed.String())
		}
	}
	if got := f.fns["s-Img"].pins["2"].ResolvedImage; got != rebuilt {
		t.Errorf("version 2 runs %s, want %s", got, rebuilt)
	}
	f.calls = nil
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil || len(f.mutating()) != 0 {
		t.Fatalf("after the update: calls %v, err %v", f.mutating(), err)
	}

	// $LATEST already runs the rebuilt image (updated by hand, or put back
	// by a failed deploy's rollback, which resolves the tag again), but the
	// alias still serves a version of the old one: the alias's is what counts.
	f.fns["s-Img"].pins["2"] = PinnedImage{ImageURI: ref, ResolvedImage: old}
	f.calls = nil
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	want = []string{"PutFunction s-Img", "PublishVersion s-Img", "SetAlias s-Img:live=3"}
	if got := f.mutating(); !reflect.DeepEqual(got, want) {
		t.Fatalf("alias behind $LATEST: calls = %v, want %v", got, want)
	}

	// A server that cannot resolve the reference: a warning, nothing changed.
	f.imageErr = errors.New("no Docker daemon")
	f.calls = nil
	p, err = deployText(t, f, dir, "s", text, nil)
	if err != nil || len(f.mutating()) != 0 {
		t.Fatalf("unresolvable: calls %v, err %v", f.mutating(), err)
	}
	if len(p.Warnings) != 2 || !strings.Contains(p.Warnings[0], "Img: could not resolve image portico-samples/hello:latest") || !strings.Contains(p.Warnings[0], "no Docker daemon") {
		t.Errorf("warnings = %q", p.Warnings)
	}
}
