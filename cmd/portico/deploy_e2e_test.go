package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// cliErr runs one portico command against env and returns its output and error.
func cliErr(env *apptest.Env, args ...string) (string, error) {
	var out bytes.Buffer
	err := runRoot(&out, &out, append([]string{"--endpoint", env.AdminURL}, args...)...)
	return out.String(), err
}

// samTree lays out the sample templates as the repository has them, with the
// built functions where their CodeUri (../../bin/samples/NAME) points, and
// returns the tree's root.
func samTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, s := range []string{"hello", "chat"} {
		data, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), "samples", s, "template.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if s == "chat" {
			// The process runtime links a volume at /mnt/NAME, which is one path
			// for the whole host: other packages' tests link /mnt/chat to their own
			// data directories while this one runs. This test's room is elsewhere.
			// (The process runtime links /mnt/NAME to volume NAME only.)
			text := strings.Replace(string(data), "- Arn: portico:volume:chat\n        LocalMountPath: /mnt/chat\n",
				"- Arn: portico:volume:chat-deploy-test\n        LocalMountPath: /mnt/chat-deploy-test\n    Environment:\n      Variables:\n        CHAT_DIR: /mnt/chat-deploy-test\n", 1)
			if text == string(data) {
				t.Fatal("the chat template no longer mounts /mnt/chat; update this test")
			}
			data = []byte(text)
		}
		writeFile(t, filepath.Join(root, "samples", s, "template.yaml"), data, 0o600)
	}
	built := map[string]string{
		"hello":            apptest.Sample(t, "hello"),
		"chat-connect":     apptest.Sample(t, "chat/cmd/chat-connect"),
		"chat-disconnect":  apptest.Sample(t, "chat/cmd/chat-disconnect"),
		"chat-sendmessage": apptest.Sample(t, "chat/cmd/chat-sendmessage"),
	}
	for name, dir := range built {
		data, err := os.ReadFile(filepath.Join(dir, "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "bin", "samples", name, "bootstrap"), data, 0o755)
	}
	return root
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

func stackRecord(t *testing.T, env *apptest.Env, name string) *deploy.Record {
	t.Helper()
	rec, err := (&deploy.HTTPTarget{C: env.Client()}).GetStack(context.Background(), name)
	if err != nil || rec == nil {
		t.Fatalf("stack %s: %v %v", name, rec, err)
	}
	return rec
}

// adminJSON GETs an admin path and decodes it into v.
func adminJSON(t *testing.T, env *apptest.Env, path string, v any) {
	t.Helper()
	resp, err := env.Client().Do(context.Background(), http.MethodGet, path, nil, nil, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func versions(t *testing.T, env *apptest.Env, fn string) []string {
	t.Helper()
	var out struct {
		Versions []struct{ Version string }
	}
	adminJSON(t, env, "/2015-03-31/functions/"+fn+"/versions", &out)
	var vs []string
	for _, v := range out.Versions {
		vs = append(vs, v.Version)
	}
	return vs
}

func deploymentCount(t *testing.T, env *apptest.Env, api string) int {
	t.Helper()
	var out struct{ Items []json.RawMessage }
	adminJSON(t, env, "/portico/v1/apis/"+api+"/deployments", &out)
	return len(out.Items)
}

// state is what the server holds, for comparing before and after a refused deploy.
func state(t *testing.T, env *apptest.Env) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/2015-03-31/functions", "/portico/v1/apis", "/portico/v1/stacks"} {
		resp, err := env.Client().Do(context.Background(), http.MethodGet, p, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(resp.Body)
	}
	return b.String()
}

type greeting struct {
	FunctionVersion string `json:"functionVersion"`
	Greeting        string `json:"greeting"`
	Name            string `json:"name"`
}

func callHello(t *testing.T, env *apptest.Env, api string) greeting {
	t.Helper()
	resp, err := http.Get(env.GatewayURL + "/" + api + "/Prod/hello?name=you")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /hello: %d %s", resp.StatusCode, body)
	}
	var g greeting
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatalf("GET /hello: %s: %v", body, err)
	}
	return g
}

// chat connects two clients to the chat stack's stage and has one send a
// message to the other.
func chat(t *testing.T, env *apptest.Env, api, text string) {
	t.Helper()
	url := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api + "/dev"
	dial := func() *websocket.Conn {
		c, resp, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("dial %s: %v %v", url, err, resp)
		}
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	alice, bob := dial(), dial()
	msg, _ := json.Marshal(map[string]string{"action": "sendmessage", "data": text})
	if err := alice.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatal(err)
	}
	// A deadline so that a lost message fails the test instead of hanging it.
	_ = bob.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, got, err := bob.ReadMessage()
	if err != nil || string(got) != text {
		t.Fatalf("bob got %q, %v; want %q", got, err, text)
	}
}

