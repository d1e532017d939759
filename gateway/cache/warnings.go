package cache

import (
	"fmt"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
)

// UnkeyedPathWarnings says, for each method of a (the API st serves) that st
// caches while a variable of its resource path ({id}, {proxy+}) is not among
// its integration's cacheKeyParameters, that every path of the resource shares
// the method's entries: /pets/1 and /pets/2 answer alike. Nothing is said when
// st's cache is off. Surfaces pass them on when a change turns caching on.
func UnkeyedPathWarnings(a *apis.API, st *apis.Stage) []string {
	if a == nil || st == nil || !st.CacheClusterEnabled || a.Protocol != apis.ProtocolREST {
		return nil
	}
	var out []string
	for i := range a.Routes {
		rt := &a.Routes[i]
		if rt.Integration == nil {
			continue
		}
		if _, _, cached := cachedMethod(st, rt.Path, rt.Method); !cached {
			continue
		}
		segs, err := apis.ParseTemplate(rt.Path)
		if err != nil {
			continue
		}
		var missing []string
		for _, sg := range segs {
			if sg.Kind != apis.SegLiteral && !slices.Contains(rt.Integration.CacheKeyParameters, "method.request.path."+sg.Value) {
				missing = append(missing, sg.Value)
			}
		}
		if len(missing) == 0 {
			continue
		}
		keys := make([]string, len(missing))
		for j, name := range missing {
			keys[j] = "method.request.path." + name
		}
		out = append(out, fmt.Sprintf("%s %s is cached, but its cache key leaves out path parameter(s) %s: every path of the resource shares one entry; add %s to the integration's cacheKeyParameters, or turn caching off for the method",
			rt.Method, rt.Path, strings.Join(missing, ", "), strings.Join(keys, ", ")))
	}
	slices.Sort(out)
	return out
}
