package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestDeployCorrectsHTTPAPICORSAndIntegrationByHand: an HTTP API's CORS
// configuration loosened by hand (another origin, with credentials), and its
// route's integration re-pointed at another function, are served at once
// ($default deploys automatically), and the next deploy said "up to date"
// (r-sam28 #2, #4). The dry run names both; the deploy puts the template's
// back, and the deploy after is up to date.
func TestDeployCorrectsHTTPAPICORSAndIntegrationByHand(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	v2 := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("portico", "x", "")})
	path := samTestdata(t, "http-cors.yaml")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "c")
	rec := stackRecord(t, env, "c")
	api := rec.Resources["ServerlessHttpApi"].PhysicalID
	other := rec.Resources["Other"].PhysicalID
	url := env.GatewayURL + "/" + api + "/h"
	allowed := func() string {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", "https://evil.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Origin") + " " + resp.Header.Get("Access-Control-Allow-Credentials")
	}
	if got := allowed(); got != " " {
		t.Fatalf("CORS headers before the change by hand: %q, want none", got)
	}

	// The changes by hand.
	if _, err := v2.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: aws.String(api), CorsConfiguration: &types.Cors{
		AllowOrigins: []string{"https://evil.example"}, AllowCredentials: aws.Bool(true), AllowHeaders: []string{"authorization"}}}); err != nil {
		t.Fatalf("update-api: %v", err)
	}
	routes, err := v2.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(api)})
	if err != nil {
		t.Fatal(err)
	}
	var integration string
	for _, r := range routes.Items {
		if aws.ToString(r.RouteKey) == "GET /h" {
			integration = strings.TrimPrefix(aws.ToString(r.Target), "integrations/")
		}
	}
	was, err := v2.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: aws.String(api), IntegrationId: aws.String(integration)})
	if err != nil {
		t.Fatalf("get-integration %q: %v", integration, err)
	}
	if _, err := v2.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: aws.String(api), IntegrationId: aws.String(integration),
		IntegrationUri: aws.String("arn:aws:lambda:us-east-1:000000000000:function:" + other)}); err != nil {
		t.Fatalf("update-integration: %v", err)
	}
	if got := allowed(); got != "https://evil.example true" {
		t.Fatalf("CORS headers after the change by hand: %q, want it served", got)
	}

	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "c", "--dry-run")
	for _, want := range []string{"correct API " + api + ": its route GET /h's integration (it calls function " + other + "), CORS configuration differ from what the stack deployed"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run:\n%s\nwant %q", out, want)
		}
	}
	cliCombined(t, env, "deploy", "--template", path, "--stack", "c")
	if got := allowed(); got != " " {
		t.Errorf("CORS headers after the deploy: %q, want none", got)
	}
	now, err := v2.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: aws.String(api), IntegrationId: aws.String(integration)})
	if err != nil {
		// The definition was replaced: find the route's integration again.
		routes, err := v2.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(api)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range routes.Items {
			if aws.ToString(r.RouteKey) == "GET /h" {
				now, err = v2.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: aws.String(api), IntegrationId: aws.String(strings.TrimPrefix(aws.ToString(r.Target), "integrations/"))})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if aws.ToString(now.IntegrationUri) != aws.ToString(was.IntegrationUri) {
		t.Errorf("integration after the deploy calls %s, want %s", aws.ToString(now.IntegrationUri), aws.ToString(was.IntegrationUri))
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "c", "--dry-run"); !strings.Contains(out, "0 to create, 0 to update, 0 to delete") {
		t.Fatalf("a dry run after the deploy:\n%s\nwant up to date", out)
	}
}
