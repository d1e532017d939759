// Package rawquery reads a request's raw query string as API Gateway does,
// for every surface that reads one (the gateway's REST and HTTP request
// path, a WebSocket $connect), so that they agree on its parameters.
package rawquery

import (
	"net/http"
	"strings"
)

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

// ClientQuery returns r's query as the client sent it: r.URL.RawQuery, or,
// when AmpersandSeparated has rewritten that since, the query of the request
// target (r.RequestURI). A SigV4 signature covers the query as sent (AWS's
// canonical query splits at '&' only, so a raw ';' is signed as %3B). It
// allocates nothing.
func ClientQuery(r *http.Request) string {
	raw := r.URL.RawQuery
	if strings.IndexByte(raw, '&') < 0 {
		return raw
	}
	_, sent, ok := strings.Cut(r.RequestURI, "?")
	if !ok || strings.IndexByte(sent, ';') < 0 || len(sent) != len(raw) {
		return raw
	}
	for i := 0; i < len(sent); i++ {
		if c := sent[i]; c != raw[i] && (c != ';' || raw[i] != '&') {
			return raw // rewritten otherwise: the URL's is the one to read
		}
	}
	return sent
}
