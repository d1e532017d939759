package connections_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/internal/wstest"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

const (
	e2eToken  = "e2e-admin-token"
	chatToken = "let-me-in"
)

// chatApp is the chat sample deployed into a running server.
type chatApp struct {
	env     *apptest.Env
	c       *client.Client
	apiID   string
	gateway string // host:port of the gateway, reachable from the test
	ws      string // ws://host:port/{api}/dev
}

func (a *chatApp) admin(t *testing.T, method, path string, body any) []byte {
	t.Helper()
	resp, err := a.c.Do(context.Background(), method, path, nil, body, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.Body
}

// deployChat creates the chat functions (mounting volume chat at /mnt/chat), the
// WebSocket API with its routes, and stage dev.
func deployChat(t *testing.T, env *apptest.Env, gatewayHost string) *chatApp {
	t.Helper()
	a := &chatApp{env: env, c: env.Client(), gateway: gatewayHost}
	ctx := context.Background()
	for _, fn := range []string{"chat-connect", "chat-disconnect", "chat-sendmessage"} {
		zip := apptest.ZipSample(t, "chat/cmd/"+fn)
		in := map[string]any{
			"FunctionName":      fn,
			"PackageType":       "Zip",
			"Code":              map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(zip)},
			"Timeout":           10,
			"FileSystemConfigs": []map[string]string{{"Arn": "portico:volume:chat", "LocalMountPath": "/mnt/chat"}},
		}
		if fn == "chat-connect" {
			in["Environment"] = map[string]any{"Variables": map[string]string{"CHAT_TOKEN": chatToken}}
		}
		if _, _, err := a.c.CreateFunction(ctx, in); err != nil {
			t.Fatalf("create %s: %v", fn, err)
		}
	}
	a.deployAPI(t, "chat")
	return a
}

// anotherAPI deploys a second WebSocket API (stage dev) on the same chat
// functions, and so the same volume: another chat room.
func (a *chatApp) anotherAPI(t *testing.T, name string) *chatApp {
	t.Helper()
	b := &chatApp{env: a.env, c: a.c, gateway: a.gateway}
	b.deployAPI(t, name)
	return b
}

// deployAPI creates the WebSocket API with the chat functions' routes and
// deploys stage dev.
func (a *chatApp) deployAPI(t *testing.T, name string) {
	t.Helper()
	route := func(key, fn string) map[string]any {
		return map[string]any{"routeKey": key, "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:" + fn}}
	}
	raw := a.admin(t, http.MethodPost, "/portico/v1/apis", map[string]any{
		"name": name, "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"routes": []any{route("$connect", "chat-connect"), route("$disconnect", "chat-disconnect"), route("sendmessage", "chat-sendmessage")},
	})
	var api struct{ ID string }
	if err := json.Unmarshal(raw, &api); err != nil || api.ID == "" {
		t.Fatalf("create api: %s %v", raw, err)
	}
	a.apiID = api.ID
	a.admin(t, http.MethodPost, "/portico/v1/apis/"+a.apiID+"/deployments", map[string]any{"stageName": "dev"})
	a.ws = "ws://" + a.gateway + "/" + a.apiID + "/dev"
}

// connections lists the stage's live connection ids through the admin API.
func (a *chatApp) connections(t *testing.T) []string {
	t.Helper()
	var list struct {
		Items []connections.Info `json:"items"`
	}
	if err := json.Unmarshal(a.admin(t, http.MethodGet, "/portico/v1/apis/"+a.apiID+"/stages/dev/connections", nil), &list); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(list.Items))
	for _, c := range list.Items {
		ids = append(ids, c.ConnectionID)
	}
	return ids
}

// dial connects a client with the chat token and returns it with its id.
func (a *chatApp) dial(t *testing.T) (*websocket.Conn, string) {
	t.Helper()
	before := map[string]bool{}
	for _, id := range a.connections(t) {
		before[id] = true
	}
	c, status, err := wstest.Dial(websocket.DefaultDialer, a.ws+"?token="+chatToken, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (status %d)", a.ws, err, status)
	}
	t.Cleanup(func() { _ = c.Close() })
	for _, id := range a.connections(t) {
		if !before[id] {
			return c, id
		}
	}
	t.Fatalf("the new connection is not listed")
	return nil, ""
}

