package admin

import (
	"strings"
	"testing"
)

// TestSecurityPolicyRefusalSaysWhatIsAccepted (tls28 #7): a TLS 1.3-only
// policy (SecurityPolicy_TLS13_1_3_2025_09) was refused saying "Portico
// speaks TLS 1.2 and 1.3 only", which reads as if 1.3 were not offered. The
// refusal says TLS_1_2 is the one name accepted and that 1.2 and 1.3 are
// served.
func TestSecurityPolicyRefusalSaysWhatIsAccepted(t *testing.T) {
	for _, p := range []string{"", "TLS_1_2"} {
		if err := checkSecurityPolicy(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"TLS_1_0", "SecurityPolicy_TLS13_1_3_2025_09"} {
		err := checkSecurityPolicy(p)
		if err == nil || !strings.Contains(err.Error(), "only TLS_1_2 is accepted") || strings.Contains(err.Error(), "speaks TLS 1.2 and 1.3 only") {
			t.Errorf("%q: %v", p, err)
		}
	}
}
