package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/spf13/cobra"
)

// This file holds `portico stage canary|promote|cache|throttle`, clients of the
// admin API's API Gateway stage routes (update-stage's patch operations,
// flush-stage-cache).

// patchOp is one of update-stage's patch operations.
type patchOp struct {
	Op    string  `json:"op"`
	Path  string  `json:"path"`
	Value *string `json:"value,omitempty"`
	From  string  `json:"from,omitempty"`
}

func replaceOp(path, value string) patchOp { return patchOp{Op: "replace", Path: path, Value: &value} }

// awsStage is the part of API Gateway's Stage shape the CLI prints.
type awsStage struct {
	StageName           string            `json:"stageName"`
	DeploymentID        string            `json:"deploymentId"`
	Variables           map[string]string `json:"variables"`
	CacheClusterEnabled bool              `json:"cacheClusterEnabled"`
	CacheClusterSize    string            `json:"cacheClusterSize"`
	CanarySettings      *canaryJSON       `json:"canarySettings"`
	MethodSettings      map[string]struct {
		ThrottlingBurstLimit int     `json:"throttlingBurstLimit"`
		ThrottlingRateLimit  float64 `json:"throttlingRateLimit"`
		CachingEnabled       bool    `json:"cachingEnabled"`
		CacheTTLInSeconds    int     `json:"cacheTtlInSeconds"`
	} `json:"methodSettings"`
}

// apiProtocol is API id's protocol (REST, HTTP or WEBSOCKET), or "" when it
// cannot be read (the call that follows then reports what is wrong).
func apiProtocol(cmd *cobra.Command, g *globalFlags, id string) string {
	resp, err := g.do(cmd, http.MethodGet, apisPath+"/"+url.PathEscape(id), nil, nil, nil)
	if err != nil {
		return ""
	}
	var a struct {
		Protocol string `json:"protocol"`
	}
	if json.Unmarshal(resp.Body, &a) != nil {
		return ""
	}
	return a.Protocol
}

// restOnly refuses what (a REST stage feature) on an HTTP or WebSocket API:
// API Gateway's (v1) stage routes, which those commands use, do not know
// such an API.
func restOnly(cmd *cobra.Command, g *globalFlags, id, what string) error {
	return restOnlyWhy(cmd, g, id, what, "")
}

// restOnlyWhy is restOnly with a sentence after the refusal (why, or what to
// do instead).
func restOnlyWhy(cmd *cobra.Command, g *globalFlags, id, what, why string) error {
	if p := apiProtocol(cmd, g, id); p != "" && p != "REST" {
		if why != "" {
			why = ": " + why
		}
		return fmt.Errorf("%s for REST APIs; api %s is %s%s", what, id, p, why)
	}
	return nil
}

func restStagePath(api, stage string) string {
	return "/restapis/" + url.PathEscape(api) + "/stages/" + url.PathEscape(stage)
}

// patchStage sends ops to update-stage and prints the stage.
func patchStage(cmd *cobra.Command, g *globalFlags, api, stage string, ops []patchOp) error {
	resp, err := g.do(cmd, http.MethodPatch, restStagePath(api, stage), nil, map[string]any{"patchOperations": ops}, nil)
	if err != nil {
		return g.unknownStage(cmd, api, stage, err)
	}
	// What the stage now does that its owner may not expect (a cached
	// method whose key leaves out a path parameter), on stderr.
	for _, v := range resp.Header.Values("Warning") {
		_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "warning:", warningText(v))
	}
	if g.json() {
		return printJSON(cmd.OutOrStdout(), resp.Body)
	}
	var st awsStage
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		return err
	}
	return releaseTable(cmd.OutOrStdout(), &st)
}

// canaryJSON is a REST stage's canarySettings, as both the API Gateway and
// the Portico routes write them.
type canaryJSON struct {
	PercentTraffic         float64           `json:"percentTraffic"`
	DeploymentID           string            `json:"deploymentId"`
	StageVariableOverrides map[string]string `json:"stageVariableOverrides"`
	UseStageCache          bool              `json:"useStageCache"`
}

// String is the canary as the stage tables show it: "20% -> DEPLOYMENT
// (overrides) stage-cache"; "-" for none.
func (c *canaryJSON) String() string {
	if c == nil {
		return "-"
	}
	canary := fmt.Sprintf("%s%% -> %s", strconv.FormatFloat(c.PercentTraffic, 'f', -1, 64), c.DeploymentID)
	if len(c.StageVariableOverrides) > 0 {
		canary += " (" + formatVars(c.StageVariableOverrides) + ")"
	}
	if c.UseStageCache {
		canary += " stage-cache"
	}
	return canary
}

