package admin_test

import (
	"net"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestCallbackListenSetting: with callback-listen set, the sandbox-facing
// @connections endpoint listens on the port given (before, always a port
// the system picked, outside any range an operator assigns).
func TestCallbackListenSetting(t *testing.T) {
	const port = "32251" // this package's tests' port range
	apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.CallbackListen = ":" + port }})
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatalf("the sandbox-facing endpoint does not listen on :%s: %v", port, err)
	}
	_ = c.Close()
}
