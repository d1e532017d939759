package pipeline

import (
	"net"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/internal/netaddr"
)

// HeaderValues returns the values of r's header name (in any case) as the
// integration's event carries them, for every place that reads a request
// header by name (identity sources, request parameters, cache keys, request
// validation): the client's values, but for the headers the gateway sets
// itself, as API Gateway does: Host (which net/http moves from r.Header to
// r.Host), X-Forwarded-For (the client's list and the peer's address),
// X-Forwarded-Port and X-Forwarded-Proto (the listener's). X-Amzn-Trace-Id
// reads the client's only: the one the gateway makes when there is none
// differs on every request.
func HeaderValues(r *http.Request, name string) []string {
	switch {
	case strings.EqualFold(name, "Host"):
		if r.Host == "" {
			return nil
		}
		return []string{r.Host}
	case strings.EqualFold(name, "X-Forwarded-For"):
		peer := r.RemoteAddr
		if host, _, err := net.SplitHostPort(peer); err == nil {
			peer = netaddr.Unmapped(host)
		}
		return []string{netaddr.ForwardedFor(r.Header["X-Forwarded-For"], peer)}
	case strings.EqualFold(name, "X-Forwarded-Port"):
		return []string{netaddr.ForwardedPort(r)}
	case strings.EqualFold(name, "X-Forwarded-Proto"):
		if r.TLS != nil {
			return []string{"https"}
		}
		return []string{"http"}
	}
	return r.Header.Values(name)
}