// releaseTable prints a stage's deployment, canary, cache and throttles.
func releaseTable(w io.Writer, st *awsStage) error {
	canary := st.CanarySettings.String()
	cache := "off"
	if st.CacheClusterEnabled {
		cache = st.CacheClusterSize + " GB"
	}
	keys := make([]string, 0, len(st.MethodSettings))
	for k := range st.MethodSettings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var throttles, caching []string
	for _, key := range keys {
		m := st.MethodSettings[key]
		k := methodSettingsName(key)
		if m.ThrottlingRateLimit >= 0 || m.ThrottlingBurstLimit >= 0 {
			rate, burst := "inherited", "inherited"
			if m.ThrottlingRateLimit >= 0 {
				rate = strconv.FormatFloat(m.ThrottlingRateLimit, 'f', -1, 64) + "/s"
			}
			if m.ThrottlingBurstLimit >= 0 {
				burst = strconv.Itoa(m.ThrottlingBurstLimit)
			}
			t := fmt.Sprintf("%s %s burst %s", k, rate, burst)
			// A burst of 0 is a bucket of 0; one not set is inherited
			// ("*/*", then the account's).
			if m.ThrottlingBurstLimit == 0 {
				t += " (every request throttled)"
			}
			throttles = append(throttles, t)
		}
		switch {
		case m.CachingEnabled && m.CacheTTLInSeconds > 0:
			caching = append(caching, fmt.Sprintf("%s ttl %ds", k, m.CacheTTLInSeconds))
		case m.CachingEnabled:
			// A TTL of 0 turns caching off for the method.
			caching = append(caching, k+" off (ttl 0)")
		}
	}
	if len(caching) > 0 {
		cache += ", " + strings.Join(caching, ", ")
	}
	throttle := "-"
	if len(throttles) > 0 {
		throttle = strings.Join(throttles, ", ")
	}
	return table(w, []string{"STAGE", "DEPLOYMENT", "VARIABLES", "CANARY", "CACHE", "THROTTLE"},
		[][]string{{st.StageName, st.DeploymentID, formatVars(st.Variables), canary, cache, throttle}})
}

func stageCanary(g *globalFlags) *cobra.Command {
	var percent float64
	var deployment string
	var vars []string
	var useStageCache, remove bool
	cmd := &cobra.Command{
		Use:   "canary API STAGE [--percent P] [--deployment ID] [--var K=V]... [--use-stage-cache] | --remove",
		Short: "Show a REST stage's canary, send part of its traffic to a canary deployment, change it, or remove it",
		Long: `Sets a REST stage's canary: --percent of the requests (0 to 100, decimals
allowed) go to --deployment (by default the canary's current deployment, or the
stage's own when it has no canary yet) and see the stage variables with the
--var overrides. --remove deletes the canary; the stage keeps its deployment.
With no flag it shows the stage's canary (and cache and throttles) as it is.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := restOnly(cmd, g, args[0], "canary releases are"); err != nil {
				return err
			}
			if remove {
				if cmd.Flags().Changed("percent") || deployment != "" || len(vars) > 0 || useStageCache {
					return fmt.Errorf("--remove takes no other canary flag")
				}
				return patchStage(cmd, g, args[0], args[1], []patchOp{{Op: "remove", Path: "/canarySettings"}})
			}
			var ops []patchOp
			if cmd.Flags().Changed("percent") {
				if percent < 0 || percent > 100 {
					return fmt.Errorf("--percent %v: use 0 to 100", percent)
				}
				ops = append(ops, replaceOp("/canarySettings/percentTraffic", strconv.FormatFloat(percent, 'f', -1, 64)))
			}
			if deployment != "" {
				ops = append(ops, replaceOp("/canarySettings/deploymentId", deployment))
			}
			overrides, err := parseVars(vars)
			if err != nil {
				return err
			}
			names := make([]string, 0, len(overrides))
			for k := range overrides {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				ops = append(ops, replaceOp("/canarySettings/stageVariableOverrides/"+escapePatch(k), overrides[k]))
			}
			if cmd.Flags().Changed("use-stage-cache") {
				ops = append(ops, replaceOp("/canarySettings/useStageCache", strconv.FormatBool(useStageCache)))
			}
			if len(ops) == 0 {
				// No change asked for: show the stage's canary as it is.
				var st awsStage
				if done, err := g.fetch(cmd, http.MethodGet, restStagePath(args[0], args[1]), nil, nil, nil, &st); done || err != nil {
					return g.unknownStage(cmd, args[0], args[1], err)
				}
				return releaseTable(cmd.OutOrStdout(), &st)
			}
			return patchStage(cmd, g, args[0], args[1], ops)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&percent, "percent", 0, "share of the stage's requests the canary takes, 0 to 100")
	f.StringVar(&deployment, "deployment", "", "deployment the canary serves")
	f.StringArrayVar(&vars, "var", nil, "stage variable override K=V for canary requests (repeatable)")
	f.BoolVar(&useStageCache, "use-stage-cache", false, "let canary requests use the stage's cache")
	f.BoolVar(&remove, "remove", false, "remove the canary")
	return cmd
}

func stagePromote(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "promote API STAGE",
		Short: "Make a stage's canary its release: its deployment and variable overrides become the stage's, its share 0%",
		Long: `Promotes a REST stage's canary as the console does: the stage moves to the
canary's deployment, the canary's variable overrides are merged into the
stage's variables, and the canary stays with 0% of the traffic (remove it with
portico stage canary API STAGE --remove).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := restOnly(cmd, g, args[0], "canary releases are"); err != nil {
				return err
			}
			return patchStage(cmd, g, args[0], args[1], []patchOp{
				{Op: "copy", From: "/canarySettings/stageVariableOverrides", Path: "/variables"},
				{Op: "copy", From: "/canarySettings/deploymentId", Path: "/deploymentId"},
				replaceOp("/canarySettings/percentTraffic", "0"),
			})
		},
	}
}

