package apis

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// OwnListeners names the Portico listener other than the gateway's (the admin
// API, metrics, the sandbox-facing @connections endpoint, a Runtime API) that
// a host and port in an integration URI would reach; *ownaddr.Set satisfies
// it. It must be safe for concurrent use.
type OwnListeners interface {
	OwnerOfHost(host string, port uint16) (name string, ok bool)
}

// SetOwnListeners has the service refuse, when an API is saved, an HTTP
// integration whose literal URI targets one of Portico's own listeners; call
// it before use. (A target named by a stage variable is known, and refused,
// only when a request resolves it: the gateway checks every address it
// connects to.)
func (s *Service) SetOwnListeners(o OwnListeners) { s.own = o }

// checkTargets refuses a's HTTP integrations whose URI names one of Portico's
// own listeners by address or loopback name.
func (s *Service) checkTargets(a *API) error {
	if s.own == nil {
		return nil
	}
	var ins []*Integration
	for i := range a.Routes {
		if in := a.Routes[i].Integration; in != nil {
			ins = append(ins, in)
		}
	}
	ids := make([]string, 0, len(a.Integrations))
	for id := range a.Integrations {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		in := a.Integrations[id]
		ins = append(ins, &in)
	}
	for _, in := range ins {
		if in.Type != IntegrationHTTP && in.Type != IntegrationHTTPProxy {
			continue
		}
		host, port, ok := literalTarget(in.URI)
		if !ok {
			continue
		}
		if name, own := s.own.OwnerOfHost(host, port); own {
			return invalid("integration uri %q targets Portico's own %s: an integration may not expose Portico's own listeners through the gateway; point it at your backend",
				truncate(in.URI, 200), name)
		}
	}
	return nil
}

// literalTarget is the host and port an HTTP integration URI connects to, when
// no stage variable decides them.
func literalTarget(raw string) (host string, port uint16, ok bool) {
	u, err := url.Parse(placeholderVars(raw))
	if err != nil || u.Host == "" {
		return "", 0, false
	}
	if i := strings.Index(raw, "://"); i < 0 || strings.Contains(strings.SplitN(raw[i+3:], "/", 2)[0], "${") {
		return "", 0, false
	}
	p := u.Port()
	if p == "" {
		p = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, false
	}
	return u.Hostname(), uint16(n), true
}
