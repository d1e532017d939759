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
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/openapi"
	"github.com/portico-dev/portico/internal/netaddr"
)

// This file holds `portico api ...` and `portico stage ...`, clients of the admin
// API's /portico/v1/apis routes, and the dev step that deploys the hello API.

const apisPath = "/portico/v1/apis"

func init() {
	// `portico dev` (make run) imports samples/hello/api.yaml and deploys stage dev
	// with alias=live, after the hello function exists.
	devSteps = append(devSteps, devStep{"api hello (stage dev, alias live)", deployHelloAPI})
}

// apiView is the part of an API the CLI prints.
type apiView struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Protocol    string `json:"protocol"`
	Version     string `json:"version"`
	CreatedAt   string `json:"createdAt"`
	Routes      []struct {
		ID          string `json:"id"`
		RouteKey    string `json:"routeKey"`
		Integration *struct {
			Type string `json:"type"`
			URI  string `json:"uri"`
		} `json:"integration"`
	} `json:"routes"`
}

type stageJSON struct {
	APIID        string            `json:"apiId"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	DeploymentID string            `json:"deploymentId"`
	Variables    map[string]string `json:"variables"`
	History      []historyJSON     `json:"history"`
	URL          string            `json:"url"`
	// EndpointDisabled: the deployment the stage serves turns the default
	// endpoint off (URL is then empty).
	EndpointDisabled bool   `json:"executeApiEndpointDisabled"`
	UpdatedAt        string `json:"updatedAt"`
	// Warnings: what of the deployed API does not work on the stage
	// (answers to a deployment and set-var).
	Warnings       []string    `json:"warnings"`
	CanarySettings *canaryJSON `json:"canarySettings"`
}

type historyJSON struct {
	DeploymentID string `json:"deploymentId"`
	Action       string `json:"action"`
	At           string `json:"at"`
	Description  string `json:"description"`
}

func newAPICmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Manage REST, HTTP and WebSocket APIs: import, export, deploy, list, get, delete, cors",
		Long: `Manage APIs. An API is defined by an OpenAPI 3 or Swagger 2.0 document with
API Gateway's x-amazon-apigateway-* extensions; deploying it snapshots the
definition and points a stage at the snapshot.

  portico api import samples/hello/api.yaml --name hello
  portico api deploy ID --stage dev
  portico stage set-var ID dev alias=live
  curl http://127.0.0.1:8080/ID/dev/hello`,
	}
	cmd.AddCommand(apiImport(g), apiExport(g), apiList(g), apiGet(g), apiDelete(g), apiDeploy(g), apiCORS(g))
	return cmd
}

