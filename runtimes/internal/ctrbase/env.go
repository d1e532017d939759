package ctrbase

import (
	"sort"
	"strings"

	"github.com/portico-dev/portico/runtimes"
)

// DefaultEnv returns the "KEY=value" entries of spec.DefaultEnv that apply to
// a container of an image whose own ENV is imageEnv: those that neither
// spec.Env nor the image sets, in a stable order.
func DefaultEnv(spec runtimes.Spec, imageEnv []string) []string {
	if len(spec.DefaultEnv) == 0 {
		return nil
	}
	var out []string
	for k, v := range spec.DefaultEnv {
		if _, ok := spec.Env[k]; ok || envHas(imageEnv, k) {
			continue
		}
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// WithDefaultEnv returns env, a container's environment, with DefaultEnv's
// entries for spec and imageEnv added.
func WithDefaultEnv(env []string, spec runtimes.Spec, imageEnv []string) []string {
	return append(env, DefaultEnv(spec, imageEnv)...)
}

// envHas reports whether env ("KEY=value" entries) sets key.
func envHas(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}
