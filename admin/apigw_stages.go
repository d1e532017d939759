package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/accesslog"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/cache"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file holds API Gateway's (v1) stage-level control plane in its own REST
// shapes, so that the AWS SDKs and `aws apigateway --endpoint-url` work:
// get-stage, get-stages, update-stage (patch operations), create-deployment
// (with --stage-name and --canary-settings) and flush-stage-cache. REST API ids
// and stage names are Portico's. An HTTP or WebSocket API's id is a
// NotFoundException on every one of them, as in get-rest-api: on API Gateway
// those APIs are apigatewayv2's alone, and REST-only settings (method
// settings, cache cluster, execution logging) would be stored on their stages
// and never applied.

// StageCache is the gateway's response cache as the admin API needs it; the
// gateway/cache stage satisfies it.
type StageCache interface {
	// Flush empties a stage's cache.
	Flush(apiID, stage string)
}

// AuthorizerCache is the gateway's cache of Lambda authorizer answers.
type AuthorizerCache interface {
	// FlushAuthorizers drops a stage's cached authorizer answers.
	FlushAuthorizers(apiID, stage string)
}

// registerAPIGatewayStageRoutes registers the stage-level routes.
func (s *Server) registerAPIGatewayStageRoutes() {
	if s.gw.APIs == nil {
		return
	}
	s.HandleAPIGateway("GET /restapis/{api}/stages", s.apigwGetStages)
	s.HandleAPIGateway("GET /restapis/{api}/stages/{stage}", s.apigwGetStage)
	s.HandleAPIGateway("PATCH /restapis/{api}/stages/{stage}", s.apigwUpdateStage)
	s.HandleAPIGateway("POST /restapis/{api}/deployments", s.apigwCreateDeployment)
	s.HandleAPIGateway("DELETE /restapis/{api}/stages/{stage}/cache/data", s.apigwFlushStageCache)
	s.HandleAPIGateway("DELETE /restapis/{api}/stages/{stage}/cache/authorizers", s.apigwFlushStageAuthorizersCache)
}

// apigwStage is API Gateway's Stage shape.
type apigwStage struct {
	DeploymentID        string                        `json:"deploymentId,omitempty"`
	StageName           string                        `json:"stageName"`
	Description         string                        `json:"description,omitempty"`
	CacheClusterEnabled bool                          `json:"cacheClusterEnabled"`
	CacheClusterSize    string                        `json:"cacheClusterSize,omitempty"`
	CacheClusterStatus  string                        `json:"cacheClusterStatus"`
	MethodSettings      map[string]apigwMethodSetting `json:"methodSettings"`
	Variables           map[string]string             `json:"variables,omitempty"`
	CanarySettings      *apis.CanarySettings          `json:"canarySettings,omitempty"`
	TracingEnabled      bool                          `json:"tracingEnabled"`
	AccessLogSettings   *apis.AccessLogSettings       `json:"accessLogSettings,omitempty"`
	Tags                map[string]string             `json:"tags,omitempty"`
	CreatedDate         float64                       `json:"createdDate"`
	LastUpdatedDate     float64                       `json:"lastUpdatedDate"`
}

// apigwMethodSetting is API Gateway's MethodSetting shape. A throttle that is
// not set reads -1, as API Gateway has it (the SDKs' MethodSetting holds the
// throttle as plain numbers: left out, it would read 0, which throttles every
// request).
type apigwMethodSetting struct {
	apis.MethodSetting
	ThrottlingBurstLimit int     `json:"throttlingBurstLimit"`
	ThrottlingRateLimit  float64 `json:"throttlingRateLimit"`
}

// toAPIGWMethodSettings is a stage's method settings as GetStage shows them,
// keyed as API Gateway keys them ("~1pets~1{id}/GET"; entries an older Portico
// stored as "/pets/{id}/GET" are shown so too).
func toAPIGWMethodSettings(in map[string]apis.MethodSetting) map[string]apigwMethodSetting {
	in = maps.Clone(in)
	apis.UpgradeMethodSettingsKeys(in)
	out := make(map[string]apigwMethodSetting, len(in))
	for k, ms := range in {
		m := apigwMethodSetting{MethodSetting: ms, ThrottlingBurstLimit: -1, ThrottlingRateLimit: -1}
		if b := ms.ThrottlingBurstLimit; b != nil {
			m.ThrottlingBurstLimit = *b
		}
		if r := ms.ThrottlingRateLimit; r != nil {
			m.ThrottlingRateLimit = *r
		}
		out[k] = m
	}
	return out
}

