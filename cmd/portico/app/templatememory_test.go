package app

import (
	"strings"
	"testing"
)

// TestGatewayTemplateMemorySetting: gateway-template-memory is in MB, unset
// takes the gateway's default, -1 turns the bound off, and anything below -1
// is refused saying what it takes.
func TestGatewayTemplateMemorySetting(t *testing.T) {
	for mb, want := range map[int64]int64{0: 0, -1: -1, 640: 640 << 20} {
		if got := templateMemory(mb); got != want {
			t.Errorf("templateMemory(%d) = %d, want %d", mb, got, want)
		}
	}
	s := Defaults()
	s.DataDir = t.TempDir()
	s.GatewayTemplateMemory = -2
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "gateway-template-memory -2 is not taken") {
		t.Errorf("-2: %v", err)
	}
	s.GatewayTemplateMemory = 512
	if err := s.Validate(); err != nil {
		t.Errorf("512: %v", err)
	}
}
