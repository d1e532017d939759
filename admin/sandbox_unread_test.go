package admin_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway"
)

// TestSandboxEndpointRefusesFromHead (sec29 #4): the sandbox-facing
// endpoint took a whole (slow) body before refusing a wrong bearer token on
// @connections, answering only at the body timeout; the admin API answers
// the same at once. A refusal decided from the head is now answered as soon
// as the head is in, with Connection: close, there and on the CodeDeploy
// route of both listeners. The body timeout is an hour here: the client's
// read deadline is only a safety net.
func TestSandboxEndpointRefusesFromHead(t *testing.T) {
	t.Parallel()
	var g *gateway.Gateway
	env := apptest.Start(t, apptest.Options{Populate: []any{&g}, Settings: func(s *app.Settings) {
		s.AdminToken = codeDeployToken
		s.Listener.BodyTimeout = time.Hour
		s.AdminListener.BodyTimeout = time.Hour
	}})
	sandbox := g.SandboxEndpoints()["AWS_ENDPOINT_URL_CODEDEPLOY"]
	sandbox = strings.TrimPrefix(strings.TrimPrefix(sandbox, "https://"), "http://")
	admin := strings.TrimPrefix(env.AdminURL, "http://")
	for _, tc := range []struct {
		name, addr, head, want string
		status                 int
	}{
		{"@connections, wrong bearer", sandbox, "POST /dev/@connections/x HTTP/1.1\r\nAuthorization: Bearer wrong\r\n", "ForbiddenException", 403},
		{"sandbox CodeDeploy, bearer", sandbox, "POST / HTTP/1.1\r\nX-Amz-Target: " + codeDeployReport + "\r\nAuthorization: Bearer " + codeDeployToken + "\r\n", "MissingAuthenticationTokenException", 403},
		{"admin CodeDeploy, wrong bearer", admin, "POST / HTTP/1.1\r\nX-Amz-Target: " + codeDeployReport + "\r\nAuthorization: Bearer wrong\r\n", "UnrecognizedClientException", 403},
		{"admin CodeDeploy, unsigned", admin, "POST / HTTP/1.1\r\nX-Amz-Target: " + codeDeployReport + "\r\n", "MissingAuthenticationTokenException", 403},
	} {
		c, err := net.Dial("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, tc.head+"Host: x\r\nContent-Length: 1000\r\n\r\nab"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Errorf("%s: no answer before the body's end: %v", tc.name, err)
			_ = c.Close()
			continue
		}
		_ = res.Body.Close()
		if res.StatusCode != tc.status || !strings.EqualFold(res.Header.Get("X-Amzn-Errortype"), tc.want) || !res.Close {
			t.Errorf("%s: %d %s close=%v; want %d %s with Connection: close", tc.name, res.StatusCode, res.Header.Get("X-Amzn-Errortype"), res.Close, tc.status, tc.want)
		}
		_ = c.Close()
	}
}
