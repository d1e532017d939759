package gateway_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestMethodSettingsKeyOnTheDeclaredMethod pins what docs/observability.md
// says after the obs4 tester's finding: a method-settings entry keys on the
// method as declared. On a resource whose method is ANY, an entry for
// ~1{proxy+}/GET is kept and shown but is not the ANY method's (API Gateway
// keys entries {resource_path}/{http_method} of a method); the
// ~1{proxy+}/ANY entry is, and turns its GET requests' execution logs off.
func TestMethodSettingsKeyOnTheDeclaredMethod(t *testing.T) {
	t.Parallel()
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelDebug, LogWriter: logs})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "anyapi", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200"}}}
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "ANY", "path": "/{proxy+}", "integration": mock}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	patch := func(ops ...string) {
		t.Helper()
		var list []map[string]string
		for i := 0; i+1 < len(ops); i += 2 {
			list = append(list, map[string]string{"op": "replace", "path": ops[i], "value": ops[i+1]})
		}
		admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": list}, nil)
	}
	logged := func() bool {
		t.Helper()
		before := len(logs.String())
		if a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/offplease", ""); a.status != 200 {
			t.Fatalf("GET /offplease: %d %s", a.status, a.body)
		}
		return strings.Contains(logs.String()[before:], "execution: method request")
	}
	patch("/*/*/logging/loglevel", "INFO", "/*/*/logging/dataTrace", "true",
		"/~1{proxy+}/GET/logging/loglevel", "OFF", "/~1{proxy+}/GET/logging/dataTrace", "false")
	if !logged() {
		t.Fatal("a GET entry applied to the ANY method: the docs say settings key on the declared method")
	}
	patch("/~1{proxy+}/ANY/logging/loglevel", "OFF", "/~1{proxy+}/ANY/logging/dataTrace", "false")
	if logged() {
		t.Error("the ANY method's own entry (OFF) did not turn its GET requests' execution logs off")
	}
}