// members lists the connection ids the chat functions keep in their volume for
// the API's stage dev.
func (a *chatApp) members(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(a.env.DataDir, "volumes", "chat", a.apiID, "dev", "connections"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	sort.Strings(ids)
	return ids
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	readMsg       = wstest.ReadText
	readCloseCode = wstest.ReadClose
)

func managementClient(endpoint, key, secret string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(endpoint), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
}

func TestChatEndToEnd(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Runtime: "process", Settings: func(s *app.Settings) { s.AdminToken = e2eToken }})
	runChat(t, env, strings.TrimPrefix(env.GatewayURL, "http://"))
}

func TestChatEndToEndDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("docker end-to-end test skipped in -short mode")
	}
	runtimetest.RequireDocker(t)
	env := apptest.Start(t, apptest.Options{Runtime: "docker", Settings: func(s *app.Settings) {
		s.AdminToken = e2eToken
		s.Listen = "0.0.0.0:0" // containers reach the gateway through the bridge
	}})
	_, port, err := net.SplitHostPort(strings.TrimPrefix(env.GatewayURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	runChat(t, env, "127.0.0.1:"+port)
}

// TestChatEndToEndContainerd runs the chat sample's functions under containerd:
// they reach the @connections callback endpoint from their own network
// namespaces with the credentials Portico gives them.
func TestChatEndToEndContainerd(t *testing.T) {
	if testing.Short() {
		t.Skip("containerd end-to-end test skipped in -short mode")
	}
	runtimetest.RequireContainerd(t)
	env := apptest.Start(t, apptest.Options{Runtime: "containerd", Settings: func(s *app.Settings) { s.AdminToken = e2eToken }})
	runChat(t, env, strings.TrimPrefix(env.GatewayURL, "http://"))
}

func runChat(t *testing.T, env *apptest.Env, gatewayHost string) {
	a := deployChat(t, env, gatewayHost)
	ctx := context.Background()

	// A $connect that answers 401 refuses the handshake.
	_, status, err := wstest.Dial(websocket.DefaultDialer, a.ws+"?token=wrong", nil)
	if err == nil || status != http.StatusUnauthorized {
		t.Fatalf("dial with a wrong token: %v %d", err, status)
	}

	// Three clients; $connect records each in the volume.
	c1, id1 := a.dial(t)
	c2, id2 := a.dial(t)
	c3, id3 := a.dial(t)
	want := []string{id1, id2, id3}
	sort.Strings(want)
	if got := a.members(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("members %v, want %v", got, want)
	}

	// One sends; the other two receive it (through sendmessage's PostToConnection,
	// an AWS SDK for Go v2 client at "https://" + domainName + "/" + stage, as
	// AWS's samples build it: the sandbox-facing endpoint's HTTPS, trusted
	// through the sandbox CA bundle Portico gives the sandbox).
	if err := c1.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, c2); got != "hi" {
		t.Fatalf("c2 got %q", got)
	}
	if got := readMsg(t, c3); got != "hi" {
		t.Fatalf("c3 got %q", got)
	}

	// A client disconnects: $disconnect removes it.
	_ = c3.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
	_ = c3.Close()
	waitFor(t, "$disconnect to remove "+id3, func() bool {
		for _, id := range a.members(t) {
			if id == id3 {
				return false
			}
		}
		return true
	})

	// The SDK, signed with the admin token, at the stage URL: 410 for the closed
	// id, GET on a live id, PostToConnection reaching a client.
	stageURL := "http://" + gatewayHost + "/" + a.apiID + "/dev"
	sdk := managementClient(stageURL, connections.AdminAccessKeyID, e2eToken)
	var gone *types.GoneException
	if _, err := sdk.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id3), Data: []byte("x")}); !errors.As(err, &gone) {
		t.Fatalf("post to a disconnected client: %v", err)
	}
	info, err := sdk.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id1)})
	if err != nil || info.ConnectedAt == nil || info.LastActiveAt == nil || info.Identity == nil || aws.ToString(info.Identity.SourceIp) == "" {
		t.Fatalf("GetConnection: %+v %v", info, err)
	}
	if _, err := sdk.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id1), Data: []byte("from the sdk")}); err != nil {
		t.Fatalf("PostToConnection: %v", err)
	}
	if got := readMsg(t, c1); got != "from the sdk" {
		t.Fatalf("c1 got %q", got)
	}
	// The endpoint functions build: http://{domainName}/{stage}.
	short := managementClient("http://"+gatewayHost+"/dev", connections.AdminAccessKeyID, e2eToken)
	if _, err := short.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id2), Data: []byte("short")}); err != nil {
		t.Fatalf("PostToConnection at {domainName}/{stage}: %v", err)
	}
	if got := readMsg(t, c2); got != "short" {
		t.Fatalf("c2 got %q", got)
	}

	// Unsigned and badly signed @connections calls: 403.
	for _, auth := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest(http.MethodPost, stageURL+"/@connections/"+url.PathEscape(id1), strings.NewReader("x"))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-ErrorType") != "ForbiddenException" {
			t.Fatalf("auth %q: %d %s", auth, resp.StatusCode, body)
		}
	}
	bad := managementClient(stageURL, connections.AdminAccessKeyID, "not-the-token")
	var forbidden *types.ForbiddenException
	if _, err := bad.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id1), Data: []byte("x")}); !errors.As(err, &forbidden) {
		t.Fatalf("badly signed: %v", err)
	}

	// An oversized message closes with 1009; the others stay.
	big := strings.Repeat("x", 200<<10)
	_ = c2.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":"`+big+`"}`))
	if ce := readCloseCode(t, c2); ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized: %v", ce)
	}
	waitFor(t, "$disconnect to remove "+id2, func() bool { return len(a.members(t)) == 1 })
	if _, err := sdk.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id1), Data: []byte("still here")}); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, c1); got != "still here" {
		t.Fatalf("c1 got %q", got)
	}
}

