package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/routeselect"
)

// This file holds `portico ws ...` (WebSocket APIs and their routes) and
// `portico connections ...` (live connections), clients of the admin API, and the
// dev step that deploys the chat sample.

func init() {
	// `portico dev` (make run) deploys the chat sample beside hello.
	devSteps = append(devSteps, devStep{"chat sample (WebSocket api chat, page api chat-page)", deployChat})
}

// newWSCmds returns the `ws` and `connections` commands.
func newWSCmds(g *globalFlags) []*cobra.Command {
	ws := &cobra.Command{
		Use:   "ws",
		Short: "Manage WebSocket APIs: create them and set their routes",
		Long: `Manage WebSocket APIs. A WebSocket API routes each message by its route selection
expression ($request.body.action by default) to a route key; $connect runs before
the handshake completes, $disconnect after the socket closes, $default takes what
no other route matches. Deploy with 'portico api deploy'.

  portico ws create my-chat
  portico ws route set ID '$connect' --function chat-connect
  portico ws route set ID sendmessage --function chat-sendmessage
  portico api deploy ID --stage dev
  websocat ws://127.0.0.1:8080/ID/dev`,
	}
	ws.AddCommand(wsCreate(g), wsRouteCmd(g))
	conns := &cobra.Command{
		Use:     "connections",
		Aliases: []string{"conn"},
		Short:   "List, inspect, message and close live WebSocket connections",
	}
	conns.AddCommand(connList(g), connGet(g), connSend(g), connClose(g))
	return []*cobra.Command{ws, conns}
}

func wsCreate(g *globalFlags) *cobra.Command {
	var expr, description string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a WebSocket API (prints its id)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sel, err := routeselect.Parse(expr)
			if err != nil {
				return err
			}
			var a apiView
			if done, err := g.fetch(cmd, http.MethodPost, apisPath, nil, map[string]any{
				"name": args[0], "description": description, "protocol": "WEBSOCKET", "routeSelectionExpression": sel.String(),
			}, nil, &a); done || err != nil {
				return err
			}
			_, _ = fmt.Fprintln(cmd.OutOrStdout(), a.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&expr, "route-selection", routeselect.Default, "route selection expression: $request.body.<member>[.<member>...], or ${request.body.<member>} variables among static text")
	cmd.Flags().StringVar(&description, "description", "", "description")
	return cmd
}

func wsRouteCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "route", Short: "Set and delete the routes of a WebSocket API"}
	var fn string
	var twoWay bool
	set := &cobra.Command{
		Use:   "set API KEY --function FN[:QUALIFIER]",
		Short: "Create or replace the route KEY ($connect, $disconnect, $default or a custom key) with a function (AWS_PROXY) integration",
		Long: `Create or replace a route whose integration runs a function (AWS_PROXY). With
--route-response the route is two-way: the function's returned body is sent back
to the client that sent the message. $connect and $disconnect take no
--route-response: their result has no client to go to ($connect's only accepts or
refuses the handshake, and $disconnect runs once the connection is gone), so post
to the connection through @connections instead. The change takes effect when the
API is deployed again ('portico api deploy API --stage STAGE'), and at once on
stages with auto-deploy.

An existing route keeps its authorization (AWS_IAM or an authorizer), API key
requirement and request parameters, as 'aws apigatewayv2 update-route --target'
does: only its integration changes, and it becomes two-way with --route-response
and one-way without it.

This command makes AWS_PROXY integrations only. Routes with a MOCK, HTTP,
HTTP_PROXY or AWS (function without proxy) integration are made through the
admin API (POST /portico/v1/apis/API/routes with an "integration"), the
apigatewayv2 API (aws apigatewayv2 create-integration and create-route
--endpoint-url ADMIN) or a SAM template (AWS::ApiGatewayV2::Integration):
see docs/websockets.md.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fn == "" {
				return fmt.Errorf("--function FN[:QUALIFIER] is required")
			}
			if twoWay && (args[1] == apis.RouteConnect || args[1] == apis.RouteDisconnect) {
				return fmt.Errorf("--route-response does nothing on %s, so it is refused: %s", args[1], noReplyOn[args[1]])
			}
			ref, err := functions.ParseRef(fn)
			if err != nil {
				return err
			}
			uri := "function:" + ref.Name
			if ref.Qualifier != "" {
				uri += ":" + ref.Qualifier
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			route, err := putWSRoute(cmd.Context(), c, args[0], args[1], uri, twoWay)
			if err != nil {
				return err
			}
			// API Gateway accepts a route to a function that does not exist
			// (it fails when invoked), and so does the admin API; the CLI,
			// which resolves the name itself, says so now.
			if _, err := c.Do(cmd.Context(), http.MethodGet, client.FunctionPath(ref.Name, ""), nil, nil, nil); client.IsNotFound(err) {
				_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "warning: no function %s yet: create it (portico fn create %s --dir DIR) before clients use route %s, whose messages get the \"Internal server error\" frame until then\n", ref.Name, ref.Name, args[1])
			}
			kind := "one-way"
			if twoWay {
				kind = "two-way (route response)"
			}
			apply := fmt.Sprintf("deploy to apply: portico api deploy %s --stage STAGE", args[0])
			if auto, err := autoDeployStages(cmd.Context(), c, args[0]); err == nil && len(auto) > 0 {
				apply = fmt.Sprintf("live now on auto-deploy stage(s) %s; deploy to apply on others: portico api deploy %s --stage STAGE", strings.Join(auto, ", "), args[0])
			}
			return g.show(cmd, route, say("route %s -> %s, %s; %s", args[1], uri, kind, apply))
		},
	}
	set.Flags().StringVar(&fn, "function", "", "function to run, FN or FN:QUALIFIER (a version or alias)")
	set.Flags().BoolVar(&twoWay, "route-response", false, "send the function's returned body back to the sender")
	del := &cobra.Command{
		Use:   "delete API KEY",
		Short: "Delete a route",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			id, err := findRoute(cmd.Context(), c, args[0], args[1])
			if err != nil {
				return err
			}
			if id == "" {
				return fmt.Errorf("api %s has no route %q", args[0], args[1])
			}
			_, err = c.Do(cmd.Context(), http.MethodDelete, apisPath+"/"+url.PathEscape(args[0])+"/routes/"+id, nil, nil, nil)
			return err
		},
	}
	cmd.AddCommand(set, del)
	return cmd
}

// noReplyOn says, per route key, why that route's result is never sent to the
// client and what to do instead.
var noReplyOn = map[string]string{
	apis.RouteConnect:    "its result only accepts or refuses the handshake, which is still in progress; to greet the client, post to it through @connections once $connect has returned (from the first message's route, say)",
	apis.RouteDisconnect: "it runs once the connection is gone, so there is no client to answer; drop --route-response",
}

// findRoute returns the id of the API's route with this key, or "".
func findRoute(ctx context.Context, c *client.Client, api, key string) (string, error) {
	ids, err := c.RouteIDs(ctx, api)
	return ids[key], err
}

// putWSRoute creates a WebSocket route with a function integration, or points
// an existing route at the function. An existing route keeps everything else
// it has (its authorization, authorizer, API key requirement, request
// parameters, models, ...), as update-route --target does: only its
// integration and, by twoWay, its route response selection expression change.
// An API that is not a WebSocket API is refused before anything is sent.
func putWSRoute(ctx context.Context, c *client.Client, api, key, uri string, twoWay bool) ([]byte, error) {
	base := apisPath + "/" + url.PathEscape(api)
	resp, err := c.Do(ctx, http.MethodGet, base, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	var def struct {
		Protocol string            `json:"protocol"`
		Routes   []json.RawMessage `json:"routes"`
	}
	if err := json.Unmarshal(resp.Body, &def); err != nil {
		return nil, fmt.Errorf("reading api %s: %w", api, err)
	}
	if def.Protocol != apis.ProtocolWebSocket {
		return nil, fmt.Errorf("api %s is a %s API: ws route set takes WebSocket APIs ('portico api list' shows each API's PROTOCOL)", api, def.Protocol)
	}
	integration := map[string]any{"type": "AWS_PROXY", "uri": uri}
	for _, raw := range def.Routes {
		var route map[string]any
		if err := json.Unmarshal(raw, &route); err != nil {
			return nil, fmt.Errorf("reading api %s: %w", api, err)
		}
		id, _ := route["id"].(string)
		if route["routeKey"] != key || id == "" {
			continue
		}
		route["integration"] = integration
		delete(route, "integrationId") // the route now has its own integration
		if twoWay {
			route["routeResponseSelectionExpression"] = "$default"
		} else {
			delete(route, "routeResponseSelectionExpression")
		}
		resp, err = c.Do(ctx, http.MethodPut, base+"/routes/"+url.PathEscape(id), nil, route, nil)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	}
	route := map[string]any{"routeKey": key, "integration": integration}
	if twoWay {
		route["routeResponseSelectionExpression"] = "$default"
	}
	resp, err = c.Do(ctx, http.MethodPost, base+"/routes", nil, route, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// autoDeployStages returns the names of the API's stages that deploy
// automatically (a change to the API is live on them at once).
func autoDeployStages(ctx context.Context, c *client.Client, api string) ([]string, error) {
	resp, err := c.Do(ctx, http.MethodGet, apisPath+"/"+url.PathEscape(api)+"/stages", nil, nil, nil)
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			Name       string `json:"name"`
			AutoDeploy bool   `json:"autoDeploy"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return nil, err
	}
	var names []string
	for _, s := range list.Items {
		if s.AutoDeploy {
			names = append(names, s.Name)
		}
	}
	return names, nil
}

