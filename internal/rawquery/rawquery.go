// Package rawquery reads a request's raw query string as API Gateway does,
// for every surface that reads one (the gateway's REST and HTTP request
// path, a WebSocket $connect), so that they agree on its parameters.
package rawquery

import "strings"

// AmpersandSeparated returns raw with each raw ';' made the '&' it stands
// for: API Gateway splits a query's data at a raw ';' as at '&', where
// url.ParseQuery would refuse the query and url.URL.Query drop the pair. An
// escaped ';' (%3B) is data and stays. It returns raw itself, allocating
// nothing, when raw has no ';'. It is safe for concurrent use.
func AmpersandSeparated(raw string) string {
	if strings.IndexByte(raw, ';') < 0 {
		return raw
	}
	return strings.ReplaceAll(raw, ";", "&")
}
