package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/portico-dev/portico/gateway/pipeline"
)

// hopHeader counts the times a request has passed through an HTTP integration
// of a Portico gateway: every HTTP and HTTP_PROXY integration request (REST,
// HTTP and WebSocket APIs) carries one more than the request that caused it,
// so that an integration whose URI leads back to a gateway (its own route,
// directly, through a stage variable or through another proxy) ends after
// maxHops requests instead of nesting until the process runs out of file
// descriptors and memory.
//
// The gateway writes the field itself, once, after the client's fields and
// the parameter mappings: a client's copy never goes on (the count cannot be
// reset). The count is believed only from a request that comes from this host
// (the gateway calling itself) or a trusted proxy (hopsTrusted); a client's
// elsewhere is dropped when the request arrives.
const hopHeader = "X-Portico-Hops"

// hopsTrusted reports whether r's hopHeader may be believed: its peer is this
// host (a loopback or local interface address: the gateway itself, through
// an integration URI that leads back to it) or a trusted proxy (another
// gateway in front of this one).
func (g *Gateway) hopsTrusted(r *http.Request) bool {
	a, err := netip.ParseAddr(sourceIP(r))
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a.IsLoopback() || localAddrs()[a] || g.trusted(a.String())
}

// localAddrs are this host's interface addresses, as they were at the first
// call.
var localAddrs = sync.OnceValue(func() map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out[p.Addr().Unmap()] = true
		}
	}
	return out
})

// maxHops is how many HTTP integrations one client request may pass through
// in a chain of gateways; the request that would make one more is refused
// (errLoop).
const maxHops = 10

// errLoop is an HTTP integration request refused because its request has
// already passed through maxHops integrations: an integration URI that leads
// back to the gateway.
var errLoop = errors.New("request loop: an HTTP integration leads back to the gateway")

// loopError is errLoop as the gateway answers it: 508 Loop Detected, a
// DEFAULT_5XX response.
func loopError(hops int) error {
	return &pipeline.Error{Type: pipeline.Default5XX, Status: http.StatusLoopDetected, Message: "Loop Detected",
		Cause: fmt.Errorf("%s %d (at most %d): %w", hopHeader, hops, maxHops, errLoop)}
}

// nextHop is the hopHeader value of an integration request caused by a
// request whose header is h, or loopError when h's count is already maxHops.
func nextHop(h http.Header) (string, error) {
	return hopAfter(hopCount(h[hopHeader]))
}

// hopAfter is the hopHeader value after a request that has passed through n
// integrations.
func hopAfter(n int) (string, error) {
	if n >= maxHops {
		return "", loopError(n)
	}
	return strconv.Itoa(n + 1), nil
}

// hopCount is the largest count in a request's hopHeader values (each maybe a
// comma-separated list, whose empty elements are skipped); 0 without one. A
// value that is not a count (a number that overflows, a negative or hex one,
// a word) counts as maxHops: Portico writes only small decimals, so it is no
// gateway's, and read as 0 it would lower the count, which no value may.
func hopCount(vv []string) int {
	n := 0
	for _, v := range vv {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			c, err := strconv.Atoi(f)
			if err != nil || c < 0 {
				c = maxHops
			}
			n = max(n, c)
		}
	}
	return n
}

// hopCountOf is hopCount of the field named hopHeader, in any spelling, of an
// event's single-value headers.
func hopCountOf(h map[string]string) int {
	for k, v := range h {
		if strings.EqualFold(k, hopHeader) {
			return hopCount([]string{v})
		}
	}
	return 0
}
