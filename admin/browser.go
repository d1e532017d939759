package admin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/portico-dev/portico/console"
	"github.com/portico-dev/portico/internal/errdefs"
)

// A browser sends what any page it shows asks for, to any address, the admin
// API's loopback one included; what keeps a page of another site from using
// the admin API through its visitor's browser is checked here, before
// authentication, for every route:
//
//   - A change (any method but GET, HEAD and OPTIONS) made by a page of another
//     origin is refused (net/http's CrossOriginProtection: Sec-Fetch-Site, else
//     Origin against Host). A simple cross-origin request (a form, or fetch
//     with mode "no-cors" and a text/plain body) needs no CORS preflight, so
//     without this a page anywhere could create and invoke a function (code run
//     on the host) on a developer's tokenless loopback admin API.
//   - A read (GET, HEAD) made by a page of another origin is refused too
//     (Sec-Fetch-Site same-site or cross-site, else Origin against Host). The
//     browser keeps its answer from the page, but the request still costs
//     the server: eight cross-site `logs?follow=1` would take a client
//     address's log follows and leave the CLI's `logs --follow` a 429. A
//     top-level navigation to a console page (a link to the console from
//     another site) passes: what it loads makes its own same-origin
//     requests.
//   - Without a token, a request must name a loopback host (localhost,
//     *.localhost) or an IP address in its Host header. A page that rebinds its
//     own name to 127.0.0.1 (DNS rebinding) is same-origin with what it then
//     reaches, so only the Host it sends tells it apart. With a token, such a
//     page has neither the token nor the console's cookie (bound to the
//     admin's own name), and the admin API may be reached by any name.
//
// Clients that are not browsers (the CLI, the AWS SDKs and CLI, curl) send
// neither Sec-Fetch-Site nor Origin and name the address they dial; they pass.

// crossOrigin refuses non-safe cross-origin browser requests. Safe for
// concurrent use.
var crossOrigin = http.NewCrossOriginProtection()

// checkBrowser returns an error for a request that a page of another site may
// have made a browser send (see above).
func (s *Server) checkBrowser(r *http.Request) error {
	if s.cfg.Token == "" {
		if host, ok := tokenlessHost(r); !ok && loopbackName(host) {
			return notLoopbackError{errdefs.New(errdefs.ErrForbidden, "AccessDeniedException", fmt.Sprintf(
				"the admin API has no token, so it refuses a request that names it two ways (%q and %q): "+
					"send the path alone as the request target, with a Host header of localhost or an IP address", r.Host, host))}
		} else if !ok {
			return notLoopbackError{errdefs.New(errdefs.ErrForbidden, "AccessDeniedException", fmt.Sprintf(
				"the admin API has no token, so it answers only requests addressed to localhost or an IP address, not %q: "+
					"use http://127.0.0.1:PORT (or localhost), or give the server an admin token (--admin-token-file FILE) to reach it by another name", host))}
		}
	}
	if crossOriginRead(r) {
		return errdefs.New(errdefs.ErrForbidden, "AccessDeniedException",
			"a page of another origin cannot read through the admin API: use the console at this address's /console/, the CLI or an SDK")
	}
	if err := crossOrigin.Check(r); err != nil {
		if r.Header.Get("Origin") == "null" {
			// Sent by a sandboxed page, or one whose Referrer-Policy is
			// no-referrer: it cannot be told from another site's.
			return errdefs.New(errdefs.ErrForbidden, "AccessDeniedException",
				"a page of another origin, or one that hides its origin (Origin: null), cannot change anything through the admin API: "+
					"use the console at this address's /console/ (reload it if it was open before an upgrade), the CLI or an SDK")
		}
		return errdefs.New(errdefs.ErrForbidden, "AccessDeniedException",
			"a page of another origin cannot change anything through the admin API: use the console at this address's /console/, the CLI or an SDK")
	}
	return nil
}