func apiImport(g *globalFlags) *cobra.Command {
	var name, protocol, into string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Create an API from an OpenAPI document (prints its id), or replace one with --into",
		Long: `Create an API from an OpenAPI 3 or Swagger 2.0 document (JSON or YAML; "-" reads
stdin) and print its id. With --into ID the document replaces the definition of an
existing API, as put-rest-api does in overwrite mode; deployed stages keep serving
their deployments until redeployed. Parts Portico ignores are printed as warnings.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := readFileArg(cmd, args[0])
			if err != nil {
				return err
			}
			q := url.Values{}
			if name != "" {
				q.Set("name", name)
			}
			if protocol != "" {
				q.Set("protocol", strings.ToUpper(protocol))
			}
			method, path := http.MethodPost, apisPath+"/import"
			if into != "" {
				method, path = http.MethodPut, apisPath+"/"+url.PathEscape(into)+"/import"
				q.Set("mode", "overwrite")
			}
			// The server checks and compiles every model before it answers:
			// seconds for hundreds of deep ones.
			if where, n := openapi.ModelCount(doc); n >= progressModels {
				_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "compiling %d models (%s)...\n", n, where)
			}
			var out struct {
				API      apiView  `json:"api"`
				Warnings []string `json:"warnings"`
			}
			if done, err := g.fetch(cmd, method, path, q, doc, http.Header{"Content-Type": {"application/yaml"}}, &out); done || err != nil {
				return importInterrupted(cmd, err, into)
			}
			for _, w := range out.Warnings {
				_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			_, _ = fmt.Fprintln(cmd.OutOrStdout(), out.API.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "API name (default: the document's info.title)")
	cmd.Flags().StringVar(&protocol, "protocol", "", "REST or HTTP (default REST, or HTTP for an HTTP API export)")
	cmd.Flags().StringVar(&into, "into", "", "replace the definition of this existing API instead of creating one")
	return cmd
}

// importInterrupted says, of an import interrupted (Ctrl-C) before its
// answer, what became of it: the server abandons an import whose client goes
// away before it stores anything, but one that had stored the API when the
// interrupt came stands.
func importInterrupted(cmd *cobra.Command, err error, into string) error {
	if err == nil || cmd.Context().Err() == nil {
		return err
	}
	if into != "" {
		return fmt.Errorf("interrupted before the server answered: the import was abandoned unless the server had already replaced API %s's definition; check `portico api export %s`: %w", into, into, err)
	}
	return fmt.Errorf("interrupted before the server answered: the import was abandoned unless the server had already created the API; check `portico api list`: %w", err)
}

func readFileArg(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

func apiExport(g *globalFlags) *cobra.Command {
	var format, outFile string
	cmd := &cobra.Command{
		Use:   "export ID",
		Short: "Print an API as an OpenAPI 3 (oas3) or Swagger 2.0 (swagger2) document",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := g.do(cmd, http.MethodGet, apisPath+"/"+url.PathEscape(args[0])+"/export", url.Values{"format": {format}}, nil, nil)
			if err != nil {
				return err
			}
			// What the format cannot say of the API, as import prints its
			// warnings.
			for _, v := range resp.Header.Values("Warning") {
				_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "warning:", warningText(v))
			}
			if outFile != "" {
				return os.WriteFile(outFile, resp.Body, 0o600)
			}
			_, err = cmd.OutOrStdout().Write(resp.Body)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "oas3", "oas3 or swagger2")
	cmd.Flags().StringVarP(&outFile, "file", "f", "", "write to this file instead of stdout")
	return cmd
}

// warningText returns the text of a Warning header value (299 - "text"),
// unquoted, or the value as it is when it has no quoted text.
func warningText(v string) string {
	i := strings.IndexByte(v, '"')
	if i < 0 || !strings.HasSuffix(v, `"`) || len(v) < i+2 {
		return v
	}
	var b strings.Builder
	q := v[i+1 : len(v)-1]
	for j := 0; j < len(q); j++ {
		if q[j] == '\\' && j+1 < len(q) {
			j++
		}
		b.WriteByte(q[j])
	}
	return b.String()
}

func apiList(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List APIs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []struct {
					ID, Name, Protocol, Version, CreatedAt string
					Routes                                 int
				} `json:"items"`
			}
			if done, err := g.fetch(cmd, http.MethodGet, apisPath, nil, nil, nil, &out); done || err != nil {
				return err
			}
			if len(out.Items) == 0 {
				_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "no APIs yet: import one with `portico api import FILE`")
				return nil
			}
			rows := [][]string{}
			for _, a := range out.Items {
				rows = append(rows, []string{a.ID, a.Name, a.Protocol, strconv.Itoa(a.Routes), a.Version, a.CreatedAt})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "NAME", "PROTOCOL", "ROUTES", "VERSION", "CREATED"}, rows)
		},
	}
}

