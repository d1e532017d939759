package apis

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
)

// Cache and method-setting limits, as API Gateway has them.
const (
	// DefaultCacheTTL is a method's cache TTL in seconds when none is set.
	DefaultCacheTTL = 300
	// MaxCacheTTL bounds cacheTtlInSeconds (0 turns caching off).
	MaxCacheTTL = 3600
	// DefaultCacheClusterSize is the size a cache gets when enabled without one.
	DefaultCacheClusterSize = "0.5"
	// MethodSettingsAll is the method-settings key of every method.
	MethodSettingsAll = "*/*"
)

// Unauthorized cache-control strategies: what a client that sends
// Cache-Control: max-age=0 without authorization gets.
const (
	CacheControlFail            = "FAIL_WITH_403"
	CacheControlWithHeader      = "SUCCEED_WITH_RESPONSE_HEADER"
	CacheControlWithoutHeader   = "SUCCEED_WITHOUT_RESPONSE_HEADER"
	defaultCacheControlStrategy = CacheControlWithHeader
)

// CacheClusterSizes are AWS's cache sizes in GB, in order.
var CacheClusterSizes = []string{"0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"}

// ValidCacheClusterSize reports whether s is one of CacheClusterSizes.
func ValidCacheClusterSize(s string) bool { return slices.Contains(CacheClusterSizes, s) }

// ValidateCacheClusterSize checks s against CacheClusterSizes.
func ValidateCacheClusterSize(s string) error {
	if !ValidCacheClusterSize(s) {
		return invalid("cache cluster size %q: use one of %s (GB)", truncate(s, 20), strings.Join(CacheClusterSizes, ", "))
	}
	return nil
}

// DefaultMethodSetting is what a new method-settings entry starts from when the
// stage has no "*/*" entry to copy: API Gateway's defaults, with no throttle
// set (no stage limit; the account's applies).
func DefaultMethodSetting() MethodSetting {
	return MethodSetting{
		LoggingLevel:                           "OFF",
		CacheTTLInSeconds:                      DefaultCacheTTL,
		RequireAuthorizationForCacheControl:    true,
		UnauthorizedCacheControlHeaderStrategy: defaultCacheControlStrategy,
	}
}

// EffectiveMethodSetting returns the settings that apply to one method of a stage:
// its own entry ("~1pets~1{id}/GET"), else the "*/*" entry; ok is false when neither
// exists (the defaults then apply).
func (st *Stage) EffectiveMethodSetting(resourcePath, method string) (ms MethodSetting, own, ok bool) {
	if m, _, found := st.OwnMethodSetting(resourcePath, method); found {
		return m, true, true
	}
	if m, found := st.MethodSettings[MethodSettingsAll]; found {
		return m, false, true
	}
	return DefaultMethodSetting(), false, false
}

// OwnMethodSetting returns the method-settings entry of one REST method and
// its key: API Gateway's "~1pets~1{id}/GET", or another spelling of the same
// method (the form without ~1 that Terraform's method_path takes, "pets/{id}/GET";
// the "/pets/{id}/GET" older Portico versions stored).
func (st *Stage) OwnMethodSetting(resourcePath, method string) (MethodSetting, string, bool) {
	key := MethodSettingsKey(resourcePath, method)
	if m, ok := st.MethodSettings[key]; ok {
		return m, key, true
	}
	if n := len(st.MethodSettings); n == 0 {
		return MethodSetting{}, "", false
	} else if _, all := st.MethodSettings[MethodSettingsAll]; all && n == 1 {
		return MethodSetting{}, "", false
	}
	for k, m := range st.MethodSettings {
		if k == MethodSettingsAll || strings.HasPrefix(k, "~1") {
			continue // API Gateway's own spelling: looked up above
		}
		if p, meth, err := ResolveMethodSettingsKey(k); err == nil && p == resourcePath && meth == method {
			return m, k, true
		}
	}
	return MethodSetting{}, "", false
}

// EscapeResourcePath writes a resource path as method-settings keys and patch
// paths name it: "~" as "~0" and "/" as "~1" ("/pets/{id}" is "~1pets~1{id}",
// the root "/" is "~1").
func EscapeResourcePath(p string) string {
	return strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
}

func unescapeResourcePath(p string) string {
	return strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
}

// MethodSettingsKey is API Gateway's method-settings key of one method: the
// resource path escaped (EscapeResourcePath), "/" and the method:
// "~1pets~1{id}/GET", "~1/GET" for the root.
func MethodSettingsKey(resourcePath, method string) string {
	return EscapeResourcePath(resourcePath) + "/" + method
}

