package invoker

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/portico-dev/portico/functions"
)

// TestSpinDownLogsNoNextError: a runtime that logs what its next answers (as
// aws-lambda-go logs "failed to GET .../next: got unexpected status code:
// 410") and that outlives SIGTERM logs nothing when its idle sandbox is
// retired: its waiting next is not answered while the sandbox is stopped, as
// Lambda never answers it.
func TestSpinDownLogsNoNextError(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the test's runtime is a shell script that needs curl")
	}
	useBootstrap(t, `#!/bin/sh
trap '' TERM
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
hdr=$(mktemp)
while :; do
	code=$(curl -s -o /dev/null -D "$hdr" -w '%{http_code}' "$api/next")
	if [ "$code" != 200 ]; then
		echo "next answered $code"
		exit 1
	fi
	id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$hdr" | cut -d' ' -f2 | tr -d '\r')
	curl -s -o /dev/null -X POST -d '{}' "$api/$id/response"
done
`)
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "f1"})
	if res, _ := invoke(t, e, cfg, `{}`); res.FunctionError != "" || string(res.Payload) != `{}` {
		t.Fatalf("invoke: %+v", res)
	}
	waitFor(t, "the sandbox to wait in next", func() bool { return e.inv.Stats().Idle == 1 })
	// A new configuration retires the idle sandbox.
	e.fns.add(&functions.Config{FunctionName: "f1", Timeout: 12})
	e.inv.functionChanged("f1")
	waitFor(t, "the sandbox to be gone", func() bool { s := e.inv.Stats(); return s.Sandboxes == 0 && s.Stopping == 0 })
	if log, _ := e.inv.Logs().Read("f1", -1); strings.Contains(string(log), "next answered") {
		t.Fatalf("the retired sandbox's runtime read an answer to its next:\n%s", log)
	}
}
