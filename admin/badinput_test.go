package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// badBodies are what TestEveryRouteRefusesBadInput sends to each route that
// takes a body: nothing, broken JSON, JSON of the wrong kind, fields of the
// wrong types, patch operations that make no sense, deep nesting, and bytes.
var badBodies = []string{
	``,
	`{`,
	`null`,
	`[]`,
	`"x"`,
	`{"unknownField":"x"}`,
	`{"Name":1,"name":[],"FunctionName":{},"Description":{},"Timeout":"x","MemorySize":-1,"Runtime":7,"Code":"x","Environment":{"Variables":{"A":1}},` +
		`"RoutingConfig":{"AdditionalVersionWeights":{"1":7}},"FunctionVersion":[],"Tags":[1],"tags":"x","patchOperations":"x","value":1e400,` +
		`"routeKey":5,"target":[],"protocolType":{},"stageName":0,"stageVariables":[],"variables":{"a":{}},"limit":-1,"quota":{"limit":"x"},"throttle":{"rateLimit":"x"},` +
		`"apiStages":[{"apiId":1}],"keyType":0,"enabled":"yes","body":{},"Payload":[],"openapi":1,"paths":[]}`,
	`{"patchOperations":[{"op":"replace","path":"/a/b/c~1d~0","value":"x"},{"op":"move","from":"/x"},{"op":"bogus","path":""},{},` +
		`{"op":"add","path":"/*/*/throttling/rateLimit","value":"-1"},{"op":"remove","path":"/~"},{"op":"replace","path":"/variables/","value":"\u0000"}]}`,
	strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
	"\x00\xff\xfe binary \x80\x81",
}

// badQuery is a query string of parameters the routes read, all out of range or
// of the wrong kind.
const badQuery = "Qualifier=%00&mode=bogus&limit=-1&position=%ZZ&maxItems=abc&Marker=!!&MaxItems=-5&nextToken=x&maxResults=1e9&" +
	"failonwarnings=maybe&exportType=nope&format=x&extensions=integrations,,&since=-1&startDate=x&endDate=y&keyId=&follow=1&FunctionVersion=ALL%00"

