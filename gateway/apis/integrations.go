package apis

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Integrations as resources of their own (apigatewayv2): an HTTP or WebSocket
// API keeps them by id in Definition.Integrations; a route names one by
// IntegrationID, and Normalize copies it into the route, so that the gateway,
// deployments and exports see resolved routes whatever the API was built with.

// NewIntegrationID returns a fresh integration id: 7 lowercase alphanumerics.
func NewIntegrationID() string { return randomID(7) }

// resolveIntegrations copies each targeted integration into its routes. A route
// that names an unknown integration keeps its IntegrationID, and Validate
// refuses it.
func (d *Definition) resolveIntegrations() {
	if len(d.Integrations) == 0 {
		d.Integrations = nil
	}
	for id, in := range d.Integrations {
		in.Type = strings.ToUpper(in.Type)
		in.HTTPMethod = strings.ToUpper(in.HTTPMethod)
		in.PassthroughBehavior = strings.ToUpper(in.PassthroughBehavior)
		d.Integrations[id] = in
	}
	for i := range d.Routes {
		r := &d.Routes[i]
		if r.IntegrationID == "" {
			continue
		}
		if in, ok := d.Integrations[r.IntegrationID]; ok {
			cp := cloneIntegration(in)
			r.Integration = &cp
		}
	}
}

// validateIntegrations checks the integration resources and the routes' targets.
func (a *API) validateIntegrations() []error {
	var errs []error
	d := &a.Definition
	if len(d.Integrations) > 0 && a.Protocol == ProtocolREST {
		errs = append(errs, invalid("integration resources are for HTTP and WEBSOCKET APIs; a REST API's integrations belong to its methods"))
	}
	ids := make([]string, 0, len(d.Integrations))
	for id := range d.Integrations {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		in := d.Integrations[id]
		if err := in.Validate(a.Protocol); err != nil {
			errs = append(errs, fmt.Errorf("integration %s: %w", id, err))
		}
	}
	for i := range d.Routes {
		r := &d.Routes[i]
		if r.IntegrationID == "" {
			continue
		}
		if _, ok := d.Integrations[r.IntegrationID]; !ok {
			errs = append(errs, invalid("route %q targets integrations/%s, which does not exist", r.RouteKey, truncate(r.IntegrationID, 50)))
		}
	}
	return errs
}

// AdoptIntegrations turns the inline integrations of an HTTP or WebSocket API's
// routes (from an OpenAPI import or Portico's own routes) into integration
// resources: equal integrations share one, and its id is derived from its
// content, so that adopting the same definition twice gives the same ids.
func (a *API) AdoptIntegrations() {
	if a.Protocol == ProtocolREST {
		return
	}
	for i := range a.Routes {
		r := &a.Routes[i]
		if r.Integration == nil || r.IntegrationID != "" {
			continue
		}
		raw, _ := json.Marshal(r.Integration)
		sum := sha256.Sum256(raw)
		id := make([]byte, 7)
		for j := range id {
			id[j] = idAlphabet[int(sum[j])%len(idAlphabet)]
		}
		if a.Integrations == nil {
			a.Integrations = map[string]Integration{}
		}
		a.Integrations[string(id)] = cloneIntegration(*r.Integration)
		r.IntegrationID = string(id)
	}
}

// IntegrationUsers returns the keys of the routes that target integration id.
func (a *API) IntegrationUsers(id string) []string {
	var keys []string
	for i := range a.Routes {
		if a.Routes[i].IntegrationID == id {
			keys = append(keys, a.Routes[i].RouteKey)
		}
	}
	return keys
}

func cloneIntegration(in Integration) Integration {
	var cp Integration
	if err := deepCopy(&in, &cp); err != nil {
		return in
	}
	return cp
}