func connPath(api, stage string) string {
	return apisPath + "/" + url.PathEscape(api) + "/stages/" + url.PathEscape(stage) + "/connections"
}

func connList(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list API STAGE",
		Short: "List the live connections of an API's stage",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var list struct {
				Items []connections.Info `json:"items"`
			}
			if done, err := g.fetch(cmd, http.MethodGet, connPath(args[0], args[1]), nil, nil, nil, &list); done || err != nil {
				return g.unknownStage(cmd, args[0], args[1], err)
			}
			rows := make([][]string, 0, len(list.Items))
			for _, i := range list.Items {
				rows = append(rows, []string{i.ConnectionID, i.ConnectedAt.Format("2006-01-02T15:04:05Z"), i.LastActiveAt.Format("2006-01-02T15:04:05Z"), i.SourceIP, i.UserAgent})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "CONNECTED", "LAST ACTIVE", "SOURCE IP", "USER AGENT"}, rows)
		},
	}
}

func connGet(g *globalFlags) *cobra.Command {
	return g.call("get API STAGE ID", "Describe a live connection", cobra.ExactArgs(3), func(a []string) request {
		return request{method: http.MethodGet, path: connPath(a[0], a[1]) + "/" + url.PathEscape(a[2])}
	}, printConnection)
}

// printConnection prints a connection's description as fields, one a line.
func printConnection(w io.Writer, raw []byte) error {
	var i connections.Info
	if err := json.Unmarshal(raw, &i); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range [][2]string{
		{"Connection:", i.ConnectionID},
		{"API / stage:", i.APIID + " / " + i.Stage},
		{"Connected:", i.ConnectedAt.Format("2006-01-02T15:04:05Z")},
		{"Last active:", i.LastActiveAt.Format("2006-01-02T15:04:05Z")},
		{"Source IP:", i.SourceIP},
		{"User agent:", i.UserAgent},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}

func connSend(g *globalFlags) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "send API STAGE ID [MESSAGE]",
		Short: "Send a message to a connection (MESSAGE, --file FILE, or stdin)",
		Long: `Send a message to a live connection, as POST @connections/{id} does: a text frame
when it is valid UTF-8, else a binary frame. The message is MESSAGE, the contents of
--file, or stdin ("-" or neither); an empty one is refused.`,
		Args: cobra.RangeArgs(3, 4),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			var err error
			switch {
			case len(args) == 4 && args[3] != "-":
				data = []byte(args[3])
			case file != "":
				data, err = os.ReadFile(file)
			default:
				data, err = io.ReadAll(cmd.InOrStdin())
			}
			if err != nil {
				return err
			}
			if len(data) == 0 {
				return fmt.Errorf("no message to send to connection %s: give MESSAGE, --file FILE, or pipe it on stdin (portico connections send refuses an empty message, most often a mistake; an @connections POST of an empty body sends an empty frame)", args[2])
			}
			return g.run(cmd, http.MethodPost, connPath(args[0], args[1])+"/"+url.PathEscape(args[2]), nil, data,
				http.Header{"Content-Type": {"application/octet-stream"}}, say("sent %d bytes to connection %s", len(data), args[2]))
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "send the contents of FILE")
	return cmd
}