func apiGet(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show an API, its routes and its stages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var a apiView
			if done, err := g.fetch(cmd, http.MethodGet, apisPath+"/"+url.PathEscape(args[0]), nil, nil, nil, &a); done || err != nil {
				return g.unknownAPI(cmd, args[0], err)
			}
			w := cmd.OutOrStdout()
			_, _ = fmt.Fprintf(w, "ID:          %s\nName:        %s\nProtocol:    %s\nVersion:     %s\nCreated:     %s\n", a.ID, a.Name, a.Protocol, a.Version, a.CreatedAt)
			if a.Description != "" {
				_, _ = fmt.Fprintf(w, "Description: %s\n", a.Description)
			}
			_, _ = fmt.Fprintln(w)
			rows := [][]string{}
			for _, r := range a.Routes {
				typ, uri := "-", ""
				if r.Integration != nil {
					typ, uri = r.Integration.Type, r.Integration.URI
				}
				rows = append(rows, []string{r.ID, r.RouteKey, typ, uri})
			}
			if err := table(w, []string{"ROUTE ID", "ROUTE", "INTEGRATION", "URI"}, rows); err != nil {
				return err
			}
			stages, err := listStages(cmd.Context(), c, a.ID)
			if err != nil || len(stages) == 0 {
				return err
			}
			if a.Protocol == "WEBSOCKET" { // as stage list shows them
				for i := range stages {
					stages[i].URL = netaddr.WebSocketURL(stages[i].URL)
				}
			}
			disabledStageURLs(cmd.Context(), c, stages)
			_, _ = fmt.Fprintln(w)
			return stageTable(w, stages)
		},
	}
}

func apiDelete(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an API with its deployments and stages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.remove(cmd, apisPath+"/"+url.PathEscape(args[0]), "deleted "+args[0])
		},
	}
}

func apiDeploy(g *globalFlags) *cobra.Command {
	var stage, description string
	var vars, canaryVars []string
	var canary float64
	var deploy func(cmd *cobra.Command, args []string) error
	cmd := &cobra.Command{
		Use:   "deploy ID --stage NAME [--canary PERCENT [--canary-var K=V]...]",
		Short: "Snapshot an API as a new deployment and point a stage at it (prints the deployment id and stage URL)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.unknownAPI(cmd, args[0], deploy(cmd, args))
		},
	}
	deploy = func(cmd *cobra.Command, args []string) error {
		c, err := g.client()
		if err != nil {
			return err
		}
		if stage == "" {
			return fmt.Errorf("--stage is required: the stage to create or move, e.g. --stage dev")
		}
		kv, err := parseVars(vars)
		if err != nil {
			return err
		}
		body := map[string]any{"stageName": stage, "description": description}
		if len(kv) > 0 {
			body["variables"] = kv
		}
		if cmd.Flags().Changed("canary") {
			return deployCanary(cmd, g, args[0], body, canary, canaryVars)
		}
		var out struct {
			Deployment struct {
				ID string `json:"id"`
			} `json:"deployment"`
			Stage *stageJSON `json:"stage"`
		}
		if done, err := g.fetch(cmd, http.MethodPost, apisPath+"/"+url.PathEscape(args[0])+"/deployments", nil, body, nil, &out); done || err != nil {
			return err
		}
		_, _ = fmt.Fprintln(cmd.OutOrStdout(), out.Deployment.ID)
		if out.Stage != nil {
			for _, w := range out.Stage.Warnings {
				_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
		}
		if out.Stage != nil && out.Stage.EndpointDisabled {
			_, _ = fmt.Fprintln(cmd.OutOrStdout(), disabledStageURL(cmd.Context(), c, args[0], out.Stage.Name))
		}
		if out.Stage != nil && out.Stage.URL != "" {
			u := out.Stage.URL
			if websocketAPI(cmd.Context(), c, args[0]) {
				u = netaddr.WebSocketURL(u)
			}
			_, _ = fmt.Fprintln(cmd.OutOrStdout(), u)
		}
		return nil
	}
	cmd.Flags().StringVar(&stage, "stage", "", "stage to point at the new deployment (created if missing)")
	cmd.Flags().StringVar(&description, "description", "", "deployment description")
	cmd.Flags().StringArrayVar(&vars, "var", nil, "stage variable K=V, set on the stage (new or existing; other variables are kept) (repeatable)")
	cmd.Flags().Float64Var(&canary, "canary", 0, "deploy into the (existing, REST) stage's canary with this share of its traffic, 0 to 100")
	cmd.Flags().StringArrayVar(&canaryVars, "canary-var", nil, "stage variable override K=V for the canary's requests (repeatable)")
	return cmd
}