// dropResources removes the named resources (two-space-indented blocks under
// Resources) from a template's text.
func dropResources(text string, ids ...string) string {
	drop := map[string]bool{}
	for _, id := range ids {
		drop[id] = true
	}
	var out []string
	skipping := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") && strings.HasSuffix(line, ":") {
			skipping = drop[strings.TrimSuffix(strings.TrimSpace(line), ":")]
		} else if line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			skipping = false
		}
		if !skipping {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestDeploySampleTemplates deploys the hello and chat sample templates on a
// fresh server with `portico deploy`, calls hello through the gateway and chats
// between two WebSocket clients, redeploys hello with one environment change
// (one new version, no new deployment anywhere), removes a resource from the
// chat template (it is gone), and refuses bad templates without changing
// anything.
func TestDeploySampleTemplates(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	root := samTree(t)
	hello := filepath.Join(root, "samples", "hello", "template.yaml")
	chatT := filepath.Join(root, "samples", "chat", "template.yaml")

	out := cliCombined(t, env, "deploy", "--template", hello)
	if !strings.Contains(out, "Stack hello deployed: 2 created") {
		t.Fatalf("deploy hello printed:\n%s", out)
	}
	helloAPI := stackRecord(t, env, "hello").Resources["ServerlessRestApi"].PhysicalID
	if g := callHello(t, env, helloAPI); g.Greeting != "Hello from portico deploy" || g.FunctionVersion != "1" || g.Name != "you" {
		t.Fatalf("hello answered %+v", g)
	}

	out = cliCombined(t, env, "deploy", "--template", chatT)
	if !strings.Contains(out, "Stack chat deployed: 4 created") || !strings.Contains(out, "OnConnectPermission (AWS::Lambda::Permission): accepted and ignored") {
		t.Fatalf("deploy chat printed:\n%s", out)
	}
	chatAPI := stackRecord(t, env, "chat").Resources["ChatWebSocket"].PhysicalID
	chat(t, env, chatAPI, "hello from alice")

	// Redeploy hello with one environment change: one new version of one function.
	chatDeps, helloDeps := deploymentCount(t, env, chatAPI), deploymentCount(t, env, helloAPI)
	chatVersions := versions(t, env, "chat-SendMessageFunction")
	out = cliCombined(t, env, "deploy", "--template", hello, "--parameter-overrides", "ParameterKey=Greeting,ParameterValue=Hi")
	if !strings.Contains(out, "0 created, 1 updated, 0 deleted, 1 unchanged") {
		t.Fatalf("redeploy printed:\n%s", out)
	}
	if got := versions(t, env, "hello-HelloFunction"); strings.Join(got, ",") != "$LATEST,1,2" {
		t.Errorf("hello versions = %v, want $LATEST,1,2", got)
	}
	if got := deploymentCount(t, env, helloAPI); got != helloDeps {
		t.Errorf("hello API deployments = %d, want %d (unchanged)", got, helloDeps)
	}
	if g := callHello(t, env, helloAPI); g.Greeting != "Hi" || g.FunctionVersion != "2" {
		t.Fatalf("hello answered %+v after the redeploy", g)
	}
	// Deploying chat again changes nothing.
	out = cliCombined(t, env, "deploy", "--template", chatT)
	if !strings.Contains(out, "Stack chat is up to date") {
		t.Fatalf("redeploy of chat printed:\n%s", out)
	}
	if got := deploymentCount(t, env, chatAPI); got != chatDeps {
		t.Errorf("chat API deployments = %d, want %d", got, chatDeps)
	}
	if got := versions(t, env, "chat-SendMessageFunction"); strings.Join(got, ",") != strings.Join(chatVersions, ",") {
		t.Errorf("chat versions = %v, want %v", got, chatVersions)
	}

	// A dry run prints the plan and changes nothing.
	before := state(t, env)
	out = cliCombined(t, env, "deploy", "--template", hello, "--dry-run", "--parameter-overrides", "Greeting=Bonjour", "Greeting=Salut")
	if !strings.Contains(out, "0 to create, 1 to update, 0 to delete, 1 unchanged") || !strings.Contains(out, "Dry run: nothing changed.") {
		t.Errorf("dry run printed:\n%s", out)
	}
	if after := state(t, env); after != before {
		t.Errorf("a dry run changed the server")
	}

	// Bad templates: each refused with what to fix, nothing changed.
	data, err := os.ReadFile(hello)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]struct{ text, want string }{
		"notyaml":  {"Resources: [\n  {{{\n", "is not a YAML or JSON template"},
		"badref":   {strings.Replace(string(data), "!Ref Greeting", "!Ref Greetings", 1), "Ref Greetings: no parameter or resource is named Greetings"},
		"nocode":   {strings.Replace(string(data), "../../bin/samples/hello", "../../bin/samples/nothing-here", 1), "nothing-here does not exist"},
		"vpc":      {strings.Replace(string(data), "            Method: get\n", "            Method: get\n            Auth:\n              ResourcePolicy:\n                SourceVpcWhitelist: [vpc-1]\n", 1), "SourceVpcWhitelist is refused"},
		"notfound": {strings.Replace(string(data), "\nOutputs:", "  Extra:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ../../bin/samples/hello\n      Environment:\n        Variables:\n          X: !GetAtt Nope.Arn\n\nOutputs:", 1), "!GetAtt Nope.Arn: no resource is named Nope"},
	}
	for name, b := range bad {
		path := filepath.Join(root, "samples", "hello", name+".yaml")
		writeFile(t, path, []byte(b.text), 0o600)
		out, err := cliErr(env, "deploy", "--template", path, "--stack", "hello")
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err = %v, want %q\n%s", name, err, b.want, out)
		}
	}
	if after := state(t, env); after != before {
		t.Errorf("a refused deploy changed the server:\nbefore %s\nafter  %s", before, after)
	}

	// Remove a resource (the $disconnect route, its integration, function and
	// permission) and ship it with a Deployment of a new logical id (the
	// stage has no AutoDeploy): the function and the route are gone, the
	// stage serves a new deployment, chat still works.
	chatText, err := os.ReadFile(chatT)
	if err != nil {
		t.Fatal(err)
	}
	chatStage := stackRecord(t, env, "chat").Resources["ChatWebSocket"]
	smaller := dropResources(string(chatText), "DisconnectRoute", "DisconnectInteg", "OnDisconnectFunction", "OnDisconnectPermission")
	smaller = strings.Replace(smaller, "DependsOn: [ConnectRoute, SendRoute, DisconnectRoute]", "DependsOn: [ConnectRoute, SendRoute]", 1)
	smaller = strings.Replace(strings.Replace(smaller, "  Deployment:\n", "  DeploymentV2:\n", 1), "DeploymentId: !Ref Deployment\n", "DeploymentId: !Ref DeploymentV2\n", 1)
	writeFile(t, chatT, []byte(smaller), 0o600)
	out = cliCombined(t, env, "deploy", "--template", chatT)
	if !strings.Contains(out, "0 created, 1 updated, 1 deleted, 2 unchanged") {
		t.Fatalf("deploy of the smaller chat printed:\n%s", out)
	}
	if _, err := env.Client().Do(context.Background(), http.MethodGet, "/2015-03-31/functions/chat-OnDisconnectFunction", nil, nil, nil); err == nil {
		t.Error("function chat-OnDisconnectFunction is still there")
	}
	var routes struct{ Items []struct{ RouteKey string } }
	adminJSON(t, env, "/portico/v1/apis/"+chatAPI+"/routes", &routes)
	for _, r := range routes.Items {
		if r.RouteKey == "$disconnect" {
			t.Error("route $disconnect is still there")
		}
	}
	if _, ok := stackRecord(t, env, "chat").Resources["OnDisconnectFunction"]; ok {
		t.Error("the chat stack still records OnDisconnectFunction")
	}
	if now := stackRecord(t, env, "chat").Resources["ChatWebSocket"]; now.Deployment == chatStage.Deployment || now.DeploymentResource != "DeploymentV2" {
		t.Errorf("stage %s serves deployment %s of %s, was %s: want a new one, of DeploymentV2", now.Stage, now.Deployment, now.DeploymentResource, chatStage.Deployment)
	}
	chat(t, env, chatAPI, "still here")
}

