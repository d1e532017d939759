package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestSandboxUserThroughServer checks the non-root rule and the operator's
// opt-out from a server's settings to a sandbox, on each container runtime: a
// Zip function runs as Lambda's sbx_user1051 (993:990) by default, and as root
// only under sandbox-allow-root.
func TestSandboxUserThroughServer(t *testing.T) {
	for _, rt := range containerRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			rt.require(t)
			zip := apptest.ZipProgram(t, "./runtimes/runtimetest/testdata/sandbox")
			for _, c := range []struct {
				name      string
				allowRoot bool
				uid, gid  int
			}{
				{"default", false, 993, 990},
				{"sandbox-allow-root", true, 0, 0},
			} {
				t.Run(c.name, func(t *testing.T) {
					dataDir := t.TempDir()
					sweepInstance(t, rt.name, dataDir)
					env := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dataDir,
						Settings: func(s *app.Settings) { s.SandboxAllowRoot = c.allowRoot }})
					cl := sdk(env.AdminURL)
					createFunction(t, cl, zipFunction("whoami", zip))
					out, err := cl.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("whoami"), Payload: []byte(`{"op":"identity"}`)})
					if err != nil {
						t.Fatalf("Invoke: %v", err)
					}
					if out.FunctionError != nil {
						t.Fatalf("Invoke: function error %s: %s", aws.ToString(out.FunctionError), out.Payload)
					}
					var id struct{ UID, EUID, GID, EGID int }
					if err := json.Unmarshal(out.Payload, &id); err != nil {
						t.Fatalf("Invoke answered %s: %v", out.Payload, err)
					}
					if id.UID != c.uid || id.EUID != c.uid || id.GID != c.gid || id.EGID != c.gid {
						t.Errorf("the sandbox runs as uid %d (effective %d) gid %d (effective %d), want %d:%d",
							id.UID, id.EUID, id.GID, id.EGID, c.uid, c.gid)
					}
				})
			}
		})
	}
}

// TestImageOnlyRootMayRead checks an Image function whose bootstrap only root
// may read and run (mode 0700, as an image built without care can hold it):
// the non-root sandbox cannot start it, and the caller is told why and what
// to do (Runtime.InvalidEntrypoint), as Lambda asks images to hold files every
// user may read.
func TestImageOnlyRootMayRead(t *testing.T) {
	for _, rt := range containerRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			rt.require(t)
			im := newImages(t, rt.name)
			im.mode = 0o700
			dataDir := t.TempDir()
			sweepInstance(t, rt.name, dataDir)
			env := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dataDir})
			cl := sdk(env.AdminURL)
			ref := "portico-e2e/rootonly:" + randHex(6)
			im.build(env.AdminURL, ref)
			createFunction(t, cl, &lambda.CreateFunctionInput{
				FunctionName: aws.String("rootonly"),
				Role:         aws.String("arn:aws:iam::000000000000:role/any"),
				PackageType:  types.PackageTypeImage,
				Code:         &types.FunctionCode{ImageUri: aws.String(ref)},
			})
			out, err := cl.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("rootonly"), Payload: []byte(`{}`)})
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			var doc struct{ ErrorType, ErrorMessage string }
			if err := json.Unmarshal(out.Payload, &doc); err != nil || aws.ToString(out.FunctionError) != "Unhandled" {
				t.Fatalf("Invoke answered function error %q, %s (%v), want Unhandled", aws.ToString(out.FunctionError), out.Payload, err)
			}
			if doc.ErrorType != "Runtime.InvalidEntrypoint" || !strings.Contains(doc.ErrorMessage, "exit status 126") ||
				!strings.Contains(doc.ErrorMessage, "chmod 0755") {
				t.Errorf("Invoke answered %s, want Runtime.InvalidEntrypoint saying exit status 126 and chmod 0755", out.Payload)
			}
		})
	}
}
