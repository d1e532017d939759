package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/containerd"
	"github.com/portico-dev/portico/runtimes/docker"
	"github.com/portico-dev/portico/runtimes/process"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	apptest.Cleanup()
	os.Exit(code)
}

// containerRuntimes are the runtimes these tests run on, each with the helper that
// skips (or, with REQUIRE_DOCKER=1 / REQUIRE_CONTAINERD=1, fails) without its daemon.
var containerRuntimes = []struct {
	name    string
	require func(testing.TB)
}{
	{"docker", runtimetest.RequireDocker},
	{"containerd", runtimetest.RequireContainerd},
}

// sdk returns an AWS SDK Lambda client for an admin API.
func sdk(adminURL string) *lambda.Client {
	return lambda.New(lambda.Options{
		BaseEndpoint:     aws.String(adminURL),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("portico", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// greeting is what samples/hello answers, inside the proxy response body.
type greeting struct {
	Message         string `json:"message"`
	FunctionVersion string `json:"functionVersion"`
	Greeting        string `json:"greeting"`
}

// invokeHello invokes name (NAME[:QUALIFIER]) and decodes hello's answer.
func invokeHello(t *testing.T, c *lambda.Client, name string) greeting {
	t.Helper()
	out, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	if out.FunctionError != nil {
		t.Fatalf("Invoke %s: function error %s: %s", name, aws.ToString(out.FunctionError), out.Payload)
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	var g greeting
	if err := json.Unmarshal(out.Payload, &resp); err != nil || json.Unmarshal([]byte(resp.Body), &g) != nil {
		t.Fatalf("Invoke %s answered %s", name, out.Payload)
	}
	if g.Message != "hello from portico" {
		t.Fatalf("Invoke %s: message %q, want hello's", name, g.Message)
	}
	return g
}

// publishWithAlias publishes $LATEST as a version and points alias live at it.
// pinnedID returns the image id a Code.ResolvedImageUri names, failing t
// unless it reads as Lambda's, REPOSITORY@sha256:DIGEST, with ref's repository
// (ref without its tag); what says whose it is.
func pinnedID(t *testing.T, what, ref, resolved string) string {
	t.Helper()
	repo := ref[:strings.LastIndex(ref, ":")]
	id, ok := strings.CutPrefix(resolved, repo+"@")
	if !ok || !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("%s's ResolvedImageUri = %q, want %s@sha256:DIGEST", what, resolved, repo)
	}
	return id
}

func publishWithAlias(t *testing.T, c *lambda.Client, name string) string {
	t.Helper()
	v, err := c.PublishVersion(t.Context(), &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("PublishVersion %s: %v", name, err)
	}
	if _, err := c.CreateAlias(t.Context(), &lambda.CreateAliasInput{
		FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: v.Version,
	}); err != nil {
		t.Fatalf("CreateAlias %s live: %v", name, err)
	}
	return aws.ToString(v.Version)
}

// images builds the hello sample's image with samples/hello/Dockerfile through
// the Docker Engine API and makes it available to the server's runtime: as is
// for docker, through the admin API's image import of a `docker save` archive
// for containerd. Everything it makes is removed when the test ends.
type images struct {
	t       *testing.T
	runtime string
	mu      sync.Mutex
	ids     []string    // to remove from Docker
	names   []string    // to remove from containerd
	mode    os.FileMode // the bootstrap's mode in the image (0: 0755)
}

func newImages(t *testing.T, runtime string) *images {
	t.Helper()
	im := &images{t: t, runtime: runtime}
	t.Cleanup(im.cleanup)
	return im
}

// build builds ref from the sample's Dockerfile with extra lines appended, loads
// it into the server at adminURL when the runtime is containerd, and returns the
// Docker image id.
func (im *images) build(adminURL, ref string, extra ...string) string {
	t := im.t
	t.Helper()
	runtimetest.RequireDocker(t) // the Dockerfile is built by Docker, for both runtimes
	dir := t.TempDir()
	bin, err := os.ReadFile(filepath.Join(apptest.Sample(t, "hello"), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	mode := im.mode
	if mode == 0 {
		mode = 0o755
	}
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), bin, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "bootstrap"), mode); err != nil { // past the umask
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), "samples", "hello", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// A label of the test's own keeps its images apart from the same layers built
	// elsewhere (`make images`), so that removing them by id removes only them.
	extra = append([]string{"LABEL portico.e2e=" + ref}, extra...)
	df = append(df, []byte("\n"+strings.Join(extra, "\n")+"\n")...)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	id, err := docker.BuildImage(t.Context(), "", dir, ref, &progress)
	im.mu.Lock()
	im.ids = append(im.ids, ref) // refs first: untagged, the ids can go
	if id != "" {
		im.ids = append(im.ids, id)
	}
	im.names = append(im.names, ref)
	im.mu.Unlock()
	if err != nil {
		t.Fatalf("building %s: %v\n%s", ref, err, progress.String())
	}
	if !strings.Contains(progress.String(), "Successfully tagged "+ref) {
		t.Errorf("build progress does not say it tagged %s:\n%s", ref, progress.String())
	}
	if im.runtime == "containerd" {
		im.importFromDocker(adminURL, ref)
	}
	return id
}

// importFromDocker streams `docker save REF` to POST /portico/v1/images/import.
func (im *images) importFromDocker(adminURL, ref string) {
	t := im.t
	t.Helper()
	rc, err := docker.SaveImage(t.Context(), "", ref)
	if err != nil {
		t.Fatalf("docker save %s: %v", ref, err)
	}
	defer rc.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, adminURL+"/portico/v1/images/import", rc)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("importing %s: %v", ref, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var res struct {
		Runtime string   `json:"Runtime"`
		Images  []string `json:"Images"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &res) != nil {
		t.Fatalf("importing %s: %s %s", ref, resp.Status, body)
	}
	if res.Runtime != "containerd" || len(res.Images) != 1 || !strings.HasSuffix(res.Images[0], ref) {
		t.Fatalf("importing %s answered %s", ref, body)
	}
}

// pinned records an image id the containerd runtime of the server on dataDir
// pinned (under that installation's instance), for removal.
func (im *images) pinned(dataDir, id string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.names = append(im.names, "portico.local/pinned/"+docker.InstanceFor(dataDir)+"@"+id)
}

func (im *images) cleanup() {
	// Untag the test's references, then remove the ids it built (labelled with
	// the reference, so no other tag names them), without force.
	for _, x := range im.ids {
		if out, err := exec.Command("docker", "rmi", x).CombinedOutput(); err != nil &&
			!strings.Contains(string(out), "No such image") && !strings.Contains(string(out), "referenced in multiple repositories") &&
			!strings.Contains(string(out), "being used") {
			im.t.Logf("removing test image %s from Docker: %v: %s", x, err, out)
		}
	}
	if im.runtime == "containerd" && len(im.names) > 0 {
		var names []string
		for _, n := range im.names {
			if !strings.Contains(n, "/") || strings.HasPrefix(n, "portico.local/") {
				names = append(names, n)
			} else {
				names = append(names, "docker.io/"+n)
			}
		}
		args := append([]string{"--address", runtimetest.ContainerdSocket(), "-n", "portico", "images", "rm"}, names...)
		if out, err := exec.Command("ctr", args...).CombinedOutput(); err != nil {
			im.t.Logf("removing test images from containerd: %v: %s", err, out)
		}
	}
}

// TestContainerFunctions deploys the hello sample as an Image function (built
// from samples/hello/Dockerfile) and as a Zip function on each container runtime,
// invokes both through an alias with the AWS SDK, checks that a published
// version keeps its pinned image after the tag moves, and that killing a
// container mid-invoke fails only that call.
func TestContainerFunctions(t *testing.T) {
	for _, rt := range containerRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			rt.require(t)
			im := newImages(t, rt.name) // cleaned up after the server stops
			dataDir := t.TempDir()
			sweepInstance(t, rt.name, dataDir)
			env := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dataDir})
			c := sdk(env.AdminURL)

			t.Run("ZipThroughAlias", func(t *testing.T) {
				name := "hello-zip"
				in := zipFunction(name, apptest.ZipSample(t, "hello"))
				in.Environment = &types.Environment{Variables: map[string]string{"GREETING": "zipped"}}
				createFunction(t, c, in)
				v := publishWithAlias(t, c, name)
				g := invokeHello(t, c, name+":live")
				if g.FunctionVersion != v || g.Greeting != "zipped" {
					t.Errorf("%s:live answered %+v, want version %s with greeting zipped", name, g, v)
				}
			})

			// The Image function's first test is also the pinning test: version 1
			// is published with tag T on content A and not invoked until T moved
			// to content B (a GREETING baked into the image).
			t.Run("ImageThroughAliasKeepsPinnedImage", func(t *testing.T) {
				name := "hello-image"
				ref := "portico-e2e/hello:" + randHex(6)
				idA := im.build(env.AdminURL, ref)
				createFunction(t, c, &lambda.CreateFunctionInput{
					FunctionName: aws.String(name),
					Role:         aws.String("arn:aws:iam::000000000000:role/any"),
					PackageType:  types.PackageTypeImage,
					Code:         &types.FunctionCode{ImageUri: aws.String(ref)},
				})
				if g := invokeHello(t, c, name); g.FunctionVersion != "$LATEST" || g.Greeting != "" {
					t.Fatalf("%s answered %+v, want $LATEST without a greeting", name, g)
				}
				v := publishWithAlias(t, c, name)
				got, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String(v)})
				if err != nil {
					t.Fatalf("GetFunction %s:%s: %v", name, v, err)
				}
				pinned := pinnedID(t, "version "+v, ref, aws.ToString(got.Code.ResolvedImageUri))
				if rt.name == "docker" && pinned != idA {
					t.Errorf("version %s pinned %s, want the built image %s", v, pinned, idA)
				}
				im.pinned(dataDir, pinned)

				idB := im.build(env.AdminURL, ref, "ENV GREETING=rebuilt")
				if idB == idA {
					t.Fatalf("the rebuild made the same image %s", idA)
				}
				if g := invokeHello(t, c, name+":live"); g.FunctionVersion != v || g.Greeting != "" {
					t.Errorf("%s:live after the tag moved answered %+v, want version %s on the pinned image (no greeting)", name, g, v)
				}
				if _, err := c.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ImageUri: aws.String(ref)}); err != nil {
					t.Fatalf("UpdateFunctionCode: %v", err)
				}
				if g := invokeHello(t, c, name); g.FunctionVersion != "$LATEST" || g.Greeting != "rebuilt" {
					t.Errorf("%s ($LATEST) after an update answered %+v, want the rebuilt image's greeting", name, g)
				}
				if g := invokeHello(t, c, name+":"+v); g.Greeting != "" {
					t.Errorf("%s:%s answered %+v, want the pinned image", name, v, g)
				}
			})

			// As in Lambda, $LATEST is pinned to the image's digest by
			// CreateFunction and UpdateFunctionCode, reports it as CodeSha256
			// (so PublishVersion's CodeSha256 precondition can name it) and as
			// ResolvedImageUri, and keeps running it after the tag moves until
			// UpdateFunctionCode names the tag again.
			t.Run("LatestPinnedToDigest", func(t *testing.T) {
				name := "hello-pinned"
				ref := "portico-e2e/hello:" + randHex(6)
				im.build(env.AdminURL, ref)
				created, err := c.CreateFunction(t.Context(), &lambda.CreateFunctionInput{
					FunctionName: aws.String(name),
					Role:         aws.String("arn:aws:iam::000000000000:role/any"),
					PackageType:  types.PackageTypeImage,
					Code:         &types.FunctionCode{ImageUri: aws.String(ref)},
				})
				if err != nil {
					t.Fatalf("CreateFunction: %v", err)
				}
				got, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
				if err != nil {
					t.Fatalf("GetFunction: %v", err)
				}
				idA := pinnedID(t, "$LATEST", ref, aws.ToString(got.Code.ResolvedImageUri))
				shaA := aws.ToString(got.Configuration.CodeSha256)
				if shaA != strings.TrimPrefix(idA, "sha256:") {
					t.Fatalf("$LATEST: ResolvedImageUri %q, CodeSha256 %q; want the image id and its digest", idA, shaA)
				}
				if aws.ToString(created.CodeSha256) != shaA {
					t.Errorf("CreateFunction answered CodeSha256 %q, GetFunction %q", aws.ToString(created.CodeSha256), shaA)
				}
				im.pinned(dataDir, idA)

				im.build(env.AdminURL, ref, "ENV GREETING=moved")
				if g := invokeHello(t, c, name); g.Greeting != "" {
					t.Errorf("$LATEST after the tag moved answered %+v, want the image it was created with (no greeting)", g)
				}
				v, err := c.PublishVersion(t.Context(), &lambda.PublishVersionInput{FunctionName: aws.String(name), CodeSha256: aws.String(shaA)})
				if err != nil {
					t.Fatalf("PublishVersion --code-sha256 %s: %v", shaA, err)
				}
				if aws.ToString(v.CodeSha256) != shaA {
					t.Errorf("version %s: CodeSha256 %q, want %q", aws.ToString(v.Version), aws.ToString(v.CodeSha256), shaA)
				}
				upd, err := c.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ImageUri: aws.String(ref)})
				if err != nil {
					t.Fatalf("UpdateFunctionCode: %v", err)
				}
				shaB := aws.ToString(upd.CodeSha256)
				if shaB == "" || shaB == shaA {
					t.Fatalf("UpdateFunctionCode answered CodeSha256 %q, want the moved tag's digest (not %q)", shaB, shaA)
				}
				im.pinned(dataDir, "sha256:"+shaB)
				if g := invokeHello(t, c, name); g.Greeting != "moved" {
					t.Errorf("$LATEST after UpdateFunctionCode answered %+v, want the moved tag's image", g)
				}
			})

			// ImageConfig overrides the image's ENTRYPOINT and WORKDIR: an
			// image whose own entrypoint does not exist runs through the
			// override (a relative EntryPoint found from the overriding
			// WorkingDirectory), GetFunctionConfiguration reports it as
			// ImageConfigResponse, a published version keeps it, and taking it
			// off runs the image's own again.
			t.Run("ImageConfigOverridesTheImage", func(t *testing.T) {
				name := "hello-imageconfig"
				ref := "portico-e2e/hello:" + randHex(6)
				im.build(env.AdminURL, ref, "WORKDIR /", `ENTRYPOINT ["/nope"]`)
				ic := &types.ImageConfig{EntryPoint: []string{"./bootstrap"}, Command: []string{"ignored"}, WorkingDirectory: aws.String("/var/task")}
				createFunction(t, c, &lambda.CreateFunctionInput{
					FunctionName: aws.String(name),
					Role:         aws.String("arn:aws:iam::000000000000:role/any"),
					PackageType:  types.PackageTypeImage,
					Code:         &types.FunctionCode{ImageUri: aws.String(ref)},
					ImageConfig:  ic,
				})
				got, err := c.GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
				if err != nil {
					t.Fatal(err)
				}
				if r := got.ImageConfigResponse; r == nil || r.ImageConfig == nil || !slices.Equal(r.ImageConfig.EntryPoint, ic.EntryPoint) ||
					!slices.Equal(r.ImageConfig.Command, ic.Command) || aws.ToString(r.ImageConfig.WorkingDirectory) != "/var/task" {
					t.Fatalf("ImageConfigResponse = %+v, want the ImageConfig given", r)
				}
				if g := invokeHello(t, c, name); g.FunctionVersion != "$LATEST" {
					t.Errorf("answered %+v", g)
				}
				v := publishWithAlias(t, c, name)
				if _, err := c.UpdateFunctionConfiguration(t.Context(), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name),
					ImageConfig: &types.ImageConfig{}}); err != nil {
					t.Fatalf("UpdateFunctionConfiguration taking ImageConfig off: %v", err)
				}
				got, err = c.GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
				if err != nil || got.ImageConfigResponse != nil {
					t.Fatalf("after taking it off: ImageConfigResponse %+v, %v; want none", got.ImageConfigResponse, err)
				}
				out, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)})
				if err == nil && out.FunctionError == nil {
					t.Errorf("$LATEST without ImageConfig answered %s, want the image's own entrypoint (/nope) to fail", out.Payload)
				}
				if g := invokeHello(t, c, name+":live"); g.FunctionVersion != v {
					t.Errorf("%s:live answered %+v, want version %s, which keeps its ImageConfig", name, g, v)
				}
				_, err = c.UpdateFunctionConfiguration(t.Context(), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name),
					ImageConfig: &types.ImageConfig{WorkingDirectory: aws.String("relative")}})
				if err == nil || !strings.Contains(err.Error(), "InvalidParameterValueException") {
					t.Errorf("a relative WorkingDirectory: %v, want InvalidParameterValueException", err)
				}
			})

			// An image neither on the host nor pullable is refused at create,
			// saying how to bring it in, and nothing is created.
			t.Run("MissingImageSaysWhatToDo", func(t *testing.T) {
				ref := "portico-e2e/missing:" + randHex(6)
				_, err := c.CreateFunction(t.Context(), &lambda.CreateFunctionInput{
					FunctionName: aws.String("hello-missing"),
					Role:         aws.String("arn:aws:iam::000000000000:role/any"),
					PackageType:  types.PackageTypeImage,
					Code:         &types.FunctionCode{ImageUri: aws.String(ref)},
				})
				if err == nil || !strings.Contains(err.Error(), "InvalidParameterValueException") ||
					!strings.Contains(err.Error(), "portico build DIR -t "+ref) || !strings.Contains(err.Error(), "portico image import") {
					t.Fatalf("CreateFunction of a missing image: %v, want InvalidParameterValueException saying how to build or import it", err)
				}
				if _, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String("hello-missing")}); err == nil {
					t.Error("the refused create made the function")
				}
			})

			t.Run("KillMidInvokeFailsOnlyThatCall", func(t *testing.T) {
				killMidInvoke(t, c, rt.name, env.DataDir)
			})

			// A sandbox retired while it waits in next is stopped before its
			// next is answered, as Lambda never answers it: aws-lambda-go
			// logs no "failed to GET .../next: got unexpected status code:
			// 410" into the function's log on a normal spin-down.
			t.Run("SpinDownLogsNoNextError", func(t *testing.T) {
				name := "hello-spin"
				createFunction(t, c, zipFunction(name, apptest.ZipSample(t, "hello")))
				invokeHello(t, c, name)
				ids := runningSandboxes(t, rt.name, env.DataDir, name)
				if len(ids) != 1 {
					t.Fatalf("%d running sandboxes of %s, want 1: %v", len(ids), name, ids)
				}
				// A new configuration retires the idle sandbox.
				if _, err := c.UpdateFunctionConfiguration(t.Context(), &lambda.UpdateFunctionConfigurationInput{
					FunctionName: aws.String(name), Environment: &types.Environment{Variables: map[string]string{"GREETING": "new"}},
				}); err != nil {
					t.Fatalf("UpdateFunctionConfiguration: %v", err)
				}
				waitStopped(t, rt.name, env.DataDir, name, ids[0])
				if g := invokeHello(t, c, name); g.Greeting != "new" {
					t.Errorf("after the update %s answered %+v", name, g)
				}
				log, err := os.ReadFile(filepath.Join(env.DataDir, "logs", name+".log"))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(log), "unexpected status code") {
					t.Errorf("the retired sandbox logged an answer to its next:\n%s", log)
				}
			})
		})
	}
}

// waiter is the host side of the blocker function: calls to /wait arrive on
// arrived and are held until release is closed.
type waiter struct {
	port    string
	arrived chan struct{}
	release chan struct{}
}

func newWaiter(t *testing.T) *waiter {
	t.Helper()
	// Sandboxes reach the host on their bridge's gateway address, which the
	// blocker takes from AWS_LAMBDA_RUNTIME_API; listen on all addresses.
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	w := &waiter{arrived: make(chan struct{}, 16), release: make(chan struct{})}
	_, w.port, _ = net.SplitHostPort(ln.Addr().String())
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.arrived <- struct{}{}
		select {
		case <-w.release:
			_, _ = io.WriteString(rw, "released")
		case <-r.Context().Done():
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return w
}

// killMidInvoke holds two invocations of one function in flight (each in its own
// sandbox), kills one sandbox's container, then releases both: the call in the
// killed sandbox fails with Runtime.ExitError, the other one succeeds, and the
// function keeps working.
func killMidInvoke(t *testing.T, c *lambda.Client, runtime, dataDir string) {
	name := "blocker"
	zip, err := zipDir(apptest.Program(t, "./internal/e2e/testdata/blocker"))
	if err != nil {
		t.Fatal(err)
	}
	in := zipFunction(name, zip)
	in.Timeout = aws.Int32(120)
	createFunction(t, c, in)
	w := newWaiter(t)
	type answer struct {
		out *lambda.InvokeOutput
		err error
	}
	answers := make(chan answer, 2)
	for range 2 {
		go func() {
			out, err := c.Invoke(context.WithoutCancel(t.Context()), &lambda.InvokeInput{
				FunctionName: aws.String(name), Payload: []byte(`{"port":"` + w.port + `"}`),
			})
			answers <- answer{out, err}
		}()
	}
	for range 2 {
		select {
		case <-w.arrived:
		case a := <-answers:
			close(w.release)
			t.Fatalf("an invocation ended before both were in flight: %+v %v", a.out, a.err)
		}
	}
	ids := runningSandboxes(t, runtime, dataDir, name)
	if len(ids) != 2 {
		close(w.release)
		t.Fatalf("%d running sandboxes of %s, want 2 (one per invocation): %v", len(ids), name, ids)
	}
	killSandbox(t, runtime, ids[0])
	// The kill is delivered asynchronously: release the calls only once the
	// killed sandbox has stopped, or its handler could still answer.
	waitStopped(t, runtime, dataDir, name, ids[0])
	close(w.release)
	var failed, succeeded int
	for range 2 {
		a := <-answers
		switch {
		case a.err != nil:
			t.Errorf("Invoke: %v", a.err)
		case a.out.FunctionError != nil:
			failed++
			if !strings.Contains(string(a.out.Payload), "Runtime.ExitError") {
				t.Errorf("the killed call answered %s, want Runtime.ExitError", a.out.Payload)
			}
		case string(a.out.Payload) == `{"status":"released"}`:
			succeeded++
		default:
			t.Errorf("the call answered %s", a.out.Payload)
		}
	}
	if failed != 1 || succeeded != 1 {
		t.Errorf("%d calls failed and %d succeeded, want exactly one of each", failed, succeeded)
	}
	out, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil || string(out.Payload) != `{"status":"ok"}` {
		t.Errorf("after the kill, Invoke = %+v, %v; want ok", out, err)
	}
}

// zipDir zips a directory as a function package.
func zipDir(dir string) ([]byte, error) { return client.ZipDir(dir) }

// runningSandboxes lists the running sandbox containers (not prepared ones, not
// network holders) of a function of the Portico instance whose data directory is
// dataDir, found by their labels.
func runningSandboxes(t *testing.T, runtime, dataDir, function string) []string {
	t.Helper()
	inst := docker.InstanceFor(dataDir)
	var ids []string
	switch runtime {
	case "docker":
		out := run(t, "docker", "ps", "--no-trunc",
			"--filter", "label=portico.instance="+inst, "--filter", "label=portico.function="+function,
			"--format", `{{.ID}} {{.Label "portico.role"}}`)
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 1 {
				ids = append(ids, f[0])
			}
		}
	case "containerd":
		mine := map[string]bool{}
		for _, id := range strings.Fields(ctr(t, "containers", "ls", "-q",
			fmt.Sprintf(`labels."portico.instance"==%s,labels."portico.function"==%s`, inst, function))) {
			mine[id] = true
		}
		for _, l := range strings.Split(ctr(t, "tasks", "ls"), "\n") {
			if f := strings.Fields(l); len(f) == 3 && mine[f[0]] && f[2] == "RUNNING" {
				ids = append(ids, f[0])
			}
		}
	}
	return ids
}

// instanceContainers lists every container (running, prepared or exited) of the
// Portico instance whose data directory is dataDir.
func instanceContainers(t *testing.T, runtime, dataDir string) []string {
	t.Helper()
	inst := docker.InstanceFor(dataDir)
	switch runtime {
	case "docker":
		return strings.Fields(run(t, "docker", "ps", "-a", "-q", "--filter", "label=portico.instance="+inst))
	case "containerd":
		return strings.Fields(ctr(t, "containers", "ls", "-q", fmt.Sprintf(`labels."portico.instance"==%s`, inst)))
	}
	return nil
}

func killSandbox(t *testing.T, runtime, id string) {
	t.Helper()
	switch runtime {
	case "docker":
		run(t, "docker", "kill", "--signal", "KILL", id)
	case "containerd":
		ctr(t, "tasks", "kill", "--signal", "SIGKILL", id)
	}
}

// waitStopped waits until sandbox id is no longer among function's running
// sandboxes: once a container's init has exited, every process of its PID
// namespace has too.
func waitStopped(t *testing.T, runtime, dataDir, function, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	// Each look runs the docker command (ctr twice for containerd), tens of
	// milliseconds of CPU: look less often the longer the stop takes.
	pause := 20 * time.Millisecond
	for slices.Contains(runningSandboxes(t, runtime, dataDir, function), id) {
		if time.Now().After(deadline) {
			t.Fatalf("sandbox %s of %s still running 30 s after it was killed", id, function)
		}
		time.Sleep(pause)
		pause = min(2*pause, 500*time.Millisecond)
	}
}

func ctr(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, "ctr", append([]string{"--address", runtimetest.ContainerdSocket(), "-n", "portico"}, args...)...)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRestartRemovesLeftoverContainers runs `portico serve` as a child process,
// warms a sandbox, kills the process with SIGKILL (a crash: no shutdown hook
// runs, so its containers stay), then starts Portico again on the same data
// directory: the new server removes the leftovers before it serves, and the
// function still works.
func TestRestartRemovesLeftoverContainers(t *testing.T) {
	for _, rt := range containerRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			rt.require(t)
			dataDir := t.TempDir()
			sweepInstance(t, rt.name, dataDir)
			p := apptest.StartProcess(t, apptest.Options{Runtime: rt.name, DataDir: dataDir})
			c := sdk(p.AdminURL)
			createFunction(t, c, zipFunction("hello", apptest.ZipSample(t, "hello")))
			invokeHello(t, c, "hello")
			if n := len(runningSandboxes(t, rt.name, dataDir, "hello")); n != 1 {
				t.Fatalf("%d running sandboxes after one invocation, want 1\n%s", n, p.Output())
			}
			p.Kill()
			left := instanceContainers(t, rt.name, dataDir)
			if len(left) == 0 {
				t.Fatalf("no containers left after the crash: the test would prove nothing")
			}
			t.Logf("left behind by the crash: %v", left)

			env := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dataDir})
			if left := instanceContainers(t, rt.name, dataDir); len(left) != 0 {
				t.Errorf("after the restart, containers of the crashed run remain: %v", left)
			}
			invokeHello(t, sdk(env.AdminURL), "hello")
		})
	}
}

// sweepInstance registers, before the test starts a server on dataDir, a cleanup
// that runs after the server stopped: whatever containers of the instance remain
// are logged and removed through the runtime's own Cleanup, so that a test never
// leaves sandboxes behind even when shutdown misses one.
func sweepInstance(t *testing.T, runtime, dataDir string) {
	t.Helper()
	t.Cleanup(func() {
		ctx := context.Background()
		inst := docker.InstanceFor(dataDir)
		rt, err := openRuntime(ctx, t, runtime, inst)
		if err != nil {
			t.Logf("sweeping instance %s: %v", inst, err)
			return
		}
		defer func() { _ = rt.Close() }()
		if left := instanceContainers(t, runtime, dataDir); len(left) > 0 {
			t.Logf("containers of instance %s remain after the server stopped (removing them): %v", inst, left)
		}
		if err := rt.Cleanup(ctx); err != nil {
			t.Errorf("sweeping instance %s: %v", inst, err)
		}
	})
}

// openRuntime connects to the named runtime outside any server, its Cleanup
// scoped to instance inst (the process runtime works in a directory of tb's).
func openRuntime(ctx context.Context, tb testing.TB, name, inst string) (runtimes.Runtime, error) {
	switch name {
	case "process":
		return process.New(tb.TempDir(), 0)
	case "docker":
		return docker.New(ctx, docker.Config{Instance: inst})
	case "containerd":
		return containerd.New(ctx, containerd.Config{Instance: inst, Socket: runtimetest.ContainerdSocket()})
	}
	return nil, fmt.Errorf("no runtime %q", name)
}

// zipFunction is the CreateFunction input of Zip function name on the
// provided.al2023 runtime.
func zipFunction(name string, zip []byte) *lambda.CreateFunctionInput {
	return &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Role:         aws.String("arn:aws:iam::000000000000:role/any"),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		PackageType:  types.PackageTypeZip,
		Code:         &types.FunctionCode{ZipFile: zip},
	}
}

// createFunction creates the function in describes, failing t when it cannot.
func createFunction(t *testing.T, c *lambda.Client, in *lambda.CreateFunctionInput) {
	t.Helper()
	if _, err := c.CreateFunction(t.Context(), in); err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
}
