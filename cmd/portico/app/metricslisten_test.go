package app

import "testing"

// TestMetricsListenOff: --metrics-listen off is no listener, as --listen off
// and --tls-listen off are (verify28a: it was given to net.Listen and the
// start failed with Go's raw error).
func TestMetricsListenOff(t *testing.T) {
	for in, want := range map[string]string{"off": "", "": "", "127.0.0.1:9100": "127.0.0.1:9100"} {
		s := Defaults()
		s.MetricsListen = in
		if got := s.metricsListen(); got != want {
			t.Errorf("--metrics-listen %q listens on %q, want %q", in, got, want)
		}
		if err := s.checkListenClash(); err != nil {
			t.Errorf("--metrics-listen %q: %v", in, err)
		}
	}
}