func connClose(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "close API STAGE ID",
		Short: "Close a connection ($disconnect runs)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.remove(cmd, connPath(args[0], args[1])+"/"+url.PathEscape(args[2]), "closed connection "+args[2])
		},
	}
}

// chatPage is the chat sample's command that serves its web page (REST API
// chat-page); every other command is a route of WebSocket API chat.
const chatPage = "chat-page"

// builtChatCommands lists the chat sample's commands built under samples
// (make samples builds each samples/chat/cmd/NAME into samples/NAME), in order.
func builtChatCommands(samples string) ([]string, error) {
	boots, err := filepath.Glob(filepath.Join(samples, "chat-*", "bootstrap"))
	if err != nil {
		return nil, err
	}
	cmds := make([]string, 0, len(boots))
	for _, b := range boots {
		cmds = append(cmds, filepath.Base(filepath.Dir(b)))
	}
	sort.Strings(cmds)
	return cmds, nil
}

// chatRouteKey is the WebSocket route of chat command cmd: chat-connect is
// $connect, chat-disconnect $disconnect, chat-ACTION the route ACTION (a
// message {"action": "ACTION", ...}); ok is false for chatPage, which is no
// route.
func chatRouteKey(cmd string) (key string, ok bool) {
	switch cmd {
	case chatPage:
		return "", false
	case "chat-connect":
		return "$connect", true
	case "chat-disconnect":
		return "$disconnect", true
	}
	return strings.TrimPrefix(cmd, "chat-"), true
}

// deployChatAPI creates WebSocket API "chat", or replaces its routes, with a
// route to each of cmds' functions ($LATEST) by chatRouteKey, and deploys it
// to stage dev. It returns the API's id and its route keys.
func deployChatAPI(ctx context.Context, e *devEnv, cmds []string) (id string, keys []string, err error) {
	var routes []any
	for _, c := range cmds {
		key, ok := chatRouteKey(c)
		if !ok {
			continue
		}
		keys = append(keys, key)
		routes = append(routes, map[string]any{"routeKey": key, "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:" + c}})
	}
	id, err = ensureAPI(ctx, e, "chat", map[string]any{
		"name": "chat", "protocol": "WEBSOCKET", "routeSelectionExpression": routeselect.Default,
		"description": chatDescription,
		"routes":      routes,
	})
	if err != nil {
		return "", nil, err
	}
	if err := pruneChatRoutes(ctx, e.client, id, cmds); err != nil {
		return "", nil, err
	}
	if _, err := e.client.Do(ctx, http.MethodPost, apisPath+"/"+id+"/deployments", nil, map[string]any{"stageName": "dev", "description": "portico dev"}, nil); err != nil {
		return "", nil, err
	}
	// Deployed without their routes, the functions of commands gone from
	// the source go too.
	if err := pruneChatFunctions(ctx, e, cmds); err != nil {
		return "", nil, err
	}
	return id, keys, nil
}

// chatDescription is the description of the chat sample's functions and of
// its WebSocket API: what marks a function as one dev made for the sample.
const chatDescription = "Portico's chat sample (samples/chat)"

// chatFunction returns the chat sample function that a route's integration
// uri names (function:chat-NAME), or "".
func chatFunction(uri string) string {
	name, ok := strings.CutPrefix(uri, "function:")
	if !ok || !strings.HasPrefix(name, "chat-") {
		return ""
	}
	name, _, _ = strings.Cut(name, ":")
	return name
}

