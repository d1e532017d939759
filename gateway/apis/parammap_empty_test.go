package apis

import (
	"strings"
	"testing"
)

// TestHTTPMappingEmptyValueRefused: an HTTP API mapping whose value is "" is
// refused when saved (create-integration, import, a SAM template's
// DefinitionBody all validate through here), a remove with the hint to write
// two single quotes; a stored deployment's remove with "" still compiles.
func TestHTTPMappingEmptyValueRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   Integration
		want string
	}{
		{"request remove", Integration{RequestParameters: map[string]string{"remove:header.x-rm": ""}},
			`"remove:header.x-rm" has the value "": a remove mapping takes the value ''`},
		{"request overwrite", Integration{RequestParameters: map[string]string{"overwrite:querystring.q": ""}},
			`"overwrite:querystring.q" has the value "": give a value`},
		{"response remove", Integration{ResponseParameters: map[string]map[string]string{"200": {"remove:header.set-cookie": ""}}},
			`responseParameters "200": parameter mapping "remove:header.set-cookie" has the value ""`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Type, tt.in.URI, tt.in.HTTPMethod, tt.in.PayloadFormatVersion = IntegrationHTTPProxy, "https://example.com/", "GET", "1.0"
			err := tt.in.Validate(ProtocolHTTP)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %s", err, tt.want)
			}
			tt.in.RequestParameters, tt.in.ResponseParameters = map[string]string{"remove:header.x-rm": "''"},
				map[string]map[string]string{"200": {"remove:header.set-cookie": "''"}}
			if err := tt.in.Validate(ProtocolHTTP); err != nil {
				t.Fatalf("with '': %v", err)
			}
		})
	}
	if m, err := ParseParameterMapping("remove:header.x-rm", "", false); err != nil || m.Action != MapRemove || m.Name != "x-rm" {
		t.Fatalf("a stored remove with \"\": %+v %v, want it to compile", m, err)
	}
}