// epoch is a time as API Gateway's JSON timestamps: seconds since the epoch.
func epoch(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

func toAPIGWStage(st *apis.Stage) apigwStage {
	out := apigwStage{DeploymentID: st.DeploymentID, StageName: st.Name, Description: st.Description,
		CacheClusterEnabled: st.CacheClusterEnabled, CacheClusterSize: st.CacheClusterSize, CacheClusterStatus: "NOT_AVAILABLE",
		MethodSettings: toAPIGWMethodSettings(st.MethodSettings), Variables: st.Variables, CanarySettings: st.CanarySettings,
		TracingEnabled: st.TracingEnabled, AccessLogSettings: st.AccessLogSettings, Tags: st.Tags,
		CreatedDate: epoch(st.CreatedAt), LastUpdatedDate: epoch(st.UpdatedAt)}
	if st.CacheClusterEnabled {
		out.CacheClusterStatus = "AVAILABLE"
	}
	return out
}

func (s *Server) apigwGetStage(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.restAPI(r.Context(), r.PathValue("api")); err != nil {
		return err
	}
	st, err := s.gw.APIs.GetStage(r.Context(), r.PathValue("api"), r.PathValue("stage"))
	if err != nil {
		return s.stageErr(r.Context(), r.PathValue("api"), err, stageNotFound())
	}
	return writeJSON(w, http.StatusOK, toAPIGWStage(st))
}

func (s *Server) apigwGetStages(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.restAPI(r.Context(), r.PathValue("api")); err != nil {
		return err
	}
	list, err := s.gw.APIs.ListStages(r.Context(), r.PathValue("api"))
	if err != nil {
		return restAPIErr(r.PathValue("api"), err)
	}
	dep := r.URL.Query().Get("deploymentId")
	out := struct {
		Item []apigwStage `json:"item"`
	}{Item: []apigwStage{}}
	for _, st := range list {
		if dep == "" || st.DeploymentID == dep {
			out.Item = append(out.Item, toAPIGWStage(st))
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apigwUpdateStage(w http.ResponseWriter, r *http.Request) error {
	var req PatchRequest
	if err := decodeJSON(w, r, porticoBody, &req); err != nil {
		return err
	}
	// An HTTP or WebSocket API's stages are apigatewayv2's: as on API
	// Gateway, whose two control planes keep separate ids, this one does not
	// know them (REST-only settings would be stored there and never applied).
	if _, err := s.restAPI(r.Context(), r.PathValue("api")); err != nil {
		return err
	}
	if len(req.PatchOperations) == 0 {
		// patchOperations is optional, as in update-deployment and
		// update-rest-api: nothing to change answers the stage as it is.
		return s.apigwGetStage(w, r)
	}
	p, err := StagePatchFromOperations(req.PatchOperations)
	if err != nil {
		return err
	}
	if p.AccessLogDestination != nil {
		// The destination's form is checked with its operation; whether
		// the server may write there, here (the allowed directories), once
		// the stage is found: a missing stage is 404 first, as API Gateway
		// checks the resource before the patch.
		if _, err := s.gw.APIs.GetStage(r.Context(), r.PathValue("api"), r.PathValue("stage")); err != nil {
			return s.stageErr(r.Context(), r.PathValue("api"), err, stageNotFound())
		}
		if err := s.checkAccessLogDestination(*p.AccessLogDestination); err != nil {
			return badPatchValue(PatchOperation{Op: "replace", Path: "/accessLogSettings/destinationArn"}, "%s", err.Error())
		}
	}
	st, err := s.gw.APIs.UpdateStage(r.Context(), r.PathValue("api"), r.PathValue("stage"), p)
	if err != nil {
		notFound := stageNotFound()
		if p.DeploymentID != nil || (p.Canary != nil && p.Canary.DeploymentID != nil) {
			// The stage exists: the deployment a patch named is what is unknown.
			if _, serr := s.gw.APIs.GetStage(r.Context(), r.PathValue("api"), r.PathValue("stage")); serr == nil {
				notFound = errDeploymentNotFound
			}
		}
		return s.stageErr(r.Context(), r.PathValue("api"), err, notFound)
	}
	if changesCaching(p) {
		addWarnings(w.Header(), s.cacheWarnings(r.Context(), st))
	}
	return writeJSON(w, http.StatusOK, toAPIGWStage(st))
}

// changesCaching reports whether p may turn caching on for some method: the
// stage's cache, or a method setting's caching.
func changesCaching(p apis.StagePatch) bool {
	return p.CacheClusterEnabled != nil || p.DeploymentID != nil || slices.ContainsFunc(p.MethodSettings, func(mp apis.MethodSettingPatch) bool {
		return mp.CachingEnabled != nil || mp.CacheTTLInSeconds != nil
	})
}

// cacheWarnings are what the methods st caches do not key on (cache.
// UnkeyedPathWarnings), each logged at warn; none when its deployment cannot
// be read.
func (s *Server) cacheWarnings(ctx context.Context, st *apis.Stage) []string {
	if st == nil || !st.CacheClusterEnabled || st.DeploymentID == "" {
		return nil
	}
	dep, err := s.gw.APIs.GetDeployment(ctx, st.APIID, st.DeploymentID)
	if err != nil {
		return nil
	}
	warnings := cache.UnkeyedPathWarnings(&dep.API, st)
	for _, w := range warnings {
		s.log.Warn(w, "api", st.APIID, "stage", st.Name)
	}
	return warnings
}

// badPatchValue is a BadRequestException naming the operation's path.
func badPatchValue(op PatchOperation, format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
		fmt.Sprintf("Invalid value for %s %s: ", op.Op, op.Path)+fmt.Sprintf(format, args...))
}

// patchValue parses the operation's value with parse; a value parse refuses
// is a BadRequestException saying it is not what.
func patchValue[T any](op PatchOperation, what string, parse func(string) (T, bool)) (*T, error) {
	v, err := op.StringValue()
	if err != nil {
		return nil, err
	}
	x, ok := parse(v)
	if !ok {
		return nil, badPatchValue(op, "%q is not %s", truncate(v, 40), what)
	}
	return &x, nil
}

// patchBool parses a boolean value: "true" or "false" in any case, as API
// Gateway reads them (its own examples write value='True').
func patchBool(op PatchOperation) (*bool, error) {
	return patchValue(op, "true or false", parsePatchBool)
}

func parsePatchBool(v string) (bool, bool) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, true
	case strings.EqualFold(v, "false"):
		return false, true
	}
	return false, false
}

// patchInt parses an integer value; API Gateway's integers are 32-bit, so
// one outside int32 is refused rather than read back wrapped by the SDKs.
func patchInt(op PatchOperation) (*int, error) {
	return patchValue(op, "an integer from -2147483648 to 2147483647", func(v string) (int, bool) {
		n, err := strconv.ParseInt(v, 10, 32)
		return int(n), err == nil
	})
}

// patchIntIn parses an integer value from lo to hi, and says that range
// whether the value is no integer ("10.5") or one outside it, so that the
// first refusal names the values the next would take.
func patchIntIn(op PatchOperation, lo, hi int, unit string) (*int, error) {
	return patchValue(op, fmt.Sprintf("an integer from %d to %d%s", lo, hi, unit), func(v string) (int, bool) {
		n, err := strconv.ParseInt(v, 10, 32)
		return int(n), err == nil && int(n) >= lo && int(n) <= hi
	})
}

func patchFloat(op PatchOperation) (*float64, error) {
	return patchValue(op, "a number", func(v string) (float64, bool) {
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	})
}

// patchOverrides parses a test's value for the canary's variable overrides:
// a JSON object of strings, all of them ({} for none).
func patchOverrides(op PatchOperation) (map[string]string, error) {
	v, err := op.StringValue()
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if json.Unmarshal([]byte(v), &m) != nil || m == nil {
		return nil, badPatchValue(op, "%q is not a JSON object of strings, such as {\"alias\":\"beta\"} ({} for no overrides)", truncate(v, 40))
	}
	return m, nil
}

func patchString(op PatchOperation) (*string, error) {
	v, err := op.StringValue()
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// StagePatchFromOperations turns update-stage's patch operations into one
// apis.StagePatch, which the service applies in one transaction: an operation
// the stage does not support, or a bad value, refuses the whole update with a
// BadRequestException naming its path.
func StagePatchFromOperations(ops []PatchOperation) (apis.StagePatch, error) {
	var p apis.StagePatch
	canary := func() *apis.CanaryPatch {
		if p.Canary == nil {
			p.Canary = &apis.CanaryPatch{}
		}
		return p.Canary
	}
	for _, op := range ops {
		if err := checkPatchPath(op); err != nil {
			return p, err
		}
		if !strings.HasPrefix(op.Path, "/") {
			// A JSON pointer (RFC 6901) starts with "/".
			return p, errdefs.New(errdefs.ErrInvalid, "BadRequestException",
				fmt.Sprintf("Invalid patch path '%s' specified for op '%s': a patch path starts with /, such as /description or /~1pets/GET/metrics/enabled", truncate(op.Path, 200), truncate(op.Op, 20)))
		}
		if err := applyStageOp(&p, op, canary); err != nil {
			return p, err
		}
	}
	if c := p.Canary; c != nil && c.Remove && (c.PercentTraffic != nil || c.DeploymentID != nil || c.UseStageCache != nil ||
		len(c.SetOverrides) > 0 || len(c.UnsetOverrides) > 0) {
		return p, errdefs.New(errdefs.ErrInvalid, "BadRequestException",
			"Invalid patch operations: remove /canarySettings cannot be combined with other /canarySettings operations")
	}
	return p, nil
}

// unsupportedStagePaths are the stage properties API Gateway's update-stage
// takes that name a feature Portico does not have, with the feature's name.
var unsupportedStagePaths = map[string]string{
	"clientCertificateId":  "client certificates (generate-client-certificate)",
	"documentationVersion": "documentation versions (create-documentation-version)",
	"webAclArn":            "AWS WAF web ACLs",
}

// applyStageOp adds one operation to p.
func applyStageOp(p *apis.StagePatch, op PatchOperation, canary func() *apis.CanaryPatch) error {
	segs := op.Segments()
	set := op.Op == "replace" || op.Op == "add"
	var err error
	switch {
	case op.Op == "test":
		// A precondition: the canary serves this deployment, or has these
		// variable overrides (a promotion that names the canary it takes, as
		// the console's Promote does).
		switch op.Path {
		case "/canarySettings/deploymentId":
			p.ExpectCanaryDeployment, err = patchString(op)
		case "/canarySettings/stageVariableOverrides":
			p.ExpectCanaryOverrides, err = patchOverrides(op)
		default:
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
				fmt.Sprintf("Invalid patch operation: test of '%s' is not supported; test only /canarySettings/deploymentId (the deployment the canary must serve for the update to apply) or /canarySettings/stageVariableOverrides (all of the canary's overrides, as a JSON object of strings)", truncate(op.Path, 200)))
		}
		return err
	case op.Op == "copy":
		from := op.From
		switch {
		case from == "/canarySettings/deploymentId" && op.Path == "/deploymentId":
			p.PromoteDeployment = true
		case from == "/canarySettings/stageVariableOverrides" && op.Path == "/variables":
			p.PromoteVariables = true
		default:
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
				fmt.Sprintf("Invalid patch operation: copy from '%s' to '%s' is not supported; use copy from /canarySettings/deploymentId to /deploymentId or from /canarySettings/stageVariableOverrides to /variables", truncate(from, 200), truncate(op.Path, 200)))
		}
		return nil
	case len(segs) == 1 && unsupportedStagePaths[segs[0]] != "":
		return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
			fmt.Sprintf("Invalid patch path '%s' specified for op '%s': %s are not supported by Portico, so a stage cannot name one; leave the path out",
				op.Path, truncate(op.Op, 20), unsupportedStagePaths[segs[0]]))
	case len(segs) == 1 && op.Op == "remove" && segs[0] == "description":
		return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
			"Invalid patch path '/description' specified for op 'remove': clear the description with op 'replace' and no value (or an empty one)")
	case len(segs) == 1 && set:
		switch segs[0] {
		case "description":
			d := op.DescriptionValue()
			p.Description = &d
		case "deploymentId":
			p.DeploymentID, err = patchString(op)
		case "cacheClusterEnabled":
			p.CacheClusterEnabled, err = patchBool(op)
		case "cacheClusterSize":
			if p.CacheClusterSize, err = patchString(op); err == nil && !apis.ValidCacheClusterSize(*p.CacheClusterSize) {
				err = badPatchValue(op, "cache cluster size %q is not one of %s (GB)", truncate(*p.CacheClusterSize, 20), strings.Join(apis.CacheClusterSizes, ", "))
			}
		case "tracingEnabled":
			p.TracingEnabled, err = patchBool(op)
		default:
			return BadPatchPath(op)
		}
		return err
	case len(segs) == 2 && segs[0] == "variables":
		return patchVariable(op, segs[1], &p.SetVariables, &p.UnsetVariables)
	case len(segs) >= 1 && segs[0] == "canarySettings":
		return applyCanaryOp(op, segs, set, canary)
	case len(segs) >= 1 && segs[0] == "accessLogSettings":
		return applyAccessLogOp(p, op, segs, set)
	case len(segs) >= 2 && op.Op == "remove":
		// "/{key}": the key as GetStage shows it, its ~1 escapes kept.
		key := strings.TrimPrefix(op.Path, "/")
		if err := apis.ValidMethodSettingsKey(key); err != nil {
			return badMethodSettingPath(op, err)
		}
		p.MethodSettings = append(p.MethodSettings, apis.MethodSettingPatch{Key: key, Remove: true})
		return nil
	case len(segs) >= 4 && set:
		// "/{key}/{group}/{field}"; the key keeps its ~1 escapes, and may
		// hold unescaped slashes ("/pets/{id}/GET/metrics/enabled", as
		// Terraform sends a method_path without ~1).
		body := strings.TrimPrefix(op.Path, "/")
		i := strings.LastIndexByte(body, '/')
		j := strings.LastIndexByte(body[:i], '/')
		return applyMethodSettingOp(p, op, body[:j], body[j+1:])
	}
	return BadPatchPath(op)
}

