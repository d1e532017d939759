package e2e_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/runtimes/docker"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestGatewayRouteDuringDaemonOutage calls an HTTP API route whose integration
// is a function on a container runtime while the runtime's daemon goes away
// and comes back (a socket proxy taken down and up): while it is away the
// route answers an HTTP API's answer to a failed Lambda integration, a 5xx
// {"message":"Internal Server Error"}, and a Lambda invoke answers 503
// ServiceException saying which daemon at which socket does not answer and
// what to do; once it is back the route answers 200 again, the sandboxes the
// outage cut off are removed while the server runs, and after it stops no
// container of the instance, and no shim of one of its sandboxes (containerd),
// is left.
func TestGatewayRouteDuringDaemonOutage(t *testing.T) {
	for _, tc := range containerRuntimes {
		t.Run(tc.name, func(t *testing.T) {
			tc.require(t)
			var p *runtimetest.SocketProxy // down last: the sweep of the instance goes around it
			settings := func(*app.Settings) {}
			switch tc.name {
			case "docker":
				p = runtimetest.NewSocketProxy(t, runtimetest.DockerSocketPath(t))
				t.Setenv("DOCKER_HOST", "unix://"+p.Path())
			case "containerd":
				p = runtimetest.NewSocketProxy(t, runtimetest.ContainerdSocket())
				settings = func(s *app.Settings) { s.ContainerdSocket = p.Path() }
			}
			dataDir := t.TempDir()
			sweepInstance(t, tc.name, dataDir)
			env := apptest.Start(t, apptest.Options{Runtime: tc.name, DataDir: dataDir, Settings: settings})
			url, c := helloRoute(t, env)
			hc := &http.Client{Timeout: 40 * time.Second}
			get := func() (int, []byte) {
				t.Helper()
				resp, err := hc.Get(url)
				if err != nil {
					t.Fatalf("GET %s: %v", url, err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, b
			}
			if code, body := get(); code != http.StatusOK {
				t.Fatalf("before the outage: %d %s", code, body)
			}
			seen := instanceContainers(t, tc.name, dataDir) // the sandboxes to find no shim of at the end

			p.Down()
			// The warm sandbox may answer until the invoker learns that it is
			// cut off; then every call needs a sandbox the daemon cannot start.
			code, body := get()
			for deadline := time.Now().Add(time.Minute); code == http.StatusOK; code, body = get() {
				if time.Now().After(deadline) {
					t.Fatal("a minute into the outage the route still answers 200")
				}
				time.Sleep(50 * time.Millisecond)
			}
			var msg map[string]any
			if err := json.Unmarshal(body, &msg); err != nil || len(msg) != 1 || msg["message"] != "Internal Server Error" || code < 500 {
				t.Errorf("during the outage the route answered %d %s, want a 5xx {\"message\":\"Internal Server Error\"}", code, body)
			}
			_, err := c.Do(t.Context(), http.MethodPost, client.FunctionPath("hello", "/invocations"), nil, []byte(`{}`), nil)
			var ae *client.APIError
			if addr := p.Path(); !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Type != "ServiceException" ||
				!strings.Contains(ae.Message, "does not answer") || !strings.Contains(ae.Message, addr) {
				t.Errorf("an invoke during the outage: %v; want 503 ServiceException naming %s", err, addr)
			}

			p.Up(t)
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
				if code, body = get(); code == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a minute after the daemon came back the route answers %d %s", code, body)
				}
			}
			// The sandbox the outage cut off is removed while the server runs.
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
				left := lostSandboxes(t, tc.name, dataDir)
				if len(left) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a minute after the daemon came back, containers of sandboxes it lost remain: %v\n%s", left, runtimeState(t, tc.name))
				}
			}

			env.Stop()
			if left := instanceContainers(t, tc.name, dataDir); len(left) > 0 {
				t.Errorf("%d containers of the instance left after a clean shutdown: %v", len(left), left)
			}
			if tc.name == "containerd" {
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
					left := shimsOf(t, seen)
					if len(left) == 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("shims of removed sandboxes still run: %v", left)
					}
				}
			}
		})
	}
}

// helloRoute creates function hello (the sample) and an HTTP API whose route
// GET /hello is its AWS_PROXY integration, deployed to stage prod, and returns
// the route's URL and an admin client.
func helloRoute(t *testing.T, env *apptest.Env) (string, *client.Client) {
	t.Helper()
	c := env.Client()
	ctx := t.Context()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "hello", "Code": map[string]any{"ZipFile": apptest.ZipSample(t, "hello")}}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis", nil, map[string]any{
		"name": "outage", "protocol": "HTTP",
		"routes": []map[string]any{{"method": "GET", "path": "/hello",
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:hello", "payloadFormatVersion": "2.0"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ ID string }
	if err := json.Unmarshal(res.Body, &api); err != nil || api.ID == "" {
		t.Fatalf("creating the API: %v %s", err, res.Body)
	}
	if _, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "prod"}, nil); err != nil {
		t.Fatal(err)
	}
	return env.GatewayURL + "/" + api.ID + "/prod/hello", c
}

// lostSandboxes lists the containers of the instance that no longer run a
// sandbox and are not prepared ones: exited or dead (docker), or without a
// running or created task (containerd).
func lostSandboxes(t *testing.T, runtime, dataDir string) []string {
	t.Helper()
	switch runtime {
	case "docker":
		return strings.Fields(run(t, "docker", "ps", "-a", "-q", "--filter", "status=exited", "--filter", "status=dead",
			"--filter", "label=portico.instance="+docker.InstanceFor(dataDir)))
	case "containerd":
		live := map[string]bool{}
		for _, l := range strings.Split(ctr(t, "tasks", "ls"), "\n") {
			if f := strings.Fields(l); len(f) == 3 && (f[2] == "RUNNING" || f[2] == "CREATED") {
				live[f[0]] = true
			}
		}
		var lost []string
		for _, id := range instanceContainers(t, runtime, dataDir) {
			if !live[id] {
				lost = append(lost, id)
			}
		}
		return lost
	}
	return nil
}

// runtimeState is what the daemon says of Portico's containers, for a failure's
// message.
func runtimeState(t *testing.T, runtime string) string {
	t.Helper()
	if runtime == "docker" {
		return run(t, "docker", "ps", "-a", "--filter", "label=portico=1")
	}
	return ctr(t, "containers", "ls") + ctr(t, "tasks", "ls")
}

// shimsOf returns the containerd-shim-runc-v2 processes still serving any of
// the containers ids in Portico's namespace, as "pid id".
func shimsOf(t *testing.T, ids []string) []string {
	t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte("containerd-shim")) {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-id" && want[args[i+1]] {
				if st, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
					continue // exited, not reaped yet
				}
				left = append(left, fmt.Sprintf("%s %s", d.Name(), args[i+1]))
			}
		}
	}
	return left
}