// TestEveryRouteRefusesBadInput sends bad input to every route of the admin
// API (Lambda's, API Gateway's v1 and v2, IAM's and Portico's own): each of
// badBodies, and badQuery with the first of them, at paths whose parameters name real
// resources (a function with a version and an alias, a REST API with a stage,
// an API key and a usage plan, an HTTP API and a WebSocket API) where the
// route's parameters can be resolved, and at garbage ones. Every answer must be
// an answer: no server error (a 5xx other than 501 for what Portico does not
// implement and 503 for what the runtime cannot do), no connection cut off
// without one (a panic), a JSON or XML error document on 4xx; and the server
// still serves afterwards.
func TestEveryRouteRefusesBadInput(t *testing.T) {
	t.Parallel()
	var srv *admin.Server
	env := apptest.Start(t, apptest.Options{Populate: []any{&srv}})
	ctx := t.Context()
	fn := sdk(env)
	createHello(t, ctx, fn, "badin", "x")
	if _, err := fn.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("badin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fn.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("badin"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	v1 := apigateway.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	rest, err := v1.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("badin")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v1.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: rest.Id, ParentId: rest.RootResourceId, PathPart: aws.String("items")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v1.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: rest.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: rest.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), Type: "MOCK",
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: rest.Id, StageName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	key, err := v1.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("badin"), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := v1.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("badin")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v1.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: plan.Id, KeyId: key.Id, KeyType: aws.String("API_KEY")}); err != nil {
		t.Fatal(err)
	}
	v2 := apigatewayv2.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	if _, err := v2.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("badin-http"), ProtocolType: v2types.ProtocolTypeHttp,
		Target: aws.String("arn:aws:lambda:us-east-1:000000000000:function:badin")}); err != nil {
		t.Fatal(err)
	}
	ws, err := v2.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("badin-ws"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: ws.ApiId, RouteKey: aws.String("$default")}); err != nil {
		t.Fatal(err)
	}

	f := &routeFuzzer{t: t, base: env.AdminURL, client: &http.Client{Timeout: 20 * time.Second}, pool: map[string]bool{}, tried: map[string]bool{}}
	for _, v := range []string{"nope", "GET", "dev", "live", "1", "200", "oas30", "swagger", "DEFAULT_4XX"} {
		f.pool[v] = true
	}
	var gets, others []string
	for _, p := range admin.Patterns(srv) {
		if strings.HasPrefix(p, "/") { // any method
			gets, others = append(gets, "GET "+p), append(others, "POST "+p)
			continue
		}
		if strings.HasPrefix(p, "GET ") {
			gets = append(gets, p)
		} else {
			others = append(others, p)
		}
	}
	// Resolve the GET routes with fewer parameters first: their values start
	// the longer paths below them.
	sort.SliceStable(gets, func(i, j int) bool {
		return len(paramRe.FindAllString(gets[i], -1)) < len(paramRe.FindAllString(gets[j], -1))
	})
	f.valid = map[string][][]string{}
	for range 2 { // a second round finds what the first one's answers named
		for _, p := range gets {
			f.resolve(p)
		}
	}
	var unresolved []string
	for _, p := range gets {
		if len(f.valid[strings.TrimPrefix(p, "GET ")]) == 0 {
			unresolved = append(unresolved, p)
		}
	}
	t.Logf("GET routes without real values (garbage only): %q", unresolved)
	// DELETE last, so that the resources stay for the other routes.
	sort.SliceStable(others, func(i, j int) bool {
		return !strings.HasPrefix(others[i], "DELETE ") && strings.HasPrefix(others[j], "DELETE ")
	})
	others = append(others, "POST /{$}") // IAM's query API
	for _, p := range append(gets, others...) {
		method, path, _ := strings.Cut(p, " ")
		for _, concrete := range f.paths(path) {
			bodies := badBodies
			if method == http.MethodGet || method == http.MethodDelete {
				bodies = bodies[:1]
			}
			// The bad query string with the first body only: a route reads
			// its query apart from its body.
			f.check(p, method, concrete, badQuery, bodies[0])
			for _, body := range bodies {
				f.check(p, method, concrete, "", body)
			}
		}
	}
	t.Logf("%d routes, %d requests; %d paths resolved to real resources; answers by status: %v", len(gets)+len(others), f.sent, len(f.valid), f.statuses)
	if _, err := fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")}); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("after the bad input, GetFunction of a missing function: %v", err)
	}
}

var paramRe = regexp.MustCompile(`\{[^}]*\}`)

// routeFuzzer sends the requests of TestEveryRouteRefusesBadInput.
type routeFuzzer struct {
	t      *testing.T
	base   string
	client *http.Client
	pool   map[string]bool       // every name and id seen in an answer
	valid  map[string][][]string // a path pattern -> sets of parameter values that GET answered 2xx for
	tried  map[string]bool       // the concrete paths resolve has sent
	sent   int
	// statuses counts the answers of check by status code.
	statuses map[int]int
}

// params returns the parameter names of path, "{$}" and "{x...}" included.
func params(path string) []string { return paramRe.FindAllString(path, -1) }

// fill puts vals into path's parameters, escaped (a "{x...}" value keeps its
// slashes).
func fill(path string, vals []string) string {
	i := 0
	return paramRe.ReplaceAllStringFunc(path, func(p string) string {
		if p == "{$}" {
			return ""
		}
		v := vals[i]
		i++
		if strings.HasSuffix(p, "...}") {
			return v
		}
		return url.PathEscape(v)
	})
}

// resolve finds values for GET route p's parameters that it answers 2xx
// for: those of the longest resolved route that p's path extends, with the
// last parameter searched among what the pool holds. Up to maxValid sets are
// kept.
func (f *routeFuzzer) resolve(p string) {
	_, path, _ := strings.Cut(p, " ")
	names := params(path)
	if len(f.valid[path]) > 0 || slices.Contains(names, "{$}") {
		return
	}
	if len(names) == 0 {
		f.get(path)
		f.valid[path] = [][]string{nil}
		return
	}
	starts, best := [][]string{nil}, -1
	for other, sets := range f.valid {
		if n := len(params(other)); strings.HasPrefix(path, other) && n > best && n <= len(names) && len(sets) > 0 {
			starts, best = sets, n
		}
	}
	pool := f.poolList()
	tries := 0
	for _, start := range starts {
		vals := slices.Clone(start)
		if len(vals) == len(names) {
			vals = vals[:len(vals)-1]
		}
		for len(vals) < len(names)-1 {
			vals = append(vals, pool[0]) // a guess; the last parameter is searched
		}
		for _, v := range pool {
			if tries++; tries > 1500 || len(f.valid[path]) == maxValid {
				return
			}
			concrete := fill(path, append(vals, v))
			if f.tried[concrete] { // the first round's answer stands
				continue
			}
			f.tried[concrete] = true
			if status, _ := f.get(concrete); status/100 == 2 {
				f.valid[path] = append(f.valid[path], append(slices.Clone(vals), v))
			}
		}
	}
}