// patchVariable adds a replace, add or remove of variable name to set and unset
// (stage variables, canary overrides).
func patchVariable(op PatchOperation, name string, set *map[string]string, unset *[]string) error {
	if !apis.ValidVariableName(name) {
		return badPatchValue(op, "stage variable name %q must match [A-Za-z0-9_]{1,64}", truncate(name, 80))
	}
	switch op.Op {
	case "replace", "add":
		v, err := op.StringValue()
		if err != nil {
			return err
		}
		if *set == nil {
			*set = map[string]string{}
		}
		(*set)[name] = v
	case "remove":
		*unset = append(*unset, name)
		delete(*set, name)
	default:
		return BadPatchPath(op)
	}
	return nil
}

// applyAccessLogOp handles /accessLogSettings (remove) and
// /accessLogSettings/format and /destinationArn (replace): the format's
// variables and request id, and the destination's form, are checked here
// (gateway/accesslog).
func applyAccessLogOp(p *apis.StagePatch, op PatchOperation, segs []string, set bool) error {
	switch {
	case len(segs) == 1 && op.Op == "remove":
		p.AccessLogRemove, p.AccessLogFormat, p.AccessLogDestination = true, nil, nil
		return nil
	case len(segs) == 2 && set && segs[1] == "format":
		v, err := patchString(op)
		if err != nil {
			return err
		}
		if preset, ok := accesslog.Presets[strings.ToLower(*v)]; ok {
			v = &preset
		}
		if _, err := accesslog.CheckFormat(apis.ProtocolREST, *v); err != nil {
			return badPatchValue(op, "%s", err.Error())
		}
		p.AccessLogFormat = v
		return nil
	case len(segs) == 2 && set && segs[1] == "destinationArn":
		v, err := patchString(op)
		if err != nil {
			return err
		}
		if _, err := accesslog.ParseDestination(*v); err != nil {
			return badPatchValue(op, "%s", err.Error())
		}
		p.AccessLogDestination = v
		return nil
	}
	return BadPatchPath(op)
}

