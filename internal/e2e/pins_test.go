package e2e_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/clock"
)

// TestAnotherInstallationLeavesPinsAlone is the data loss the black-box tester
// found on containerd: server A publishes a version of an Image function (its
// image pinned by id) and the tag moves on; server B, another installation on
// the same daemon (a fresh data directory), starts, and its code collection,
// finding no function or version of its own using A's pin, removed it; A's
// version then failed its next cold start with a 503. B's collection runs here
// with its clock an hour ahead, so that A's pin is old enough to be collected
// if B took it for its own. On docker, where nothing is pinned, it checks the
// same story end to end.
func TestAnotherInstallationLeavesPinsAlone(t *testing.T) {
	for _, rt := range containerRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			rt.require(t)
			im := newImages(t, rt.name) // cleaned up after the servers stop
			dirA := t.TempDir()
			sweepInstance(t, rt.name, dirA)
			a := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dirA})
			c := sdk(a.AdminURL)

			name := "hello-pins"
			ref := "portico-e2e/hello:" + randHex(6)
			im.build(a.AdminURL, ref)
			createFunction(t, c, &lambda.CreateFunctionInput{
				FunctionName: aws.String(name),
				Role:         aws.String("arn:aws:iam::000000000000:role/any"),
				PackageType:  types.PackageTypeImage,
				Code:         &types.FunctionCode{ImageUri: aws.String(ref)},
			})
			v := publishWithAlias(t, c, name)
			got, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String(v)})
			if err != nil {
				t.Fatalf("GetFunction %s:%s: %v", name, v, err)
			}
			pinned := pinnedID(t, "version "+v, ref, aws.ToString(got.Code.ResolvedImageUri))
			im.pinned(dirA, pinned)
			im.build(a.AdminURL, ref, "ENV GREETING=rebuilt") // the tag moves on

			dirB := t.TempDir()
			sweepInstance(t, rt.name, dirB)
			var svcB *functions.Service
			b := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dirB, Populate: []any{&svcB}})
			svcB.SetClock(clock.NewFake(time.Now().Add(time.Hour)))
			if _, err := svcB.CollectCode(t.Context(), 0); err != nil {
				t.Fatalf("B's code collection: %v", err)
			}
			b.Stop()

			a.Restart() // the version's next sandbox is a cold start from its pinned image
			if g := invokeHello(t, sdk(a.AdminURL), name+":"+v); g.FunctionVersion != v || g.Greeting != "" {
				t.Errorf("%s:%s after another installation's collection answered %+v, want version %s on its pinned image", name, v, g, v)
			}
		})
	}
}