// notLoopbackError is a tokenless admin API's refusal of a request addressed
// to a name (an AccessDeniedException), told apart so that its page links to
// the console by the loopback address.
type notLoopbackError struct{ error }

func (e notLoopbackError) Unwrap() error { return e.error }

// refusePage answers err, a refusal of r before its route ran, with a small
// HTML page (the same message, and a link to the console) when r is a
// browser's navigation to a console address (a link, the address bar, a
// form's post): a person reads that, not a JSON document. API clients, and
// the console's own calls (fetch), keep the JSON error. It reports whether it
// answered.
func (s *Server) refusePage(w http.ResponseWriter, r *http.Request, err error) bool {
	if !isConsolePath(r.URL.Path) || !browserNavigation(r) {
		return false
	}
	status, _ := errorStatus(err, lambdaSurface)
	if status >= 500 {
		return false
	}
	msg, link := clientMessage(err), ""
	var k *errdefs.Kinded
	if errors.As(err, &k) {
		msg = k.Message
	}
	switch {
	case errors.Is(err, errConsoleHeader):
		msg = "This address is the console's API, which the console's pages call for their data: it is no page to open. Open the console instead."
	case errors.As(err, new(notLoopbackError)):
		// The console by the loopback address this server answers on.
		_, port, _ := net.SplitHostPort(r.Host)
		if port != "" {
			link = "http://127.0.0.1:" + port + console.Prefix
		}
	}
	console.ServeRefusal(w, status, msg, link)
	return true
}

// browserNavigation reports whether r is a browser's navigation to a
// document: by Sec-Fetch-Mode, else (a browser sends no Sec-Fetch-* over plain
// HTTP to an address that is not loopback) by an Accept that asks for HTML.
func browserNavigation(r *http.Request) bool {
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	for _, v := range r.Header.Values("Accept") {
		for _, m := range strings.Split(v, ",") {
			m, _, _ = strings.Cut(m, ";")
			if strings.EqualFold(strings.TrimSpace(m), "text/html") {
				return true
			}
		}
	}
	return false
}

// crossOriginRead reports whether r is a read (GET, HEAD) that a page of
// another origin made a browser send: by Sec-Fetch-Site, else (a browser
// sends none over plain HTTP to an address that is not loopback) by an Origin
// that is not r's host. A top-level navigation to a console page is not one
// (see above).
func crossOriginRead(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
		origin := r.Header.Get("Origin")
		if origin == "" {
			return false // not a browser's, or a read of the page's own origin
		}
		u, err := url.Parse(origin)
		return err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host)
	}
	consolePage := isConsolePath(r.URL.Path) && !strings.HasPrefix(r.URL.Path, console.APIPrefix)
	navigation := r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document"
	return !consolePage || !navigation
}

// tokenlessHost checks every name r gives the server, for a tokenless admin
// API: its Host (Request.Host), and for an absolute-form target ("GET
// http://name/path"), the target's host and the Host field beside it (kept
// by h1.Options.KeepAbsoluteFormHost). Each must be a loopback name or an IP
// address (loopbackName), and all must name the same host: a client that
// names the server two ways is refused whichever one a server would believe.
// It returns the first name that fails, and false; else "", true.
func tokenlessHost(r *http.Request) (string, bool) {
	names := append([]string{r.Host}, r.Header.Values("Host")...)
	if r.URL.Host != "" {
		names = append(names, r.URL.Host)
	}
	for _, h := range names {
		if !loopbackName(h) {
			return h, false
		}
	}
	for _, h := range names[1:] {
		if hostName(h) != hostName(names[0]) {
			return h, false
		}
	}
	return "", true
}

// hostName returns host (host or host:port) without its port, in lower case,
// without a trailing dot.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
}

// loopbackName reports whether host (a Host header, with or without a port)
// cannot be a name that a web page rebinds to a loopback address: an IP
// address, localhost or a name under .localhost (which browsers resolve to
// loopback themselves), or empty (not sent by browsers).
func loopbackName(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	return host == "" || net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost")
}