// applyCanaryOp handles /canarySettings paths.
func applyCanaryOp(op PatchOperation, segs []string, set bool, canary func() *apis.CanaryPatch) error {
	var err error
	switch {
	case len(segs) == 1 && op.Op == "remove":
		canary().Remove = true
	case len(segs) == 2 && segs[1] == "stageVariableOverrides" && op.Op == "remove":
		return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
			fmt.Sprintf("Invalid patch operation: removing %s is not supported; remove single overrides at /canarySettings/stageVariableOverrides/{name}", op.Path))
	case len(segs) == 2 && set && segs[1] == "percentTraffic":
		var f *float64
		if f, err = patchFloat(op); err == nil {
			if *f < 0 || *f > 100 {
				return badPatchValue(op, "percentTraffic %v is outside 0.0..100.0", *f)
			}
			canary().PercentTraffic = f
		}
	case len(segs) == 2 && set && segs[1] == "deploymentId":
		canary().DeploymentID, err = patchString(op)
	case len(segs) == 2 && set && segs[1] == "useStageCache":
		canary().UseStageCache, err = patchBool(op)
	case len(segs) == 3 && segs[1] == "stageVariableOverrides":
		c := canary()
		return patchVariable(op, segs[2], &c.SetOverrides, &c.UnsetOverrides)
	default:
		return BadPatchPath(op)
	}
	return err
}

