package apis

import (
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
// its own entry ("/pets/{id}/GET"), else the "*/*" entry; ok is false when neither
// exists (the defaults then apply).
func (st *Stage) EffectiveMethodSetting(resourcePath, method string) (ms MethodSetting, own, ok bool) {
	if m, found := st.MethodSettings[MethodSettingsKey(resourcePath, method)]; found {
		return m, true, true
	}
	if m, found := st.MethodSettings[MethodSettingsAll]; found {
		return m, false, true
	}
	return DefaultMethodSetting(), false, false
}

// MethodSettingsKey is the method-settings key of one method: "/pets/{id}/GET".
func MethodSettingsKey(resourcePath, method string) string { return resourcePath + "/" + method }

// MethodSettingPatch changes one method-settings entry. Key is "*/*" or
// "{resourcePath}/{METHOD}"; a missing entry is created from the current "*/*"
// values (or DefaultMethodSetting) first. Remove deletes the entry; the other
// fields, when not nil, replace a value.
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

// ValidMethodSettingsKey checks a key: "*/*", or a resource path starting with
// "/" followed by "/" and an HTTP method (or "*").
func ValidMethodSettingsKey(key string) error {
	if key == MethodSettingsAll {
		return nil
	}
	i := strings.LastIndexByte(key, '/')
	if i <= 0 {
		return invalid("method settings key %q: use */* or {resourcePath}/{METHOD} such as /pets/GET", truncate(key, 200))
	}
	path, method := key[:i], key[i+1:]
	if !strings.HasPrefix(path, "/") && path != "*" {
		return invalid("method settings key %q: the resource path must start with /", truncate(key, 200))
	}
	if method != "*" && !methods[method] {
		return invalid("method settings key %q: %q is not an HTTP method", truncate(key, 200), truncate(method, 20))
	}
	return nil
}

// applyMethodSetting applies p to settings (a map the caller owns) of a stage
// whose cache is on or not (cacheOn).
func applyMethodSetting(settings map[string]MethodSetting, p MethodSettingPatch, cacheOn bool) error {
	if err := ValidMethodSettingsKey(p.Key); err != nil {
		return err
	}
	if p.Remove {
		if _, ok := settings[p.Key]; !ok {
			return invalid("no method settings for %q to remove", truncate(p.Key, 200))
		}
		delete(settings, p.Key)
		return nil
	}
	ms, ok := settings[p.Key]
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
		if m := p.Key[strings.LastIndexByte(p.Key, '/')+1:]; m != http.MethodGet && m != "*" {
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
		case b < 0:
			return invalid("throttling burst limit %d for %s: use 0 or more (-1 for no limit)", b, p.Key)
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
	settings[p.Key] = ms
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
		if err := ValidateVariables(c.StageVariableOverrides); err != nil {
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