func stageCache(g *globalFlags) *cobra.Command {
	var enable, disable, flush bool
	var size string
	var ttl int
	cmd := &cobra.Command{
		Use:   "cache API STAGE --enable [--size GB] [--ttl SECONDS] | --disable | --flush",
		Short: "Turn a REST stage's response cache on or off, or flush it",
		Long: `--enable turns the stage's cache on for its GET methods (--size is the
memory budget's upper bound in GB, one of 0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118,
237; --ttl the entries' lifetime, 0 to 3600 s, default 300). --disable turns it
off. --flush empties it.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, b := range []bool{enable, disable, flush} {
				if b {
					n++
				}
			}
			if n != 1 {
				return fmt.Errorf("give one of --enable, --disable or --flush")
			}
			if err := restOnlyWhy(cmd, g, args[0], "the response cache is", "HTTP and WebSocket APIs have none, as on API Gateway"); err != nil {
				return err
			}
			if flush {
				if _, err := g.do(cmd, http.MethodDelete, restStagePath(args[0], args[1])+"/cache/data", nil, nil, nil); err != nil {
					return err
				}
				return g.show(cmd, []byte(`{"flushed":true}`), say("stage %s: cache flushed", args[1]))
			}
			if disable {
				if size != "" || cmd.Flags().Changed("ttl") {
					return fmt.Errorf("--disable takes no --size or --ttl")
				}
				return patchStage(cmd, g, args[0], args[1], []patchOp{replaceOp("/cacheClusterEnabled", "false")})
			}
			ops := []patchOp{replaceOp("/cacheClusterEnabled", "true")}
			if size != "" {
				ops = append(ops, replaceOp("/cacheClusterSize", size))
			}
			ops = append(ops, replaceOp("/*/*/caching/enabled", "true"))
			if cmd.Flags().Changed("ttl") {
				ops = append(ops, replaceOp("/*/*/caching/ttlInSeconds", strconv.Itoa(ttl)))
			}
			return patchStage(cmd, g, args[0], args[1], ops)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&enable, "enable", false, "turn the cache on")
	f.BoolVar(&disable, "disable", false, "turn the cache off")
	f.BoolVar(&flush, "flush", false, "empty the cache")
	f.StringVar(&size, "size", "", "cache size in GB (0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118 or 237)")
	f.IntVar(&ttl, "ttl", 300, "entry lifetime in seconds, 0 to 3600")
	return cmd
}

// escapePatch escapes a JSON-pointer segment: ~ as ~0, / as ~1.
func escapePatch(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// methodSettingsName is a method-settings key as --method names it: API
// Gateway's "~1pets~1{id}/GET" reads "/pets/{id}/GET", the root resource's
// "~1/GET" reads "/GET"; "*/*" stays.
func methodSettingsName(key string) string {
	if !strings.HasPrefix(key, "~1") {
		return key
	}
	if rest, ok := strings.CutPrefix(key, "~1/"); ok {
		return "/" + rest // the root resource "/": no second slash
	}
	return strings.ReplaceAll(strings.ReplaceAll(key, "~1", "/"), "~0", "~")
}

// methodSettingsPath turns "/pets/{id}/GET" (or "" for every method) into the
// patch path prefix "/~1pets~1{id}/GET" ("/*/*"); "/GET" is the root
// resource's, "/~1/GET".
func methodSettingsPath(method string) (string, error) {
	if method == "" || method == "*/*" {
		return "/*/*", nil
	}
	i := strings.LastIndexByte(method, '/')
	if i < 0 || !strings.HasPrefix(method, "/") || i == len(method)-1 {
		return "", fmt.Errorf("--method %q: give the resource path and method, e.g. /pets/GET, /pets/{id}/DELETE or /GET (the root resource)", method)
	}
	resource, verb := method[:i], strings.ToUpper(method[i+1:])
	if verb == "*" || resource == "/*" {
		return "", fmt.Errorf("--method %q: the only wildcard is */* (every method of the stage, or leave --method out); name one method otherwise, e.g. /pets/GET", method)
	}
	if !apis.IsMethod(verb) {
		// "/pets": the method forgotten, not a root resource method "PETS".
		return "", fmt.Errorf("--method %q: %q is not an HTTP method; end it with the method (GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS or ANY), e.g. %s/GET",
			method, method[i+1:], strings.TrimSuffix(method, "/"))
	}
	if resource == "" {
		resource = "/"
	}
	return "/" + escapePatch(resource) + "/" + verb, nil
}

func stageThrottle(g *globalFlags) *cobra.Command {
	var method string
	var rate float64
	var burst int
	cmd := &cobra.Command{
		Use:   "throttle API STAGE [--method /path/METHOD] --rate R --burst B",
		Short: "Set a stage's throttle (requests per second and burst), for every method or one",
		Long: `Sets a stage's throttle: --rate requests per second and a --burst bucket,
for every method (a REST stage's */* method settings; an HTTP or WebSocket
stage's default route settings) or, with --method /path/METHOD, for one method
of a REST API. An HTTP or WebSocket API's routes are throttled by route key
through apigatewayv2: aws apigatewayv2 update-stage --route-settings.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix, err := methodSettingsPath(method)
			if err != nil {
				return err
			}
			v2 := false
			if p := apiProtocol(cmd, g, args[0]); p != "" && p != "REST" {
				if prefix != "/*/*" {
					key := "GET /pets" // an HTTP API's route key
					if p == "WEBSOCKET" {
						key = "sendmessage"
					}
					return fmt.Errorf("--method is a REST API's method (/path/METHOD); api %s is %s, whose routes are throttled by route key: "+
						"aws apigatewayv2 update-stage --api-id %s --stage-name %s --route-settings '{\"%s\":{\"ThrottlingRateLimit\":10,\"ThrottlingBurstLimit\":5}}' "+
						"(without --method, this command sets the stage's default route settings)", args[0], p, args[0], args[1], key)
				}
				v2 = true
			}
			var ops []patchOp
			if cmd.Flags().Changed("rate") {
				if err := checkRate(rate); err != nil {
					return err
				}
				if !cmd.Flags().Changed("burst") && rate > 0 {
					_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "warning: --rate without --burst keeps the burst already set; with none, the burst is inherited (*/*'s, else the account's); a burst of 0 throttles every request whatever the rate")
				}
				ops = append(ops, replaceOp(prefix+"/throttling/rateLimit", strconv.FormatFloat(rate, 'f', -1, 64)))
			}
			if cmd.Flags().Changed("burst") && burst == 0 && (!cmd.Flags().Changed("rate") || rate != 0) {
				warnZeroBurst(cmd, "--burst 0")
			}
			if cmd.Flags().Changed("burst") {
				ops = append(ops, replaceOp(prefix+"/throttling/burstLimit", strconv.Itoa(burst)))
			}
			if len(ops) == 0 {
				return fmt.Errorf("give --rate and/or --burst")
			}
			if v2 {
				return throttleV2Stage(cmd, g, args[0], args[1], rate, burst)
			}
			return patchStage(cmd, g, args[0], args[1], ops)
		},
	}
	f := cmd.Flags()
	f.StringVar(&method, "method", "", "one method, as /resource/path/METHOD (default: every method, */*)")
	f.Float64Var(&rate, "rate", 0, "steady-state requests per second (-1: not set, inherited from */* or the account)")
	f.IntVar(&burst, "burst", 0, "burst size, the token bucket's capacity (0 admits no request, whatever the rate; -1: not set, inherited from */* or the account)")
	return cmd
}

