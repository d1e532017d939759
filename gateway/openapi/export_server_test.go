package openapi

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestExportStageSwaggerServer: a Swagger 2.0 export of a stage says where
// it is served as API Gateway's does (host APIID.execute-api.REGION..., basePath
// /STAGE): the host-based URL's host and the stage alone as basePath, / for
// an HTTP API's $default stage; without a domain, the path-based /APIID/STAGE.
func TestExportStageSwaggerServer(t *testing.T) {
	t.Parallel()
	a := &apis.API{ID: "abc123defg", Name: "s", Protocol: apis.ProtocolREST}
	for _, tc := range []struct {
		sv                     Server
		host, basePath, scheme string
	}{
		{Server{Base: "http://127.0.0.1:8080", Domain: "execute-api.localhost", Stage: "dev"}, "abc123defg.execute-api.localhost:8080", "/dev", "http"},
		{Server{Base: "https://localhost/", Domain: "api.test", Stage: "prod"}, "abc123defg.api.test", "/prod", "https"},
		{Server{Base: "http://[::1]:9000", Domain: "execute-api.localhost", Stage: apis.RouteDefault}, "abc123defg.execute-api.localhost:9000", "/", "http"},
		{Server{Base: "http://127.0.0.1:8080", Stage: "dev"}, "127.0.0.1:8080", "/abc123defg/dev", "http"},
	} {
		out, _, err := ExportStage(a, FormatSwagger2, tc.sv)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Host, BasePath string
			Schemes        []string
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Host != tc.host || doc.BasePath != tc.basePath || fmt.Sprint(doc.Schemes) != "["+tc.scheme+"]" {
			t.Errorf("%+v: host %q basePath %q schemes %v, want %q %q [%s]", tc.sv, doc.Host, doc.BasePath, doc.Schemes, tc.host, tc.basePath, tc.scheme)
		}
	}
}