// ResolveMethodSettingsKey returns the resource path and method a method
// settings key names ("*" and "*" for "*/*"). It reads API Gateway's form
// ("~1pets~1{id}/GET"), the form without ~1 ("pets/{id}/GET", which
// Terraform's aws_api_gateway_method_settings sends when its method_path is
// the resource path without its leading slash) and the form older Portico
// versions stored ("/pets/{id}/GET"). Only "*/*" is a wildcard, as in API
// Gateway: "{resourcePath}/*" and "*/{METHOD}" are refused.
func ResolveMethodSettingsKey(key string) (resourcePath, method string, err error) {
	if key == MethodSettingsAll {
		return "*", "*", nil
	}
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return "", "", invalid("method settings key %q: use */* or {resourcePath}/{METHOD} with the path's slashes as ~1, such as ~1pets~1{id}/GET", truncate(key, 200))
	}
	raw, method := key[:i], key[i+1:]
	switch {
	case raw == "*" || method == "*":
		return "", "", invalid("method settings key %q: the only wildcard is */* (every method of the stage); name one method, such as ~1pets/GET", truncate(key, 200))
	case !methods[method]:
		return "", "", invalid("method settings key %q: %q is not an HTTP method (use GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS or ANY)", truncate(key, 200), truncate(method, 20))
	case raw == "":
		return "", "", invalid("method settings key %q: name the resource path, ~1 for the root resource (~1/GET)", truncate(key, 200))
	}
	p := unescapeResourcePath(raw)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if p != "/" && (strings.HasSuffix(p, "/") || strings.Contains(p, "//")) {
		return "", "", invalid("method settings key %q: resource path %q has an empty segment", truncate(key, 200), truncate(p, 200))
	}
	return p, method, nil
}

// CheckNewMethodSettingsKey checks a key a client writes: a key
// ResolveMethodSettingsKey reads whose resource path could also be created
// (ParseTemplate, CheckNewPath): a "." or ".." segment, a character
// create-resource refuses or a malformed {parameter} name a method that can
// never be deployed, so an entry for it could never apply.
func CheckNewMethodSettingsKey(key string) error {
	p, _, err := ResolveMethodSettingsKey(key)
	if err != nil || p == "*" {
		return err
	}
	if _, err := ParseTemplate(p); err != nil {
		return fmt.Errorf("method settings key %q names a resource path no method can have: %w", truncate(key, 200), err)
	}
	if err := CheckNewPath(p); err != nil {
		return fmt.Errorf("method settings key %q names a resource path no method can have: %w", truncate(key, 200), err)
	}
	return nil
}

// MethodSettingPatch changes one method-settings entry. Key is "*/*" or
// "{resourcePath}/{METHOD}" (see ResolveMethodSettingsKey); a missing entry is
// created from the current "*/*" values (or DefaultMethodSetting) first.
// Remove deletes the entry; the other fields, when not nil, replace a value.
type MethodSettingPatch struct {
	Key    string
	Remove bool

	MetricsEnabled                         *bool
	LoggingLevel                           *string
	DataTraceEnabled                       *bool
	ThrottlingBurstLimit                   *int
	ThrottlingRateLimit                    *float64
	CachingEnabled                         *bool
	CacheTTLInSeconds                      *int
	CacheDataEncrypted                     *bool
	RequireAuthorizationForCacheControl    *bool
	UnauthorizedCacheControlHeaderStrategy *string
}

// ValidMethodSettingsKey checks a key (see ResolveMethodSettingsKey).
func ValidMethodSettingsKey(key string) error {
	_, _, err := ResolveMethodSettingsKey(key)
	return err
}

// UpgradeMethodSettingsKeys renames, in settings (a REST stage's, which the
// caller owns), the keys older Portico versions stored ("/pets/{id}/GET") to
// API Gateway's ("~1pets~1{id}/GET").
func UpgradeMethodSettingsKeys(settings map[string]MethodSetting) {
	for k, ms := range settings {
		if !strings.HasPrefix(k, "/") {
			continue
		}
		if p, m, err := ResolveMethodSettingsKey(k); err == nil {
			delete(settings, k)
			if _, taken := settings[MethodSettingsKey(p, m)]; !taken {
				settings[MethodSettingsKey(p, m)] = ms
			}
		}
	}
}

