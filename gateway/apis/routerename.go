package apis

import (
	"encoding/json"
	"maps"

	"github.com/portico-dev/portico/store"
)

// routeKeys maps the id of each HTTP or WebSocket route of a to its route key;
// nil for REST APIs, whose stage settings are keyed by resource path.
func routeKeys(a *API) map[string]string {
	if a.Protocol == ProtocolREST {
		return nil
	}
	out := make(map[string]string, len(a.Routes))
	for i := range a.Routes {
		out[a.Routes[i].ID] = a.Routes[i].RouteKey
	}
	return out
}

// renameRouteSettings moves, inside tx, the stage route settings of each route
// of a whose key changed (the route kept its id, see assignRouteIDs) from the
// old key to the new one, in every stage of a, so that the settings follow the
// route as they do in apigatewayv2; and it removes the settings of each route
// that is gone (deleted, its key no route's now), so that a route created
// later with that key does not inherit them. before is routeKeys of a before
// the change.
func (s *Service) renameRouteSettings(tx *store.Tx, a *API, before map[string]string) error {
	renamed := map[string]string{}
	now := map[string]bool{}
	for i := range a.Routes {
		r := &a.Routes[i]
		now[r.RouteKey] = true
		if old, ok := before[r.ID]; ok && old != r.RouteKey {
			renamed[old] = r.RouteKey
		}
	}
	var gone []string
	ids := map[string]bool{}
	for i := range a.Routes {
		ids[a.Routes[i].ID] = true
	}
	for id, key := range before {
		if !ids[id] && !now[key] {
			gone = append(gone, key)
		}
	}
	if len(renamed) == 0 && len(gone) == 0 {
		return nil
	}
	var stages []Stage
	err := tx.ForEach(bucketStages, a.ID+"/", func(_ string, raw []byte) error {
		var st Stage
		if err := json.Unmarshal(raw, &st); err != nil {
			return err
		}
		stages = append(stages, st)
		return nil
	})
	if err != nil {
		return err
	}
	for i := range stages {
		st := &stages[i]
		moved := maps.Clone(st.MethodSettings)
		changed := false
		for old := range renamed {
			if _, ok := moved[old]; ok {
				delete(moved, old)
				changed = true
			}
		}
		for old, key := range renamed {
			if ms, ok := st.MethodSettings[old]; ok {
				moved[key] = ms
			}
		}
		for _, key := range gone {
			if _, ok := moved[key]; ok {
				delete(moved, key)
				changed = true
			}
		}
		if !changed {
			continue
		}
		st.MethodSettings = moved
		if err := tx.Put(bucketStages, a.ID+"/"+st.Name, st); err != nil {
			return err
		}
	}
	return nil
}