// websocketAPI reports whether API id is a WebSocket API (false when it cannot
// tell).
func websocketAPI(ctx context.Context, c *client.Client, id string) bool {
	resp, err := c.Do(ctx, http.MethodGet, apisPath+"/"+url.PathEscape(id), nil, nil, nil)
	if err != nil {
		return false
	}
	var a struct {
		Protocol string `json:"protocol"`
	}
	return json.Unmarshal(resp.Body, &a) == nil && a.Protocol == "WEBSOCKET"
}

// disabledStageURLs fills the URL of each stage whose default endpoint is off
// with disabledStageURL's text.
func disabledStageURLs(ctx context.Context, c *client.Client, stages []stageJSON) {
	for i, s := range stages {
		if s.EndpointDisabled {
			stages[i].URL = disabledStageURL(ctx, c, s.APIID, s.Name)
		}
	}
}

// disabledStageURL is what stands in for the URL of a stage whose API turns
// its default endpoint off (it answers 403 there): the custom domains and
// base paths that map the stage, or how to map one.
func disabledStageURL(ctx context.Context, c *client.Client, apiID, stage string) string {
	var names []string
	resp, err := c.Do(ctx, http.MethodGet, "/v2/domainnames", nil, nil, nil)
	var domains struct {
		Items []struct {
			Name string `json:"domainName"`
		} `json:"items"`
	}
	if err == nil && json.Unmarshal(resp.Body, &domains) == nil {
		for _, d := range domains.Items {
			resp, err := c.Do(ctx, http.MethodGet, "/v2/domainnames/"+url.PathEscape(d.Name)+"/apimappings", nil, nil, nil)
			var ms struct {
				Items []struct {
					APIID string `json:"apiId"`
					Key   string `json:"apiMappingKey"`
					Stage string `json:"stage"`
				} `json:"items"`
			}
			if err != nil || json.Unmarshal(resp.Body, &ms) != nil {
				continue
			}
			for _, m := range ms.Items {
				if m.APIID == apiID && m.Stage == stage {
					names = append(names, d.Name+"/"+m.Key)
				}
			}
		}
	}
	if len(names) == 0 {
		return "(execute-api endpoint disabled: map a custom domain to reach it, portico domain map NAME " + apiID + " " + stage + ")"
	}
	return "(execute-api endpoint disabled; custom domains: " + strings.Join(names, ", ") + ")"
}

// parseVars parses K=V arguments.
func parseVars(kvs []string) (map[string]string, error) { return parseKVs(kvs, "%q is not K=V") }

// parseKVs parses K=V arguments; badFormat words the error of one that is not
// (it takes the argument as %q).
func parseKVs(kvs []string, badFormat string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf(badFormat, kv)
		}
		out[k] = v
	}
	return out, nil
}

func newStageCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stage",
		Short: "Manage an API's stages: list, variables, history, rollback, canary, promote, cache, throttle",
	}
	cmd.AddCommand(stageList(g), stageSetVar(g), stageHistory(g), stageRollback(g),
		stageCanary(g), stagePromote(g), stageCache(g), stageThrottle(g))
	return cmd
}

func listStages(ctx context.Context, c *client.Client, apiID string) ([]stageJSON, error) {
	resp, err := c.Do(ctx, http.MethodGet, apisPath+"/"+url.PathEscape(apiID)+"/stages", nil, nil, nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Items []stageJSON `json:"items"`
	}
	return out.Items, json.Unmarshal(resp.Body, &out)
}