// settingsKeyOf returns the key under which settings hold (or will hold) the
// entry of key's method: key itself when present, else another spelling of
// the same method already there; a new entry is stored under key as given
// (as API Gateway keeps it, so that a client reads back the key it wrote),
// an old "/pets/GET" spelling under API Gateway's.
func settingsKeyOf(settings map[string]MethodSetting, key string) (string, error) {
	p, m, err := ResolveMethodSettingsKey(key)
	if err != nil {
		return "", err
	}
	if _, ok := settings[key]; ok || key == MethodSettingsAll {
		return key, nil
	}
	st := Stage{MethodSettings: settings}
	if _, k, ok := st.OwnMethodSetting(p, m); ok {
		return "", invalid("method settings of %s %s are under the key %q: name it so in the patch path (/%s/...)", m, p, k, truncate(k, 200))
	}
	if strings.HasPrefix(key, "/") {
		return MethodSettingsKey(p, m), nil
	}
	return key, nil
}

// applyMethodSetting applies p to settings (a map the caller owns) of a stage
// whose cache is on or not (cacheOn).
func applyMethodSetting(settings map[string]MethodSetting, p MethodSettingPatch, cacheOn bool) error {
	UpgradeMethodSettingsKeys(settings)
	if p.Remove {
		if _, _, err := ResolveMethodSettingsKey(p.Key); err != nil {
			return err
		}
		if _, ok := settings[p.Key]; !ok && p.Key != MethodSettingsAll {
			// Another spelling of the same method (the old "/pets/GET").
			pth, m, _ := ResolveMethodSettingsKey(p.Key)
			st := Stage{MethodSettings: settings}
			if _, k, found := st.OwnMethodSetting(pth, m); found {
				p.Key = k
			}
		}
		if _, ok := settings[p.Key]; !ok {
			// API Gateway's words, which Terraform reads as "already gone".
			return invalid("Cannot remove method setting %s because there is no method setting for this method", truncate(p.Key, 200))
		}
		delete(settings, p.Key)
		return nil
	}
	key, err := settingsKeyOf(settings, p.Key)
	if err != nil {
		return err
	}
	ms, ok := settings[key]
	if !ok {
		// A new entry starts from the values in effect for its methods:
		// "*/*"'s, else the defaults, under which a stage with a cache caches
		// its GET methods. Caching in "*/*" covers GET methods only, so an
		// entry for another method starts with it off: a patch that sets
		// only throttling (or logging, ...) never turns caching on or off.
		ms = DefaultMethodSetting()
		ms.CachingEnabled = cacheOn
		if all, found := settings[MethodSettingsAll]; found {
			ms = all
		}
		if m := key[strings.LastIndexByte(key, '/')+1:]; m != http.MethodGet && m != "*" {
			ms.CachingEnabled = false
		}
	}
	if p.MetricsEnabled != nil {
		ms.MetricsEnabled = *p.MetricsEnabled
	}
	if p.LoggingLevel != nil {
		switch *p.LoggingLevel {
		case "OFF", "ERROR", "INFO":
			ms.LoggingLevel = *p.LoggingLevel
		default:
			return invalid("logging level %q for %s: use OFF, ERROR or INFO", truncate(*p.LoggingLevel, 20), p.Key)
		}
	}
	if p.DataTraceEnabled != nil {
		ms.DataTraceEnabled = *p.DataTraceEnabled
	}
	// -1 is API Gateway's "not set": the field is taken off. 0 is kept: it
	// is a limit (0/0 throttles every request).
	if p.ThrottlingBurstLimit != nil {
		switch b := *p.ThrottlingBurstLimit; {
		case b == -1:
			ms.ThrottlingBurstLimit = nil
		case b < 0 || b > math.MaxInt32:
			return invalid("throttling burst limit %d for %s: use 0 to %d (-1 for no limit)", b, p.Key, math.MaxInt32)
		default:
			ms.ThrottlingBurstLimit = &b
		}
	}
	if p.ThrottlingRateLimit != nil {
		switch r := *p.ThrottlingRateLimit; {
		case r == -1:
			ms.ThrottlingRateLimit = nil
		case math.IsNaN(r) || math.IsInf(r, 0) || r < 0:
			return invalid("throttling rate limit %v for %s: use 0 or more (-1 for no limit)", r, p.Key)
		default:
			ms.ThrottlingRateLimit = &r
		}
	}
	if p.CachingEnabled != nil {
		ms.CachingEnabled = *p.CachingEnabled
	}
	if p.CacheTTLInSeconds != nil {
		if t := *p.CacheTTLInSeconds; t < 0 || t > MaxCacheTTL {
			return invalid("cache TTL %d s for %s is outside 0..%d", t, p.Key, MaxCacheTTL)
		}
		ms.CacheTTLInSeconds = *p.CacheTTLInSeconds
	}
	if p.CacheDataEncrypted != nil {
		ms.CacheDataEncrypted = *p.CacheDataEncrypted
	}
	if p.RequireAuthorizationForCacheControl != nil {
		ms.RequireAuthorizationForCacheControl = *p.RequireAuthorizationForCacheControl
	}
	if p.UnauthorizedCacheControlHeaderStrategy != nil {
		switch v := *p.UnauthorizedCacheControlHeaderStrategy; v {
		case CacheControlFail, CacheControlWithHeader, CacheControlWithoutHeader:
			ms.UnauthorizedCacheControlHeaderStrategy = v
		default:
			return invalid("unauthorized cache-control strategy %q for %s: use %s, %s or %s", truncate(v, 40), p.Key,
				CacheControlFail, CacheControlWithHeader, CacheControlWithoutHeader)
		}
	}
	settings[key] = ms
	return nil
}

