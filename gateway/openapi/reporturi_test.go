package openapi

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// lambdaInvocationRe is the form API Gateway takes for a Lambda integration's
// uri (REST, WebSocket) and for every authorizerUri.
var lambdaInvocationRe = regexp.MustCompile(`^arn:aws:apigateway:[a-z]{2}-[a-z]+-\d:lambda:path/2015-03-31/functions/arn:aws:lambda:[a-z]{2}-[a-z]+-\d:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?/invocations$`)

// TestExportReportsLambdaARNs: an API whose integrations and authorizer name
// functions as function:NAME exports them as API Gateway reports them (REST:
// invocation ARNs; HTTP: the function ARN; authorizers: invocation ARNs),
// and export -> import -> export gives the same document.
func TestExportReportsLambdaARNs(t *testing.T) {
	const auth = `"components": {"securitySchemes": {"authz": {"type": "apiKey", "name": "Authorization", "in": "header",
	  "x-amazon-apigateway-authtype": "custom", "x-amazon-apigateway-authorizer": {"type": "request", "authorizerUri": "function:authz:live",
	  "identitySource": "%s"}}}},`
	docs := []struct {
		protocol, doc, wantURI string
	}{
		{"REST", `{"openapi": "3.0.1", "info": {"title": "r", "version": "1"},
		  ` + fmtAuth(auth, "method.request.header.Authorization") + `
		  "paths": {"/a": {"get": {"security": [{"authz": []}], "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:hello:live"}}}}}`,
			"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello:live/invocations"},
		{"HTTP", `{"openapi": "3.0.1", "info": {"title": "h", "version": "1"}, "x-amazon-apigateway-importexport-version": "1.0",
		  ` + fmtAuth(auth, "$request.header.Authorization") + `
		  "paths": {"/a": {"get": {"security": [{"authz": []}], "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:hello:live", "payloadFormatVersion": "2.0"}}}}}`,
			"arn:aws:lambda:us-east-1:000000000000:function:hello:live"},
	}
	for _, d := range docs {
		t.Run(d.protocol, func(t *testing.T) {
			res, err := Import(t.Context(), []byte(d.doc), Options{Protocol: d.protocol})
			if err != nil {
				t.Fatal(err)
			}
			for _, format := range []string{FormatOAS3, FormatSwagger2} {
				out, err := Export(res.API, format)
				if err != nil {
					t.Fatal(err)
				}
				var doc struct {
					Paths map[string]map[string]struct {
						Integration struct {
							URI string `json:"uri"`
						} `json:"x-amazon-apigateway-integration"`
					} `json:"paths"`
					Components struct {
						Schemes map[string]json.RawMessage `json:"securitySchemes"`
					} `json:"components"`
					Definitions map[string]json.RawMessage `json:"securityDefinitions"`
				}
				if err := json.Unmarshal(out, &doc); err != nil {
					t.Fatal(err)
				}
				if got := doc.Paths["/a"]["get"].Integration.URI; got != d.wantURI {
					t.Errorf("%s: uri %q, want %q", format, got, d.wantURI)
				}
				scheme := doc.Components.Schemes["authz"]
				if format == FormatSwagger2 {
					scheme = doc.Definitions["authz"]
				}
				var sch struct {
					X struct {
						URI string `json:"authorizerUri"`
					} `json:"x-amazon-apigateway-authorizer"`
				}
				if err := json.Unmarshal(scheme, &sch); err != nil || !lambdaInvocationRe.MatchString(sch.X.URI) {
					t.Errorf("%s: authorizerUri %q (%v) is not in API Gateway's form", format, sch.X.URI, err)
				}
				if d.protocol == "REST" && !lambdaInvocationRe.MatchString(d.wantURI) {
					t.Errorf("%q is not in API Gateway's form", d.wantURI)
				}
				again, err := Import(t.Context(), out, Options{Protocol: d.protocol})
				if err != nil {
					t.Fatalf("import of the %s export: %v", format, err)
				}
				out2, err := Export(again.API, format)
				if err != nil || !bytes.Equal(out2, out) {
					t.Errorf("export(import(export)) differs (%v):\n%s\nwant:\n%s", err, out2, out)
				}
			}
		})
	}
}

// fmtAuth is the components object with the authorizer of identity source.
func fmtAuth(format, source string) string { return strings.ReplaceAll(format, "%s", source) }