// stageTable prints stages, with a CANARY column when one of them has a
// canary (only REST stages can).
func stageTable(w io.Writer, stages []stageJSON) error {
	canaries := slices.ContainsFunc(stages, func(s stageJSON) bool { return s.CanarySettings != nil })
	rows := [][]string{}
	for _, s := range stages {
		row := []string{s.Name, s.DeploymentID, formatVars(s.Variables)}
		if canaries {
			row = append(row, s.CanarySettings.String())
		}
		rows = append(rows, append(row, s.URL))
	}
	if canaries {
		return table(w, []string{"STAGE", "DEPLOYMENT", "VARIABLES", "CANARY", "URL"}, rows)
	}
	return table(w, []string{"STAGE", "DEPLOYMENT", "VARIABLES", "URL"}, rows)
}

func formatVars(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+vars[k])
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

func stageList(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list API",
		Short: "List an API's stages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if g.json() { // the server's stages, every field of them
				resp, err := c.Do(cmd.Context(), http.MethodGet, apisPath+"/"+url.PathEscape(args[0])+"/stages", nil, nil, nil)
				if err != nil {
					return g.unknownAPI(cmd, args[0], err)
				}
				return printJSON(cmd.OutOrStdout(), resp.Body)
			}
			stages, err := listStages(cmd.Context(), c, args[0])
			if err != nil {
				return g.unknownAPI(cmd, args[0], err)
			}
			if len(stages) == 0 {
				_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "no stages yet: deploy with `portico api deploy %s --stage dev`\n", args[0])
				return nil
			}
			if websocketAPI(cmd.Context(), c, args[0]) {
				for i := range stages {
					stages[i].URL = netaddr.WebSocketURL(stages[i].URL)
				}
			}
			disabledStageURLs(cmd.Context(), c, stages)
			return stageTable(cmd.OutOrStdout(), stages)
		},
	}
}

func stageSetVar(g *globalFlags) *cobra.Command {
	var unset []string
	cmd := &cobra.Command{
		Use:   "set-var API STAGE K=V...",
		Short: "Set (or with --unset remove) stage variables; the change takes effect at once",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := parseVars(args[2:])
			if err != nil {
				return err
			}
			if len(set) == 0 && len(unset) == 0 {
				return fmt.Errorf("give variables as K=V, or --unset K")
			}
			for _, k := range slices.Sorted(maps.Keys(set)) {
				if set[k] == "" {
					return fmt.Errorf("stage variable %q: an empty value is not one (the server refuses it): to remove the variable, run %s stage set-var %s %s --unset %s", k, cmd.Root().Name(), args[0], args[1], k)
				}
			}
			stagePath := apisPath + "/" + url.PathEscape(args[0]) + "/stages/" + url.PathEscape(args[1])
			// An --unset of a variable the stage lacks removes nothing:
			// said on stderr, as a note (the change itself is made).
			var missing []string
			if len(unset) > 0 {
				resp, err := g.do(cmd, http.MethodGet, stagePath, nil, nil, nil)
				if err != nil {
					return g.unknownStage(cmd, args[0], args[1], err)
				}
				var before stageJSON
				if err := json.Unmarshal(resp.Body, &before); err != nil {
					return err
				}
				for _, k := range unset {
					if _, ok := before.Variables[k]; !ok && !slices.Contains(missing, k) {
						missing = append(missing, k)
					}
				}
			}
			body := map[string]any{"set": set, "unset": unset}
			var st stageJSON
			done, err := g.fetch(cmd, http.MethodPatch, stagePath+"/variables", nil, body, nil, &st)
			if err == nil {
				for _, k := range missing {
					_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "note: stage %s has no variable %s: --unset %s removed nothing\n", args[1], k, k)
				}
			}
			if done || err != nil {
				return g.unknownStage(cmd, args[0], args[1], err)
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "stage %s: %s\n", st.Name, formatVars(st.Variables))
			for _, w := range st.Warnings {
				_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&unset, "unset", nil, "variable to remove (repeatable)")
	return cmd
}