// TestDeployIAMAndResourcePolicy deploys the hello sample with SAM's
// Auth.DefaultAuthorizer AWS_IAM and an Auth.ResourcePolicy, which the gateway
// enforces: an unsigned request is refused, one signed by the AWS SDK for Go
// v2 signer for a principal allowed to invoke is answered; a resource policy
// blacklisting the caller's range refuses it, whitelisting it admits it.
func TestDeployIAMAndResourcePolicy(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	root := samTree(t)
	path := filepath.Join(root, "samples", "hello", "template.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	withAuth := func(auth string) {
		text := strings.Replace(string(data), "\nResources:\n", "\nResources:\n  ServerlessRestApi:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: Prod\n      Auth:\n"+auth+"\n", 1)
		text = strings.ReplaceAll(text, "            Method: get\n", "            Method: get\n            RestApiId: !Ref ServerlessRestApi\n")
		text = strings.ReplaceAll(text, "            Method: any\n", "            Method: any\n            RestApiId: !Ref ServerlessRestApi\n")
		writeFile(t, path, []byte(text), 0o600)
		if out, err := cliErr(env, "deploy", "--template", path, "--stack", "hello"); err != nil {
			t.Fatalf("deploy with Auth %q: %v\n%s", auth, err, out)
		}
	}
	withAuth("        DefaultAuthorizer: AWS_IAM")
	api := stackRecord(t, env, "hello").Resources["ServerlessRestApi"].PhysicalID
	u := env.GatewayURL + "/" + api + "/Prod/hello?name=you"
	send := func(c aws.Credentials) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if c.AccessKeyID != "" {
			sigv4test.SignNow(t, req, c, nil, "execute-api")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := send(aws.Credentials{}); st != 403 || !strings.Contains(body, "Missing Authentication Token") {
		t.Errorf("unsigned after the AWS_IAM deploy: %d %s", st, body)
	}
	cli := func(args ...string) string {
		out, err := cliErr(env, args...)
		if err != nil {
			t.Fatalf("portico %v: %v\n%s", args, err, out)
		}
		return out
	}
	cli("iam", "user", "create", "alice")
	var key struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
	}
	if err := json.Unmarshal([]byte(cli("iam", "key", "create", "alice", "--output", "json")), &key); err != nil || key.AccessKeyID == "" {
		t.Fatalf("create-access-key: %v %+v", err, key)
	}
	alice := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	if st, body := send(alice); st != 403 {
		t.Errorf("alice without a policy: %d %s", st, body)
	}
	cli("iam", "policy", "put", "alice", "invoke", "--document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`)
	// SAM's default InvokeRole is CALLER_CREDENTIALS: alice's own policies
	// must also let her invoke the function.
	if st, body := send(alice); st != 500 || !strings.Contains(body, "Internal server error") {
		t.Errorf("alice without lambda:InvokeFunction: %d %s", st, body)
	}
	cli("iam", "policy", "put", "alice", "lambda", "--document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:*:*:function:*"}]}`)
	if st, body := send(alice); st != 200 || !strings.Contains(body, "Hello from portico deploy") {
		t.Errorf("alice allowed: %d %s", st, body)
	}
	cli("iam", "policy", "delete", "alice", "lambda")
	withAuth("        DefaultAuthorizer: AWS_IAM\n        InvokeRole: NONE")
	if st, body := send(alice); st != 200 || !strings.Contains(body, "Hello from portico deploy") {
		t.Errorf("alice with InvokeRole NONE: %d %s", st, body)
	}

	withAuth("        ResourcePolicy:\n          IpRangeBlacklist: [127.0.0.0/8, \"::1/128\"]")
	if st, body := send(aws.Credentials{}); st != 403 || !strings.Contains(body, "explicit deny") {
		t.Errorf("blacklisted caller: %d %s", st, body)
	}
	withAuth("        ResourcePolicy:\n          IpRangeWhitelist: [127.0.0.0/8, \"::1/128\"]")
	if st, body := send(aws.Credentials{}); st != 200 {
		t.Errorf("whitelisted caller: %d %s", st, body)
	}
}

// TestDeployRemovesUsagePlan deploys the hello sample with a per-API usage
// plan, then without it: the plan (which has the API's stage) goes away, its
// stage removed before the delete the admin API only takes for a plan without
// stages.
func TestDeployRemovesUsagePlan(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	root := samTree(t)
	path := filepath.Join(root, "samples", "hello", "template.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	deployWith := func(auth string) {
		t.Helper()
		text := string(data)
		if auth != "" {
			text = strings.Replace(text, "\nResources:\n", "\nResources:\n  ServerlessRestApi:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: Prod\n      Auth:\n"+auth+"\n", 1)
			text = strings.ReplaceAll(text, "            Method: get\n", "            Method: get\n            RestApiId: !Ref ServerlessRestApi\n")
			text = strings.ReplaceAll(text, "            Method: any\n", "            Method: any\n            RestApiId: !Ref ServerlessRestApi\n")
		}
		writeFile(t, path, []byte(text), 0o600)
		if out, err := cliErr(env, "deploy", "--template", path, "--stack", "hello"); err != nil {
			t.Fatalf("deploy with Auth %q: %v\n%s", auth, err, out)
		}
	}
	plans := func() int {
		var out struct {
			Item []struct {
				ID string `json:"id"`
			} `json:"item"`
		}
		adminJSON(t, env, "/usageplans", &out)
		return len(out.Item)
	}
	const plan = "        UsagePlan:\n          CreateUsagePlan: PER_API\n          Quota:\n            Limit: 100\n            Period: DAY"
	deployWith(plan)
	if n := plans(); n != 1 {
		t.Fatalf("usage plans after a deploy with one: %d", n)
	}
	// The same API without its plan: the plan is deleted.
	deployWith("        ApiKeyRequired: false")
	if n := plans(); n != 0 {
		t.Fatalf("usage plans after a deploy without one: %d", n)
	}
}

// TestStackDelete deploys the hello sample, deletes the stack (its
// functions, APIs and usage plan, then its record) and deploys it again.
func TestStackDelete(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := filepath.Join(samTree(t), "samples", "hello", "template.yaml")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "hello")
	rec := stackRecord(t, env, "hello")
	out := cliCombined(t, env, "stack", "delete", "hello")
	if !strings.Contains(out, "Stack hello deleted:") {
		t.Fatalf("stack delete printed:\n%s", out)
	}
	for id, r := range rec.Resources {
		noun := map[string]string{deploy.KindFunction: "fn", deploy.KindAPI: "api"}[r.Kind]
		if _, err := cliErr(env, noun, "get", r.PhysicalID); err == nil {
			t.Errorf("%s (%s %s) is still there", id, r.Kind, r.PhysicalID)
		}
	}
	if _, err := cliErr(env, "stack", "delete", "hello"); err == nil {
		t.Error("deleting the stack again succeeded")
	}
	cliCombined(t, env, "deploy", "--template", path, "--stack", "hello")
}

// TestFailedDeployPutsBackLatestAndDefinition deploys a template on a real
// server, then a change to the function's code and environment and to the
// API's routes whose later resource (a stage setting the server refuses)
// fails: the deploy rolls back, and the function's $LATEST (code and
// configuration) and the API's definition are what they were before.
func TestFailedDeployPutsBackLatestAndDefinition(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	const tpl = `Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Handler: bootstrap
      Runtime: provided.al2023
      AutoPublishAlias: live
      Environment:
        Variables:
          GREETING: one
      Events:
        Get:
          Type: Api
          Properties:
            Path: /one
            Method: get
            RestApiId: !Ref Api
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      MethodSettings:
        - ResourcePath: "/*"
          HttpMethod: "*"
          CacheTtlInSeconds: 60
