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

// HandlerEnv returns the "_HANDLER=..." entry an Image sandbox of spec gets,
// as on Lambda, where _HANDLER is the handler configured on the function, an
// image's being its CMD: the first word of spec.Command, else of imageCmd (the
// image's own CMD). It returns nothing for a Zip package (the invoker sets
// _HANDLER in spec.Env), when spec.Env sets _HANDLER, or when there is no CMD.
func HandlerEnv(spec runtimes.Spec, imageCmd []string) []string {
	if spec.PackageType != "Image" {
		return nil
	}
	if _, ok := spec.Env["_HANDLER"]; ok {
		return nil
	}
	cmd := spec.Command
	if len(cmd) == 0 {
		cmd = imageCmd
	}
	if len(cmd) == 0 || cmd[0] == "" {
		return nil
	}
	return []string{"_HANDLER=" + cmd[0]}
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