func stageHistory(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "history API STAGE",
		Short: "List the deployments a stage has pointed at, oldest first",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Items []historyJSON `json:"items"`
			}
			if done, err := g.fetch(cmd, http.MethodGet, apisPath+"/"+url.PathEscape(args[0])+"/stages/"+url.PathEscape(args[1])+"/history", nil, nil, nil, &out); done || err != nil {
				return g.unknownStage(cmd, args[0], args[1], err)
			}
			rows := [][]string{}
			for _, h := range out.Items {
				rows = append(rows, []string{h.At, h.Action, h.DeploymentID, h.Description})
			}
			return table(cmd.OutOrStdout(), []string{"AT", "ACTION", "DEPLOYMENT", "DESCRIPTION"}, rows)
		},
	}
}

func stageRollback(g *globalFlags) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "rollback API STAGE [--to DEPLOYMENT]",
		Short: "Point a stage back at an earlier deployment of its history (default: the previous one)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]string{}
			if to != "" {
				body["deploymentId"] = to
			}
			var st stageJSON
			if done, err := g.fetch(cmd, http.MethodPost, apisPath+"/"+url.PathEscape(args[0])+"/stages/"+url.PathEscape(args[1])+"/rollback", nil, body, nil, &st); done || err != nil {
				return g.unknownStage(cmd, args[0], args[1], err)
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "stage %s now serves deployment %s\n", st.Name, st.DeploymentID)
			if passedOverPromotion(st) {
				_, _ = fmt.Fprintf(cmd.OutOrStdout(), "note: the variables stay as they are (%s): a rollback moves the deployment only, "+
					"and a promotion it undid had merged the canary's variable overrides into them; change them with `portico stage set-var`\n",
					formatVars(st.Variables))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "deployment id to roll back to (must be in the stage's history)")
	return cmd
}

// passedOverPromotion reports whether the rollback st answers (its history's
// last entry) undid a promotion: a promote entry after the newest earlier entry
// of the deployment it went back to. A promotion also merged the canary's
// variable overrides into the stage's variables, which a rollback keeps.
func passedOverPromotion(st stageJSON) bool {
	h := st.History
	if len(h) < 2 {
		return false
	}
	h = h[:len(h)-1] // the rollback itself
	for i := len(h) - 1; i >= 0 && h[i].DeploymentID != st.DeploymentID; i-- {
		if h[i].Action == "promote" {
			return true
		}
	}
	return false
}

// deployHelloAPI imports the hello sample's API, SOURCE/hello/api.yaml (SOURCE
// is `portico dev --source`, default samples), as API "hello" tagged as dev's
// (sampleTag), or overwrites dev's API of earlier runs; it deploys it to stage
// dev with alias=live and notes the URL to curl. An API called hello that dev
// did not make is left alone.
func deployHelloAPI(ctx context.Context, e *devEnv) error {
	return importHelloAPI(ctx, e, filepath.Join(e.sourceDir(), "hello", "api.yaml"))
}