`
	path := filepath.Join(dir, "template.yaml")
	writeFile(t, filepath.Join(dir, "fn", "bootstrap"), []byte("#!/bin/sh\necho one\n"), 0o755)
	writeFile(t, path, []byte(tpl), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "rb")
	rec := stackRecord(t, env, "rb")
	fn, api := rec.Resources["Fn"].PhysicalID, rec.Resources["Api"].PhysicalID
	type config struct {
		CodeSha256  string
		Environment struct{ Variables map[string]string }
	}
	var cfgBefore config
	adminJSON(t, env, "/2015-03-31/functions/"+fn+"/configuration", &cfgBefore)
	var defBefore json.RawMessage
	adminJSON(t, env, "/portico/v1/apis/"+api+"/routes", &defBefore)
	if !strings.Contains(string(defBefore), `"/one"`) || cfgBefore.Environment.Variables["GREETING"] != "one" {
		t.Fatalf("first deploy: routes %s, configuration %+v", defBefore, cfgBefore)
	}

	// New code, a new environment, a new route, and a TTL the server refuses.
	writeFile(t, filepath.Join(dir, "fn", "bootstrap"), []byte("#!/bin/sh\necho two\n"), 0o755)
	changed := strings.NewReplacer("GREETING: one", "GREETING: two", "Path: /one", "Path: /two",
		"CacheTtlInSeconds: 60", "CacheTtlInSeconds: 99999").Replace(tpl)
	writeFile(t, path, []byte(changed), 0o600)
	out, err := cliErr(env, "deploy", "--template", path, "--stack", "rb")
	if err == nil || !strings.Contains(out+err.Error(), "put back $LATEST of function "+fn) ||
		!strings.Contains(out+err.Error(), "put back the definition of API "+api) {
		t.Fatalf("the failing deploy: %v\n%s", err, out)
	}
	var cfgAfter config
	adminJSON(t, env, "/2015-03-31/functions/"+fn+"/configuration", &cfgAfter)
	if cfgAfter.CodeSha256 != cfgBefore.CodeSha256 || cfgAfter.Environment.Variables["GREETING"] != "one" {
		t.Errorf("$LATEST after the failed deploy: %+v, want %+v", cfgAfter, cfgBefore)
	}
	var defAfter json.RawMessage
	adminJSON(t, env, "/portico/v1/apis/"+api+"/routes", &defAfter)
	if string(defAfter) != string(defBefore) {
		t.Errorf("routes after the failed deploy:\n%s\nwant\n%s", defAfter, defBefore)
	}
}
