package gateway

import "testing"

// TestCallbackBind: the sandbox-facing endpoint listens where the operator
// says (host:port), on the runtime's host address with the port given
// (:port), or on the host address and any port by default.
func TestCallbackBind(t *testing.T) {
	for _, tc := range []struct{ setting, host, want string }{
		{"", "172.17.0.1", "172.17.0.1:0"},
		{":32250", "172.17.0.1", "172.17.0.1:32250"},
		{":32250", "::1", "[::1]:32250"},
		{"0.0.0.0:32250", "172.17.0.1", "0.0.0.0:32250"},
	} {
		if got := CallbackBind(tc.setting, tc.host); got != tc.want {
			t.Errorf("CallbackBind(%q, %q) = %q, want %q", tc.setting, tc.host, got, tc.want)
		}
	}
}
