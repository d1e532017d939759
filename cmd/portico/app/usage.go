package app

import (
	"context"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// versionUsage tells the invoker which versions are in use: a version is in use
// when an alias names it (as its version or its weighted additional version), or
// when a route integration of an API stage's current deployment names it, after
// the stage's variables are put in (fn:3 names version 3; fn and fn:$LATEST name
// $LATEST; fn:alias is covered by the alias). Anything it cannot read counts as in
// use, so an error never shortens a warm sandbox's life. Safe for concurrent use.
type versionUsage struct {
	aliases *aliases.Service
	apis    *apis.Service
}

var _ invoker.Usage = versionUsage{}

// InUse implements invoker.Usage.
func (u versionUsage) InUse(ctx context.Context, fn, version string) bool {
	if version != functions.Latest {
		named, err := u.aliases.List(ctx, fn, version)
		if err != nil || len(named) > 0 {
			return true
		}
	}
	list, err := u.apis.List(ctx)
	if err != nil {
		return true
	}
	for _, a := range list {
		stages, err := u.apis.ListStages(ctx, a.ID)
		if err != nil {
			return true
		}
		for _, st := range stages {
			_, dep, err := u.apis.Resolve(ctx, a.ID, st.Name)
			if err != nil {
				return true
			}
			for _, r := range dep.API.Routes {
				if r.Integration != nil && names(r.Integration.URI, st.Variables, fn, version) {
					return true
				}
			}
		}
	}
	return false
}

// names reports whether an integration URI, with the stage's variables put in,
// names version of fn.
func names(uri string, vars map[string]string, fn, version string) bool {
	uri, err := apis.SubstituteStageVariables(uri, vars)
	if err != nil {
		return false
	}
	ref, err := apis.FunctionRef(uri)
	if err != nil || ref.Name != fn {
		return false
	}
	q := ref.Qualifier
	if q == "" {
		q = functions.Latest
	}
	return q == version
}