// TestChatRoomsOfTwoAPIsStayApart deploys the chat functions behind two
// WebSocket APIs, as `make run`'s chat and the SAM template's share volume chat:
// a message in one room neither reaches the other room's members nor removes
// them (their ids answer 410 at the first API's @connections endpoint).
func TestChatRoomsOfTwoAPIsStayApart(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Runtime: "process", Settings: func(s *app.Settings) { s.AdminToken = e2eToken }})
	a := deployChat(t, env, strings.TrimPrefix(env.GatewayURL, "http://"))
	b := a.anotherAPI(t, "chat-sam")
	a1, _ := a.dial(t)
	a2, _ := a.dial(t)
	b1, _ := b.dial(t)
	b2, _ := b.dial(t)

	if err := b1.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":"in room b"}`)); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, b2); got != "in room b" {
		t.Fatalf("b2 got %q", got)
	}
	if err := a1.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":"in room a"}`)); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, a2); got != "in room a" {
		t.Fatalf("a2 got %q, want room a's message (room b's must not reach it)", got)
	}
	// Room b's members are still members: b2 gets b1's next message.
	if err := b1.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":"still in room b"}`)); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, b2); got != "still in room b" {
		t.Fatalf("b2 got %q, want room b's message (room a's must not reach it)", got)
	}
	if got, want := len(a.members(t)), 2; got != want {
		t.Fatalf("room a has %d members, want %d", got, want)
	}
}

// TestIdleConnectionCloses lowers the idle timeout through the server's settings.
func TestIdleConnectionCloses(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Runtime: "process", Settings: func(s *app.Settings) {
		s.AdminToken = e2eToken
		s.WebSocket.IdleTimeout = 300 * time.Millisecond
	}})
	c := env.Client()
	resp, err := c.Do(context.Background(), http.MethodPost, "/portico/v1/apis", nil, map[string]any{
		"name": "idle", "protocol": "WEBSOCKET",
		"routes": []any{map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ ID string }
	_ = json.Unmarshal(resp.Body, &api)
	if _, err := c.Do(context.Background(), http.MethodPost, "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws://"+strings.TrimPrefix(env.GatewayURL, "http://")+"/"+api.ID+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if ce := readCloseCode(t, ws); ce.Code != websocket.CloseGoingAway || ce.Text != "Idle timeout" {
		t.Fatalf("close = %v", ce)
	}
}