// maxValid is how many sets of real values resolve keeps for a route.
const maxValid = 2

// poolList is the pool, sorted, with the most name-like values first.
func (f *routeFuzzer) poolList() []string {
	var out []string
	for v := range f.pool {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// paths returns concrete paths for a route: real values where its path was
// resolved (or a shorter path's values with garbage after), and garbage.
func (f *routeFuzzer) paths(path string) []string {
	n := len(params(path))
	if slices.Contains(params(path), "{$}") {
		n--
	}
	garbage := make([]string, n)
	for i := range garbage {
		garbage[i] = "nope/x"
	}
	out := []string{fill(path, garbage)}
	for i, vals := range f.valid[path] {
		if i == 2 {
			break
		}
		if len(vals) == n && n > 0 {
			out = append(out, fill(path, vals))
		}
	}
	return out
}

// get sends a GET and harvests the names and ids of its answer.
func (f *routeFuzzer) get(path string) (int, []byte) {
	resp, err := f.client.Get(f.base + path)
	f.sent++
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode/100 == 2 {
		var v any
		if json.Unmarshal(body, &v) == nil {
			f.harvest("", v)
		}
	}
	return resp.StatusCode, body
}

var idLike = regexp.MustCompile(`^[A-Za-z0-9$._:@-]{1,80}$`)

// harvest adds the strings of v found under keys that name or identify
// something to the pool.
func (f *routeFuzzer) harvest(key string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			f.harvest(k, x)
		}
	case []any:
		for _, x := range v {
			f.harvest(key, x)
		}
	case string:
		k := strings.ToLower(key)
		if idLike.MatchString(v) && (strings.HasSuffix(k, "id") || strings.HasSuffix(k, "name") || strings.HasSuffix(k, "key") ||
			strings.HasSuffix(k, "version") || k == "httpmethod" || k == "statuscode" || k == "type" || k == "routekey") {
			f.pool[v] = true
		}
	}
}

// check sends one request and fails the test on an answer that is not one.
func (f *routeFuzzer) check(pattern, method, path, query, body string) {
	f.t.Helper()
	u := f.base + path
	if query != "" {
		u += "?" + query
	}
	ctype := "application/json"
	if pattern == "POST /{$}" {
		ctype = "application/x-www-form-urlencoded"
		body = "Action=CreateRole&RoleName=" + url.QueryEscape(body) + "&AssumeRolePolicyDocument=" + url.QueryEscape(body)
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	f.sent++
	resp, err := f.client.Do(req)
	desc := fmt.Sprintf("%s %s (route %q, body %.40q, bad query: %v)", method, path, pattern, body, query != "")
	if err != nil {
		f.t.Errorf("%s: no answer: %v", desc, err)
		return
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if f.statuses == nil {
		f.statuses = map[int]int{}
	}
	f.statuses[resp.StatusCode]++
	switch {
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && resp.StatusCode != http.StatusServiceUnavailable:
		f.t.Errorf("%s: %d %s", desc, resp.StatusCode, got)
	case resp.StatusCode >= 400 && !errorDocument(got):
		f.t.Errorf("%s: %d with a body that is no error document: %.200q", desc, resp.StatusCode, got)
	}
}

// errorDocument reports whether b is an error in one of AWS's shapes: a JSON
// object with a message (Lambda's Message, API Gateway's message), or IAM's
// XML ErrorResponse.
func errorDocument(b []byte) bool {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("<")) {
		return bytes.Contains(b, []byte("<Error")) && bytes.Contains(b, []byte("<Message>"))
	}
	var doc map[string]any
	if json.Unmarshal(b, &doc) != nil {
		return false
	}
	for _, k := range []string{"message", "Message"} {
		if s, ok := doc[k].(string); ok && s != "" {
			return true
		}
	}
	return false
}
