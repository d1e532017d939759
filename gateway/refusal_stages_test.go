package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/cors"
)

// TestRefusalsPassTheStageResponses: the gateway's refusals of a request
// whose stage is known (a declared body over the limit, 413; a bad escape in
// the query string, and a path with ";", an encoded slash or a dot segment
// above the stage, 400) leave through the stage's CORS stage and gateway
// responses, as every other error does: an HTTP API's answer carries
// Access-Control-Allow-Origin and Vary: Origin, a REST API's is its
// DEFAULT_4XX.
func TestRefusalsPassTheStageResponses(t *testing.T) {
	e := newEnv(t)
	e.gw.Use(cors.New())
	route := apis.Route{Method: "POST", Path: "/e", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "POST", URI: "http://127.0.0.1:1/e", PayloadFormatVersion: "1.0"}}
	httpID := e.deploy(&apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
		CORS:   &apis.CORSConfiguration{AllowOrigins: []string{"https://a.example.com"}, AllowMethods: []string{"GET", "POST"}},
		Routes: []apis.Route{route},
	}}, "dev", nil)
	restID := e.deploy(&apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{
		GatewayResponses: map[string]apis.GatewayResponse{"DEFAULT_4XX": {
			ResponseParameters: map[string]string{"gatewayresponse.header.X-Def4": "'yes'"},
			ResponseTemplates:  map[string]string{"application/json": `{"custom":$context.error.messageString}`}}},
		Routes: []apis.Route{route},
	}}, "dev", nil)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	send := func(raw string) rawAnswer {
		t.Helper()
		answers := rawAnswers(t, addr, raw)
		if len(answers) != 1 {
			t.Fatalf("%d answers to %q", len(answers), raw)
		}
		return answers[0]
	}
	for _, c := range []struct {
		name, target, length string
		status               int
	}{
		{"content-length over the limit", "/e", "10485761", http.StatusRequestEntityTooLarge},
		{"bad query escape", "/e?a=%zz", "0", http.StatusBadRequest},
		{"encoded slash", "/e%2F", "0", http.StatusBadRequest},
		{"semicolon", "/e;x", "0", http.StatusBadRequest},
		{"dot segment above the stage", "/../e", "0", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := send("POST /" + httpID + "/dev" + c.target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nOrigin: https://a.example.com\r\nContent-Length: " + c.length + "\r\n\r\n")
			if res.StatusCode != c.status || res.Header.Get("Access-Control-Allow-Origin") != "https://a.example.com" || res.Header.Get("Vary") != "Origin" ||
				res.Header.Get("X-Amzn-Requestid") == "" {
				t.Errorf("HTTP API: %d %v; want %d with the CORS fields", res.StatusCode, res.Header, c.status)
			}
			res = send("POST /" + restID + "/dev" + c.target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " + c.length + "\r\n\r\n")
			if res.StatusCode != c.status || res.Header.Get("X-Def4") != "yes" || !strings.HasPrefix(res.body, `{"custom":`) || res.Header.Get("X-Amzn-Requestid") == "" {
				t.Errorf("REST API: %d %v %s; want %d from DEFAULT_4XX", res.StatusCode, res.Header, res.body, c.status)
			}
		})
	}
}
