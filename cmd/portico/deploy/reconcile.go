package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// observeServed compares, for each of d's functions that the stack recorded
// and that exists, what the server runs with what the record says it made: a
// deploy that was interrupted (killed, its server restarted) may have left
// $LATEST updated and not put back, or an alias its traffic shift moved on
// after it ended, while the record says what the run before made. What
// differs goes in obs.Drift and obs.Serving, for the plan to correct.
func observeServed(ctx context.Context, t Target, d *Desired, rec *Record, obs *Observed) error {
	if rec == nil {
		return nil
	}
	for _, id := range slices.Sorted(maps.Keys(d.Functions)) {
		f := d.Functions[id]
		old := rec.Resources[id]
		if old == nil || old.Kind != KindFunction || old.PhysicalID != f.Name || !obs.Functions[f.Name] {
			continue
		}
		if err := observeLimits(ctx, t, f, old, obs); err != nil {
			return fmt.Errorf("reading function %s (%s) to compare it with the template: %w", f.Name, id, err)
		}
		alias := ""
		if f.Alias != "" && old.Alias == f.Alias && old.Version != "" {
			alias = f.Alias
		}
		st, err := t.FunctionState(ctx, f.Name, alias)
		if err != nil {
			return fmt.Errorf("reading function %s (%s) to compare it with the stack's record: %w", f.Name, id, err)
		}
		if st == nil {
			continue
		}
		if was, now := packageType(st.ImageURI), packageType(f.ImageURI); was != now {
			// Not changed in place (Lambda refuses it): the plan says so.
			obs.Repackaged[f.Name] = was
			continue
		}
		if alias != "" && st.AliasVersion != "" && (st.AliasVersion != old.Version || len(st.AliasWeights) > 0) {
			obs.Serving[f.Name] = AliasRouting{Version: st.AliasVersion, Weights: st.AliasWeights}
			if old.Fingerprint != f.Fingerprint() && len(st.AliasWeights) == 0 && st.AliasVersion != functionsLatest {
				// The alias serves a version the record does not name:
				// is it the template's (a run of this template that
				// ended before its record published and shifted it)?
				vst, err := t.VersionState(ctx, f.Name, st.AliasVersion)
				if err != nil {
					return fmt.Errorf("reading version %s of function %s (%s): %w", st.AliasVersion, f.Name, id, err)
				}
				if vst != nil {
					want := ""
					if f.ImageURI == "" {
						// Zipped only here: a version the record does not
						// name is rare.
						code, err := f.Package()
						if err != nil {
							return fmt.Errorf("%s: packaging %s: %w", id, f.CodePath, err)
						}
						want = client.CodeSha256(code)
					}
					drift := latestDrift(f, vst, want)
					// A version's Description is the one it was
					// published with, not the function's.
					drift = slices.DeleteFunc(drift, func(k string) bool { return k == "Description" })
					if len(drift) == 0 {
						obs.Adopt[f.Name] = st.AliasVersion
					}
				}
			}
		}
		if old.Fingerprint == f.Fingerprint() || obs.Adopt[f.Name] != "" {
			// What the template asks for is what the record says was
			// made (or what the alias serves): $LATEST should be it.
			// The code is compared with the package the record says was
			// sent (a record from before it kept none: configuration only).
			want := old.CodeSHA256
			if obs.Adopt[f.Name] != "" {
				want = ""
			}
			drift := latestDrift(f, st, want)
			if len(drift) > 0 {
				obs.Drift[f.Name] = drift
			}
		}
	}
	return nil
}

const functionsLatest = "$LATEST"

// packageType is the PackageType of a function whose image is imageURI
// ("": none).
func packageType(imageURI string) string {
	if imageURI != "" {
		return "Image"
	}
	return "Zip"
}

// latestDrift names what of the server's $LATEST or version (st) differs from
// what PutFunction would make of f: configuration fields, and "code" (when
// wantSHA, the CodeSha256 of f's package, is known) or "ImageUri".
func latestDrift(f *Function, st *FunctionState, wantSHA string) []string {
	want := functionConfig(f)
	var drift []string
	for _, k := range append(slices.Clone(savedConfigKeys), "ImageConfig") {
		w, ok := want[k]
		if !ok {
			continue // the template leaves it to the server
		}
		if !sameJSON(w, st.Config[k]) {
			drift = append(drift, k)
		}
	}
	switch {
	case f.ImageURI != "":
		// A rollback puts an image back by its digest (REPOSITORY@sha256:...):
		// the template's repository still; whether its tag names another image
		// since is the rebuilt-image check's to say.
		if st.ImageURI != f.ImageURI && !digestOf(st.ImageURI, f.ImageURI) {
			drift = append(drift, "ImageUri")
		}
	case wantSHA != "" && st.CodeSHA256 != "" && st.CodeSHA256 != wantSHA:
		drift = append(drift, "code")
	}
	return drift
}

// sameJSON reports whether a and b are the same JSON document, an empty
// string, object or array being the same as none.
func sameJSON(a, b any) bool {
	return reflect.DeepEqual(canonicalJSON(a), canonicalJSON(b))
}

func canonicalJSON(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(raw, &out) != nil {
		return v
	}
	return dropEmpty(out)
}

// dropEmpty returns v with the empty strings, objects and arrays it holds
// (and v itself, if empty) made nil, and object members that are nil removed.
func dropEmpty(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
	case map[string]any:
		for k, e := range x {
			if e = dropEmpty(e); e == nil {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		if len(x) == 0 {
			return nil
		}
	case []any:
		for i, e := range x {
			x[i] = dropEmpty(e)
		}
		if len(x) == 0 {
			return nil
		}
	}
	return v
}

// correctionWords is the plan step of a $LATEST whose fields drift from the
// template's.
func correctionWords(name string, drift []string) string {
	return fmt.Sprintf("correct $LATEST of %s: its %s %s from the template and the stack's record (an interrupted deploy or a change by hand left %s so)",
		name, strings.Join(drift, ", "), differ(drift), them(drift))
}