// badMethodSettingPath is the error of a patch path whose method-settings key
// is not one (why says why).
func badMethodSettingPath(op PatchOperation, why error) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
		fmt.Sprintf("Invalid method setting path: %s. Use /*/*/{setting} for every method or /{resourcePath with / as ~1}/{METHOD}/{setting} (/~1pets~1{id}/GET/metrics/enabled): %s",
			truncate(op.Path, 200), strings.TrimSuffix(why.Error(), ": "+errdefs.ErrInvalid.Error())))
}

// applyMethodSettingOp handles /{key}/{group}/{field} paths
// ("/*/*/throttling/rateLimit", "/~1pets/GET/caching/ttlInSeconds"): key is
// the method-settings key ("*/*", "~1pets/GET"), field "{group}/{field}".
func applyMethodSettingOp(p *apis.StagePatch, op PatchOperation, key, field string) error {
	if err := apis.CheckNewMethodSettingsKey(key); err != nil {
		return badMethodSettingPath(op, err)
	}
	m := apis.MethodSettingPatch{Key: key}
	var err error
	switch field {
	case "metrics/enabled":
		m.MetricsEnabled, err = patchBool(op)
	case "logging/loglevel":
		if m.LoggingLevel, err = patchString(op); err == nil {
			switch *m.LoggingLevel {
			case "OFF", "ERROR", "INFO":
			default:
				err = badPatchValue(op, "logging level %q: use OFF, ERROR or INFO", truncate(*m.LoggingLevel, 20))
			}
		}
	case "logging/dataTrace":
		m.DataTraceEnabled, err = patchBool(op)
	case "throttling/burstLimit":
		m.ThrottlingBurstLimit, err = patchInt(op)
		if err == nil && *m.ThrottlingBurstLimit < -1 {
			err = badPatchValue(op, "burst limit %d is negative", *m.ThrottlingBurstLimit)
		}
	case "throttling/rateLimit":
		m.ThrottlingRateLimit, err = patchFloat(op)
		if err == nil && *m.ThrottlingRateLimit < 0 && *m.ThrottlingRateLimit != -1 {
			err = badPatchValue(op, "rate limit %v is negative", *m.ThrottlingRateLimit)
		}
	case "caching/enabled":
		m.CachingEnabled, err = patchBool(op)
	case "caching/ttlInSeconds":
		m.CacheTTLInSeconds, err = patchIntIn(op, 0, apis.MaxCacheTTL, " (seconds)")
	case "caching/dataEncrypted":
		m.CacheDataEncrypted, err = patchBool(op)
	case "caching/requireAuthorizationForCacheControl":
		m.RequireAuthorizationForCacheControl, err = patchBool(op)
	case "caching/unauthorizedCacheControlHeaderStrategy":
		if m.UnauthorizedCacheControlHeaderStrategy, err = patchString(op); err == nil {
			switch *m.UnauthorizedCacheControlHeaderStrategy {
			case apis.CacheControlFail, apis.CacheControlWithHeader, apis.CacheControlWithoutHeader:
			default:
				err = badPatchValue(op, "use %s, %s or %s", apis.CacheControlFail, apis.CacheControlWithHeader, apis.CacheControlWithoutHeader)
			}
		}
	default:
		return BadPatchPath(op)
	}
	if err != nil {
		return err
	}
	p.MethodSettings = append(p.MethodSettings, m)
	return nil
}