// CanaryPatch changes a stage's canary. Remove deletes it; otherwise a stage
// without a canary gets one on its current deployment, and the fields that are
// set replace the canary's values.
type CanaryPatch struct {
	Remove         bool
	PercentTraffic *float64
	DeploymentID   *string
	UseStageCache  *bool
	// SetOverrides adds or changes stage variable overrides; UnsetOverrides
	// removes them.
	SetOverrides   map[string]string
	UnsetOverrides []string
}

// ValidPercentTraffic checks a canary's share: 0.0 to 100.0.
func ValidPercentTraffic(p float64) error {
	if math.IsNaN(p) || p < 0 || p > 100 {
		return invalid("canary percentTraffic %v is outside 0.0..100.0", p)
	}
	return nil
}

// applyCanary applies p to st (whose API has protocol). exists reports whether a
// deployment of the API exists.
func applyCanary(st *Stage, protocol string, p *CanaryPatch, exists func(id string) error) error {
	if p.Remove {
		st.CanarySettings = nil
		return nil
	}
	if protocol != ProtocolREST {
		return invalid("canary releases are for REST APIs; api %s is %s", st.APIID, protocol)
	}
	if st.CanarySettings == nil && p.PercentTraffic == nil && p.DeploymentID == nil && p.UseStageCache == nil &&
		len(p.SetOverrides) == 0 && len(p.UnsetOverrides) > 0 {
		// Removing an override of a canary that is not there removes
		// nothing, and must not create the canary either.
		return invalid("Cannot remove /canarySettings/stageVariableOverrides/%s because stage %s has no canary (create one with replace /canarySettings/percentTraffic)",
			truncate(p.UnsetOverrides[0], 80), st.Name)
	}
	c := CanarySettings{DeploymentID: st.DeploymentID}
	if st.CanarySettings != nil {
		c = *st.CanarySettings
		c.StageVariableOverrides = maps.Clone(c.StageVariableOverrides)
	}
	if p.PercentTraffic != nil {
		if err := ValidPercentTraffic(*p.PercentTraffic); err != nil {
			return err
		}
		c.PercentTraffic = *p.PercentTraffic
	}
	if p.DeploymentID != nil {
		if err := exists(*p.DeploymentID); err != nil {
			return err
		}
		c.DeploymentID = *p.DeploymentID
	}
	if p.UseStageCache != nil {
		c.UseStageCache = *p.UseStageCache
	}
	if len(p.SetOverrides) > 0 || len(p.UnsetOverrides) > 0 {
		if c.StageVariableOverrides == nil {
			c.StageVariableOverrides = map[string]string{}
		}
		for _, k := range p.UnsetOverrides {
			delete(c.StageVariableOverrides, k)
		}
		maps.Copy(c.StageVariableOverrides, p.SetOverrides)
		if err := errors.Join(ValidateVariables(c.StageVariableOverrides), ValidateVariableValues(p.SetOverrides)); err != nil {
			return fmt.Errorf("canary stage variable overrides: %w", err)
		}
		c.StageVariableOverrides = nilIfEmpty(c.StageVariableOverrides)
	}
	st.CanarySettings = &c
	return nil
}

// CanaryVariables returns the variables canary requests see: the stage's with
// the canary's overrides applied.
func (st *Stage) CanaryVariables() map[string]string {
	if st.CanarySettings == nil || len(st.CanarySettings.StageVariableOverrides) == 0 {
		return st.Variables
	}
	vars := make(map[string]string, len(st.Variables)+len(st.CanarySettings.StageVariableOverrides))
	maps.Copy(vars, st.Variables)
	maps.Copy(vars, st.CanarySettings.StageVariableOverrides)
	return vars
}
