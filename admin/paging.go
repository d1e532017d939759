package admin

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
)

// Every list the admin API pages (Lambda's Marker, apigatewayv2's nextToken,
// API Gateway's position) is sorted by a key, and its marker names a place in
// that order rather than an index: the key of the last item of the page
// before. The next page starts at the first item whose key sorts after it, so
// items deleted or created between two pages (the marked item included) make
// no other item skipped or repeated, and a marker stays valid however the list
// changed. The usual "list a page, delete what it holds, ask for the next"
// cleanup therefore sees every item once.
//
// A marker is bound to the list it was cut from: the scope, which names the
// list and whatever it is the list of (the function whose versions it pages),
// is in the marker, and a marker passed to another list (ListFunctions' to
// ListVersionsByFunction, one function's versions to another's) is refused as
// one that list never returned.
//
// A marker is opaque to clients: base64url (unpadded) of "s:" and a JSON array
// of strings, the scope then the key; the "s:" leaves room for other forms
// later (the unscoped "k:" form of earlier releases is no longer taken).

// A sortKey places an item in its list: lists are sorted by their items' keys,
// compared part by part. Keys must be unique within a list.
type sortKey []string

// markerPrefix versions the form of a marker.
const markerPrefix = "s:"

// encodeMarker is the marker naming the place after the item with key k in
// the list scope names.
func encodeMarker(scope string, k sortKey) string {
	raw, _ := json.Marshal(append([]string{scope}, k...)) // a []string always marshals
	return base64.RawURLEncoding.EncodeToString(append([]byte(markerPrefix), raw...))
}

// decodeMarker returns the key a marker names, or false when m is not a marker
// Portico issued for the list scope names.
func decodeMarker(scope, m string) (sortKey, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || !strings.HasPrefix(string(raw), markerPrefix) {
		return nil, false
	}
	var k []string
	if err := json.Unmarshal(raw[len(markerPrefix):], &k); err != nil || len(k) < 2 || k[0] != scope {
		return nil, false
	}
	return k[1:], true
}

// cutPage sorts all by key and returns up to limit items of it: the first
// ones when marker is empty, else those whose keys sort after the marker's. It
// also returns the marker of the next page ("" when no item follows this
// page), and false when marker is not one Portico issued for the list scope
// names.
func cutPage[T any](all []T, key func(T) sortKey, scope, marker string, limit int) (page []T, next string, ok bool) {
	type keyed struct {
		item T
		key  sortKey
	}
	list := make([]keyed, len(all))
	for i, it := range all {
		list[i] = keyed{it, key(it)}
	}
	slices.SortStableFunc(list, func(a, b keyed) int { return slices.Compare(a.key, b.key) })
	start := 0
	if marker != "" {
		after, ok := decodeMarker(scope, marker)
		if !ok {
			return nil, "", false
		}
		start, _ = slices.BinarySearchFunc(list, after, func(e keyed, k sortKey) int {
			if slices.Compare(e.key, k) <= 0 {
				return -1 // at or before the marker: not on this page
			}
			return 1
		})
	}
	end := min(start+limit, len(list))
	page = make([]T, 0, end-start)
	for _, e := range list[start:end] {
		page = append(page, e.item)
	}
	if end < len(list) && end > start {
		next = encodeMarker(scope, list[end-1].key)
	}
	return page, next, true
}

// listScope is the scope of the markers of the API Gateway list r asks for
// (apigateway's position, apigatewayv2's nextToken): its path, which names the
// list and the resource it belongs to (/restapis/{id}/resources).
func listScope(r *http.Request) string {
	return strings.TrimSuffix(r.URL.Path, "/")
}

// deploymentOrder is the sort key of a deployment: oldest first, as
// apis.Service.ListDeployments lists them (the time in a fixed-width form, so
// that the strings sort as the times do), then by id.
func deploymentOrder(d apis.DeploymentSummary) sortKey {
	return sortKey{d.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000000"), d.ID}
}