// importHelloAPI is deployHelloAPI from the OpenAPI document in file.
func importHelloAPI(ctx context.Context, e *devEnv, file string) error {
	doc, err := os.ReadFile(file) //nolint:gosec // the sample's own document
	if err != nil {
		return fmt.Errorf("%w (run `make run` from the repository root, or give the samples' source with --source DIR)", err)
	}
	id, others, err := findSampleAPI(ctx, e.client, "hello")
	if err != nil {
		return err
	}
	e.noteOthers("hello", others)
	hdr := http.Header{"Content-Type": {"application/yaml"}}
	var resp *client.Response
	if id == "" {
		resp, err = e.client.Do(ctx, http.MethodPost, apisPath+"/import", url.Values{"name": {"hello"}}, doc, hdr)
	} else {
		resp, err = e.client.Do(ctx, http.MethodPut, apisPath+"/"+id+"/import", url.Values{"mode": {"overwrite"}}, doc, hdr)
	}
	if err != nil {
		return err
	}
	var imp struct {
		API struct{ ID, Protocol string } `json:"api"`
	}
	if err := json.Unmarshal(resp.Body, &imp); err != nil {
		return err
	}
	if id == "" {
		if err := tagSampleAPI(ctx, e.client, imp.API.ID, imp.API.Protocol, "hello"); err != nil {
			// Untagged, the next run would not find it: take it back.
			_, _ = e.client.Do(ctx, http.MethodDelete, apisPath+"/"+imp.API.ID, nil, nil, nil)
			return err
		}
	}
	id = imp.API.ID
	resp, err = e.client.Do(ctx, http.MethodPost, apisPath+"/"+id+"/deployments", nil,
		map[string]any{"stageName": "dev", "description": "portico dev", "variables": map[string]string{"alias": "live"}}, nil)
	if err != nil {
		return err
	}
	// An existing stage keeps its variables on deploy: make sure alias=live.
	resp2, err := e.client.Do(ctx, http.MethodPatch, apisPath+"/"+id+"/stages/dev/variables", nil,
		map[string]any{"set": map[string]string{"alias": "live"}}, nil)
	if err != nil {
		return err
	}
	var st stageJSON
	if err := json.Unmarshal(resp2.Body, &st); err != nil {
		return err
	}
	_ = resp
	stageURL := st.URL
	if stageURL == "" {
		stageURL = strings.TrimSuffix(e.gatewayURL, "/") + "/" + id + "/dev/"
	}
	_, _ = fmt.Fprintf(e.out, "deployed api hello (%s): stage dev, alias=live\n", id)
	e.notes = append(e.notes,
		"",
		"Call hello through the gateway (stage dev, alias live):",
		fmt.Sprintf("  curl -s '%shello?name=you'", stageURL),
		fmt.Sprintf("  %s stage list %s", e.cli(), id),
	)
	return nil
}

func apiCORS(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cors",
		Short: "CORS on REST APIs (HTTP APIs take a corsConfiguration instead)",
	}
	var opts apis.RESTCORS
	enable := &cobra.Command{
		Use:   "enable ID",
		Short: "Enable CORS on a REST API's resources as the console's \"Enable CORS\" does",
		Long: `Enable CORS on a REST API the way API Gateway's console does: each resource
(every resource, or those given with --path) gets an OPTIONS method with a MOCK
integration whose integration response sets Access-Control-Allow-Headers, -Methods
and -Origin, and the 2xx responses of its non-proxy methods get
Access-Control-Allow-Origin. Proxy integrations must send the header themselves.
Deploy the API for a stage to serve the change.

  portico api cors enable ID --path /pets --origin https://app.example
  portico api deploy ID --stage dev`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := json.Marshal(opts)
			if err != nil {
				return err
			}
			var out struct {
				Notes []string `json:"notes"`
			}
			if done, err := g.fetch(cmd, http.MethodPost, apisPath+"/"+url.PathEscape(args[0])+"/cors", nil, body,
				http.Header{"Content-Type": {"application/json"}}, &out); done || err != nil {
				return err
			}
			for _, n := range out.Notes {
				_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "CORS enabled on %s; deploy it to serve the change\n", args[0])
			return nil
		},
	}
	enable.Flags().StringArrayVar(&opts.Paths, "path", nil, "resource path to enable (repeatable; default every resource)")
	enable.Flags().StringVar(&opts.AllowOrigin, "origin", "*", "Access-Control-Allow-Origin")
	enable.Flags().StringVar(&opts.AllowHeaders, "headers", apis.DefaultCORSAllowHeaders, "Access-Control-Allow-Headers")
	enable.Flags().StringSliceVar(&opts.AllowMethods, "methods", nil, "Access-Control-Allow-Methods (default each resource's methods and OPTIONS)")
	enable.Flags().BoolVar(&opts.GatewayResponses, "gateway-responses", false, "also add the headers to the DEFAULT_4XX and DEFAULT_5XX gateway responses (types set explicitly keep their own: a note names them)")
	cmd.AddCommand(enable)
	return cmd
}