// pruneChatRoutes deletes the routes of dev's WebSocket API chat (id) that
// reach a chat sample function of no command among cmds: a command deleted
// from samples/chat/cmd.
func pruneChatRoutes(ctx context.Context, c *client.Client, id string, cmds []string) error {
	resp, err := c.Do(ctx, http.MethodGet, apisPath+"/"+url.PathEscape(id)+"/routes", nil, nil, nil)
	if err != nil {
		return err
	}
	var list struct {
		Items []struct {
			ID          string `json:"id"`
			Integration *struct {
				URI string `json:"uri"`
			} `json:"integration"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return err
	}
	for _, r := range list.Items {
		if r.Integration == nil {
			continue
		}
		if fn := chatFunction(r.Integration.URI); fn != "" && !slices.Contains(cmds, fn) {
			if _, err := c.Do(ctx, http.MethodDelete, apisPath+"/"+url.PathEscape(id)+"/routes/"+url.PathEscape(r.ID), nil, nil, nil); err != nil && !client.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// pruneChatFunctions deletes the functions dev made for the chat sample
// (named chat-*, described as chatDescription) whose command is not among
// cmds: deleted from samples/chat/cmd. Any other function is left alone.
func pruneChatFunctions(ctx context.Context, e *devEnv, cmds []string) error {
	marker := ""
	var gone []string
	for {
		q := url.Values{"MaxItems": {"1000"}}
		if marker != "" {
			q.Set("Marker", marker)
		}
		resp, err := e.client.Do(ctx, http.MethodGet, "/2015-03-31/functions", q, nil, nil)
		if err != nil {
			return err
		}
		var page struct {
			Functions []struct {
				FunctionName, Description string
			}
			NextMarker string
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return err
		}
		for _, f := range page.Functions {
			if strings.HasPrefix(f.FunctionName, "chat-") && f.Description == chatDescription && !slices.Contains(cmds, f.FunctionName) {
				gone = append(gone, f.FunctionName)
			}
		}
		if marker = page.NextMarker; marker == "" {
			break
		}
	}
	for _, fn := range gone {
		if _, err := e.client.Do(ctx, http.MethodDelete, client.FunctionPath(fn, ""), nil, nil, nil); err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("deleting function %s: %w", fn, err)
		}
		_, _ = fmt.Fprintf(e.out, "deleted function %s: its command is gone from the chat sample's source\n", fn)
	}
	return nil
}

// deployChat deploys the chat sample: its functions ($LATEST), one for each
// command built, WebSocket API "chat" on stage dev with a route to each
// (chatRouteKey), and REST API "chat-page" whose stage dev serves the page and
// names the WebSocket API in stage variables. It prints the page's URL.
func deployChat(ctx context.Context, e *devEnv) error {
	if _, err := os.Stat(filepath.Join(e.samples, "chat-connect", "bootstrap")); err != nil {
		_, _ = fmt.Fprintf(e.out, "skipped the chat sample: %s is not built (make samples)\n", filepath.Join(e.samples, "chat-connect"))
		return nil
	}
	cmds, err := builtChatCommands(e.samples)
	if err != nil {
		return err
	}
	// A command deleted from the source leaves its build behind: only those
	// the source still has are deployed (the others' functions are deleted).
	if src, err := chatCommands(filepath.Join(e.sourceDir(), "chat")); err == nil {
		cmds = slices.DeleteFunc(cmds, func(c string) bool { return !slices.Contains(src, c) })
	}
	for _, fn := range cmds {
		if err := deploySampleFunction(ctx, e, fn); err != nil {
			return fmt.Errorf("function %s: %w", fn, err)
		}
	}
	wsID, _, err := deployChatAPI(ctx, e, cmds)
	if err != nil {
		return err
	}
	pageID, err := ensureAPI(ctx, e, "chat-page", map[string]any{
		"name": "chat-page", "protocol": "REST", "description": "The chat sample's web page",
		"routes": []any{map[string]any{"method": "GET", "path": "/", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:chat-page"}}},
	})
	if err != nil {
		return err
	}
	if _, err := e.client.Do(ctx, http.MethodPost, apisPath+"/"+pageID+"/deployments", nil, map[string]any{"stageName": "dev", "description": "portico dev"}, nil); err != nil {
		return err
	}
	if _, err := e.client.Do(ctx, http.MethodPatch, apisPath+"/"+pageID+"/stages/dev/variables", nil,
		map[string]any{"set": map[string]string{"wsApi": wsID, "wsStage": "dev"}}, nil); err != nil {
		return err
	}
	base := strings.TrimSuffix(e.gatewayURL, "/")
	if h := strings.TrimPrefix(base, "http://"); strings.HasPrefix(h, ":") || strings.HasPrefix(h, "0.0.0.0:") || strings.HasPrefix(h, "[::]:") {
		base = "http://127.0.0.1:" + h[strings.LastIndex(h, ":")+1:]
	}
	_, _ = fmt.Fprintf(e.out, "deployed the chat sample: websocket api %s, page api %s (stage dev)\n", wsID, pageID)
	e.notes = append(e.notes,
		"",
		"Chat: open the page in two browser tabs:",
		fmt.Sprintf("  %s/%s/dev/", base, pageID),
		fmt.Sprintf("WebSocket: ws://%s/%s/dev   (send {\"action\":\"sendmessage\",\"data\":\"hi\"})", strings.TrimPrefix(base, "http://"), wsID),
		fmt.Sprintf("  %s connections list %s dev", e.cli(), wsID),
	)
	if e.tlsURL != "" {
		e.notes = append(e.notes,
			"Over HTTPS and wss (certificate from the development CA, trusted as `portico tls init` printed):",
			fmt.Sprintf("  %s/%s/dev/", e.tlsURL, pageID),
			fmt.Sprintf("WebSocket: wss://%s/%s/dev", strings.TrimPrefix(e.tlsURL, "https://"), wsID),
		)
	}
	return nil
}

// deploySampleFunction creates or updates a sample function's $LATEST from its
// built bootstrap, mounting volume chat at /mnt/chat.
func deploySampleFunction(ctx context.Context, e *devEnv, name string) error {
	zipFile, err := client.ZipDir(filepath.Join(e.samples, name))
	if err != nil {
		return err
	}
	fsc := []map[string]string{{"Arn": "portico:volume:chat", "LocalMountPath": "/mnt/chat"}}
	cur, _, err := e.client.GetFunctionConfiguration(ctx, name)
	switch {
	case client.IsNotFound(err):
		_, _, err = e.client.CreateFunction(ctx, map[string]any{
			"FunctionName": name, "PackageType": "Zip", "Runtime": client.ZipRuntime, "Handler": client.ZipHandler, "Timeout": 10,
			"Code":              map[string]any{"ZipFile": zipFile},
			"Description":       chatDescription,
			"FileSystemConfigs": fsc,
		})
	case err == nil:
		err = updateChangedCode(ctx, e.client, cur, zipFile)
	}
	return err
}

// ensureAPI returns the id of dev's API for sample API name (findSampleAPI),
// creating it from def, tagged as dev's, when there is none, or putting def's
// routes into it when there is. APIs of that name that dev did not make are
// left alone.
func ensureAPI(ctx context.Context, e *devEnv, name string, def map[string]any) (string, error) {
	c := e.client
	id, others, err := findSampleAPI(ctx, c, name)
	if err != nil {
		return "", err
	}
	e.noteOthers(name, others)
	if id != "" {
		for _, r := range def["routes"].([]any) {
			rm := r.(map[string]any)
			key, _ := rm["routeKey"].(string)
			if key == "" {
				key = fmt.Sprint(rm["method"], " ", rm["path"])
			}
			rid, err := findRoute(ctx, c, id, key)
			if err != nil {
				return "", err
			}
			if rid == "" {
				_, err = c.Do(ctx, http.MethodPost, apisPath+"/"+id+"/routes", nil, rm, nil)
			} else {
				_, err = c.Do(ctx, http.MethodPut, apisPath+"/"+id+"/routes/"+rid, nil, rm, nil)
			}
			if err != nil {
				return "", err
			}
		}
		return id, nil
	}
	def = maps.Clone(def)
	def["tags"] = map[string]string{sampleTag: name}
	resp, err := c.Do(ctx, http.MethodPost, apisPath, nil, def, nil)
	if err != nil {
		return "", err
	}
	var created struct{ ID string }
	if err := json.Unmarshal(resp.Body, &created); err != nil {
		return "", err
	}
	return created.ID, nil
}