// throttleV2Stage sets an HTTP or WebSocket stage's default route throttle
// (rate and burst, those whose flag is given) through apigatewayv2's
// update-stage, which keeps the fields it is not given, and prints the stage.
func throttleV2Stage(cmd *cobra.Command, g *globalFlags, api, stage string, rate float64, burst int) error {
	rs := map[string]any{}
	if cmd.Flags().Changed("rate") {
		rs["throttlingRateLimit"] = rate
	}
	if cmd.Flags().Changed("burst") {
		rs["throttlingBurstLimit"] = burst
	}
	var st v2Stage
	path := "/v2/apis/" + url.PathEscape(api) + "/stages/" + url.PathEscape(stage)
	if done, err := g.fetch(cmd, http.MethodPatch, path, nil, map[string]any{"defaultRouteSettings": rs}, nil, &st); done || err != nil {
		return g.unknownStage(cmd, api, stage, err)
	}
	return v2StageTable(cmd.OutOrStdout(), &st)
}

// v2Throttle is apigatewayv2's RouteSettings as the CLI prints them.
type v2Throttle struct {
	ThrottlingBurstLimit *int     `json:"throttlingBurstLimit"`
	ThrottlingRateLimit  *float64 `json:"throttlingRateLimit"`
}

// v2Stage is the part of apigatewayv2's Stage the CLI prints.
type v2Stage struct {
	StageName            string                `json:"stageName"`
	DeploymentID         string                `json:"deploymentId"`
	StageVariables       map[string]string     `json:"stageVariables"`
	DefaultRouteSettings *v2Throttle           `json:"defaultRouteSettings"`
	RouteSettings        map[string]v2Throttle `json:"routeSettings"`
}