// apigwDeploymentRequest is CreateDeployment's body.
type apigwDeploymentRequest struct {
	StageName           string            `json:"stageName"`
	StageDescription    string            `json:"stageDescription"`
	Description         string            `json:"description"`
	CacheClusterEnabled *bool             `json:"cacheClusterEnabled"`
	CacheClusterSize    *string           `json:"cacheClusterSize"`
	Variables           map[string]string `json:"variables"`
	TracingEnabled      *bool             `json:"tracingEnabled"`
	CanarySettings      *struct {
		PercentTraffic         float64           `json:"percentTraffic"`
		StageVariableOverrides map[string]string `json:"stageVariableOverrides"`
		UseStageCache          bool              `json:"useStageCache"`
	} `json:"canarySettings"`
}

func (s *Server) apigwCreateDeployment(w http.ResponseWriter, r *http.Request) error {
	var in apigwDeploymentRequest
	if err := decodeJSON(w, r, porticoBody, &in); err != nil {
		return err
	}
	if _, err := s.restAPI(r.Context(), r.PathValue("api")); err != nil {
		return err // an HTTP or WebSocket API deploys through apigatewayv2
	}
	di := apis.DeployInput{Description: in.Description, StageName: in.StageName, StageDescription: in.StageDescription,
		Variables: in.Variables, MergeVariables: true, CacheClusterEnabled: in.CacheClusterEnabled, CacheClusterSize: in.CacheClusterSize,
		TracingEnabled: in.TracingEnabled}
	if c := in.CanarySettings; c != nil {
		di.Canary = &apis.CanarySettings{PercentTraffic: c.PercentTraffic, StageVariableOverrides: c.StageVariableOverrides, UseStageCache: c.UseStageCache}
	}
	dep, _, err := s.gw.APIs.Deploy(r.Context(), r.PathValue("api"), di)
	if err != nil {
		notFound := stageNotFound()
		if di.Canary != nil {
			// The only stage a create can miss: a canary goes into an
			// existing stage and its deployment.
			notFound = errdefs.New(errdefs.ErrNotFound, "NotFoundException", fmt.Sprintf(
				"Invalid Stage identifier specified: a canary deploys into an existing stage; deploy to stage %q without canarySettings (portico: without --canary) first", truncate(in.StageName, 128)))
		}
		return s.stageErr(r.Context(), r.PathValue("api"), err, notFound)
	}
	return writeJSON(w, http.StatusCreated, deploymentJSON{ID: dep.ID, Description: dep.Description,
		CreatedDate: epoch(dep.CreatedAt), APISummary: methodSummary(&dep.API)})
}

