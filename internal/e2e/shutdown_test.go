package e2e_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestShutdownPastTimeoutStopsSandboxes holds a call in flight while the
// server stops with a short shutdown timeout: the stop cuts the call off, and
// the hooks after the admin API's (the invoker's, the runtime's Cleanup, the
// store's close) still run, so no sandbox of the instance is left and the data
// directory opens again at once. Before, fx skipped every hook after the admin
// server's, which waited for the call until the stop's deadline.
func TestShutdownPastTimeoutStopsSandboxes(t *testing.T) {
	runtimes := append([]struct {
		name    string
		require func(testing.TB)
	}{{"process", func(testing.TB) {}}}, containerRuntimes...)
	for _, rt := range runtimes {
		t.Run(rt.name, func(t *testing.T) {
			rt.require(t)
			dataDir := t.TempDir()
			if rt.name != "process" {
				sweepInstance(t, rt.name, dataDir)
			}
			env := apptest.Start(t, apptest.Options{Runtime: rt.name, DataDir: dataDir, Settings: func(s *app.Settings) {
				// The call outlives the shutdown timeout: it never ends by
				// itself (the test releases it only once the server stopped).
				s.ShutdownTimeout = 300 * time.Millisecond
			}})
			answered := callInFlight(t, env.AdminURL, 30)
			pids := processSandboxes(t, dataDir)
			if rt.name == "process" && len(pids) != 1 {
				t.Fatalf("%d sandbox processes recorded while the call runs, want 1: %v", len(pids), pids)
			}

			env.Stop() // fails the test when the stop reports an error

			switch rt.name {
			case "process":
				if left := processSandboxes(t, dataDir); len(left) != 0 {
					t.Errorf("sandbox records left after the stop: %v", left)
				}
				for _, pid := range pids {
					if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
						t.Errorf("sandbox process %d still exists after the stop (kill -0: %v)", pid, err)
					}
				}
			default:
				if left := instanceContainers(t, rt.name, dataDir); len(left) != 0 {
					t.Errorf("containers of the instance left after the stop: %v", left)
				}
			}
			// The call was cut off: its client has its answer (the closed
			// connection), rather than waiting for the function.
			if err := <-answered; err == nil {
				t.Error("the call cut off by the shutdown succeeded")
			}
			// The store was closed: the data directory opens again, and the
			// function works.
			env.Restart()
			out, err := sdk(env.AdminURL).Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("blocker"), Payload: []byte(`{}`)})
			if err != nil || out.FunctionError != nil || string(out.Payload) != `{"status":"ok"}` {
				t.Errorf("after the restart, Invoke = %+v, %v; want ok", out, err)
			}
		})
	}
}

// processSandboxes returns the pids of the process runtime's sandbox records
// (run/process/*.pid) in dataDir.
func processSandboxes(t *testing.T, dataDir string) []int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "run", "process", "*.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fields := strings.Fields(string(raw))
		if len(fields) == 0 {
			continue
		}
		pid, err := strconv.Atoi(fields[0])
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pids = append(pids, pid)
	}
	return pids
}