// v2StageTable prints an HTTP or WebSocket stage's deployment and throttles:
// the default route settings as "default", each route's by its key.
func v2StageTable(w io.Writer, st *v2Stage) error {
	var throttles []string
	add := func(name string, t *v2Throttle) {
		if t == nil || t.ThrottlingRateLimit == nil && t.ThrottlingBurstLimit == nil {
			return
		}
		rate, burst := "inherited", "inherited"
		if r := t.ThrottlingRateLimit; r != nil {
			rate = strconv.FormatFloat(*r, 'f', -1, 64) + "/s"
		}
		if b := t.ThrottlingBurstLimit; b != nil {
			burst = strconv.Itoa(*b)
		}
		s := fmt.Sprintf("%s %s burst %s", name, rate, burst)
		if b := t.ThrottlingBurstLimit; b != nil && *b == 0 {
			s += " (every request throttled)"
		}
		throttles = append(throttles, s)
	}
	add("default", st.DefaultRouteSettings)
	keys := make([]string, 0, len(st.RouteSettings))
	for k := range st.RouteSettings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := st.RouteSettings[k]
		add(k, &t)
	}
	throttle := "-"
	if len(throttles) > 0 {
		throttle = strings.Join(throttles, ", ")
	}
	return table(w, []string{"STAGE", "DEPLOYMENT", "VARIABLES", "THROTTLE"},
		[][]string{{st.StageName, cmp.Or(st.DeploymentID, "-"), formatVars(st.StageVariables), throttle}})
}

// deployCanary creates a deployment straight into a stage's canary
// (create-deployment with canarySettings) and prints its id.
func deployCanary(cmd *cobra.Command, g *globalFlags, api string, body map[string]any, percent float64, vars []string) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("--canary %v: use 0 to 100", percent)
	}
	overrides, err := parseVars(vars)
	if err != nil {
		return err
	}
	if _, ok := body["variables"]; ok {
		return fmt.Errorf("--var sets a new stage's variables; a canary deployment takes --canary-var overrides")
	}
	if err := restOnly(cmd, g, api, "canary releases are"); err != nil {
		return err
	}
	body["canarySettings"] = map[string]any{"percentTraffic": percent, "stageVariableOverrides": overrides}
	var out struct {
		ID string `json:"id"`
	}
	if done, err := g.fetch(cmd, http.MethodPost, "/restapis/"+url.PathEscape(api)+"/deployments", nil, body, nil, &out); done || err != nil {
		return err
	}
	_, _ = fmt.Fprintln(cmd.OutOrStdout(), out.ID)
	return nil
}