// apigwFlushStageAuthorizersCache is flush-stage-authorizers-cache: the
// stage's cached authorizer answers are dropped (202, as API Gateway answers).
func (s *Server) apigwFlushStageAuthorizersCache(w http.ResponseWriter, r *http.Request) error {
	var flush func(apiID, stage string)
	if s.gw.AuthorizerCache != nil {
		flush = s.gw.AuthorizerCache.FlushAuthorizers
	}
	return s.flushStage(w, r, flush)
}

func (s *Server) apigwFlushStageCache(w http.ResponseWriter, r *http.Request) error {
	var flush func(apiID, stage string)
	if s.gw.Cache != nil {
		flush = s.gw.Cache.Flush
	}
	return s.flushStage(w, r, flush)
}

// flushStage runs flush (when there is one) on the request's stage and
// answers 202; an unknown stage is a 404.
func (s *Server) flushStage(w http.ResponseWriter, r *http.Request, flush func(apiID, stage string)) error {
	if _, err := s.restAPI(r.Context(), r.PathValue("api")); err != nil {
		return err
	}
	st, err := s.gw.APIs.GetStage(r.Context(), r.PathValue("api"), r.PathValue("stage"))
	if err != nil {
		return err
	}
	if flush != nil {
		flush(st.APIID, st.Name)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
