package admin

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portico-dev/portico/console"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/netaddr"
)

// The web console (package console) is served at /console/ with the admin API's
// authentication. Without a token (loopback only) it is open, as the API is.
// With one, a browser cannot send a bearer token when it loads a page, so the
// console signs in once: POST /console/login with the token sets an HttpOnly,
// SameSite=Strict cookie holding a keyed hash of the token (never the token),
// scoped to Path=/console/. The cookie authenticates the console's pages, and
// the API calls the console makes through /console/api/{route} (served as
// /{route}), which say so with X-Portico-Console: 1 (a header that a page of
// another origin, say a function's page on the gateway, cannot send without a
// CORS preflight, which the admin API never grants). Console requests without
// the token get 401 and the sign-in page.
//
// A session lasts consoleSessionTTL: the cookie carries its expiry, a random
// nonce and a MAC of both keyed by the admin token and a key of this process
// (consoleSessions), so a leaked cookie stops working by itself, changing the
// token ends every session, and so does a restart. POST /console/logout ends
// the session on the server too (a copy of the cookie taken before is refused
// after), and drops the browser's cookie.
//
// The path matters: cookies are scoped by host, not port, so a cookie for the
// whole host would go with every request the browser makes to the gateway on
// that host, and on to the functions and HTTP backends behind it, which could
// replay it. The gateway's path-style URLs start with an API id (10
// characters), never with /console/. (So no __Host- prefix, which needs
// Path=/.) The other way round, a page the gateway serves on the same host can
// set cookies of the console's name for the admin listener's paths (a tenant's
// response header): a request is authenticated when any of the console
// cookies it carries holds a valid session, and signing in or out expires the
// console's name on the paths the console uses.

const (
	consoleCookie = "portico_console"
	consoleHeader = "X-Portico-Console"
)

// consoleSessionTTL is how long a console sign-in lasts.
const consoleSessionTTL = 12 * time.Hour

// consoleCookiePaths are the paths besides console.Prefix (the session's own)
// on which signing in and out expire a cookie of the console's name: "/", where
// earlier versions set it, and the narrower paths of the console's requests,
// where a page of the gateway on the same host may have set one.
var consoleCookiePaths = []string{"/", "/console", strings.TrimSuffix(console.APIPrefix, "/"), console.APIPrefix}

func isConsolePath(p string) bool { return p == "/console" || strings.HasPrefix(p, console.Prefix) }

// registerConsole serves the console's pages.
func (s *Server) registerConsole(h http.Handler) {
	s.console = h
	s.mux.Handle("GET "+console.Prefix, h)
	s.mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, console.Prefix, http.StatusFound)
	})
	s.mux.HandleFunc("POST /console/login", s.consoleLogin)
	s.mux.HandleFunc("POST /console/logout", s.consoleLogout)
	// The address bar shows /console/login after a failed sign-in (the
	// form's action), and a bookmark or the history may open it, or
	// /console/logout, later. Signed in (or with no token to sign in with), a
	// GET goes to the console, whose hash route the browser keeps; without a
	// session ServeHTTP answers with the sign-in page first. A GET signs no
	// one in or out.
	toConsole := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, console.Prefix, http.StatusSeeOther)
	}
	s.mux.HandleFunc("GET /console/login", toConsole)
	s.mux.HandleFunc("GET /console/logout", toConsole)
}

// consoleCookieAuth reports whether r, a console page (page) or an API call
// that came through console.APIPrefix, carries a valid session cookie: any of
// the cookies of the console's name it carries (a page of the gateway on the
// same host may have added others, which the browser sends first). Pages are
// read only (GET, HEAD).
func (s *Server) consoleCookieAuth(r *http.Request, page bool) bool {
	if r.Header.Get("Authorization") != "" {
		return false
	}
	if page && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	now := s.clock()()
	for _, c := range r.CookiesNamed(consoleCookie) {
		if s.sessions.valid(c.Value, s.cfg.Token, now) {
			return true
		}
	}
	return false
}

var errConsoleHeader = errdefs.New(errdefs.ErrForbidden, "AccessDeniedException",
	"a console API call must carry "+consoleHeader+": 1")

// consoleAPIRequest returns the console's API call r (under console.APIPrefix,
// marked with X-Portico-Console: 1) as a request for the route it names.
func consoleAPIRequest(r *http.Request) (*http.Request, error) {
	if r.Header.Get(consoleHeader) != "1" {
		return r, errConsoleHeader
	}
	prefix := strings.TrimSuffix(console.APIPrefix, "/")
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
	r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
	return r2, nil
}

// maxSignInToken is the longest token the sign-in form takes (trimmed): the
// token file's bound (4 KB), with room for a line end; a server started with a
// longer token (--admin-token) takes that one too.
const maxSignInToken = 4 << 10

// maxSignInForm bounds the sign-in form's body: a token of maxSignInToken bytes
// URL-encoded (each byte three at most), with room for the whitespace around
// it a paste may bring, and the field's name.
const maxSignInForm int64 = 3*(maxSignInToken+1024) + int64(len("token="))

// consoleLogin checks the token posted by the sign-in form and sets the
// session cookie; a wrong token gets 401 and the form again.
func (s *Server) consoleLogin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Token != "" {
		if d := s.signInLimiter().Wait(r.RemoteAddr, s.clock()()); d > 0 {
			retry, err := tooManySignIns(d)
			w.Header().Set("Retry-After", retry)
			console.ServeLoginError(w, http.StatusTooManyRequests, err.Error())
			return
		}
	}
	// The bound is on the token, not on the form: the form carries it
	// URL-encoded, where each of base64's "/", "+" and "=" and each byte of
	// a non-ASCII character takes three bytes, so a body bound of the
	// token's size refused valid long tokens as wrong ones. A form too large
	// to hold any token is said to be so (413), not counted as a failed
	// sign-in.
	r.Body = http.MaxBytesReader(w, r.Body, max(maxSignInForm, int64(3*(len(s.cfg.Token)+1024)+len("token="))))
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			console.ServeLoginError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"The sign-in form was too large: an admin token is at most %d bytes. Check what was pasted into the field.", maxSignInToken))
			return
		}
		console.ServeLoginError(w, http.StatusBadRequest, "The sign-in form could not be read: "+err.Error())
		return
	}
	// Trimmed as HTTP trims a header's value (the API's Bearer token) and the
	// CLI its token file: a token copied from a terminal often carries a
	// space or a newline, which the password field hides. The admin token
	// itself never starts or ends with whitespace (CheckTokenFrom).
	token := strings.TrimSpace(r.PostFormValue("token"))
	if len(token) > maxSignInToken && len(token) > len(s.cfg.Token) {
		console.ServeLoginError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"The token given is %d bytes long, longer than any admin token (at most %d bytes). Check what was pasted into the field.", len(token), maxSignInToken))
		return
	}
	if s.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Token)) != 1 {
		s.signInLimiter().Failed(r.RemoteAddr, s.clock()())
		s.log.Warn("console sign-in with a wrong token", "remote", r.RemoteAddr)
		console.ServeLoginError(w, http.StatusUnauthorized,
			"That is not this server's admin token: give the token portico serve was started with (the contents of its --admin-token-file or PORTICO_ADMIN_TOKEN_FILE, else --admin-token or PORTICO_ADMIN_TOKEN).")
		return
	}
	if s.cfg.Token != "" {
		expires := s.clock()().Add(consoleSessionTTL)
		// Secure only over TLS (the admin listener is plain HTTP on loopback
		// by default): the browser's, to a TLS-terminating proxy the server
		// trusts, counts (overTLS).
		//nolint:gosec // G124: Secure would drop the cookie on the plain-HTTP admin listener
		http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: s.sessions.issue(s.cfg.Token, expires), Path: console.Prefix,
			Expires: expires, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.overTLS(r)})
		s.expireConsoleCookies(w, r, consoleCookiePaths)
		s.log.Info("console sign-in", "remote", r.RemoteAddr)
	}
	http.Redirect(w, r, console.Prefix, http.StatusSeeOther)
}

// expireConsoleCookies expires the cookies of the console's name on paths.
func (s *Server) expireConsoleCookies(w http.ResponseWriter, r *http.Request, paths []string) {
	secure := s.overTLS(r)
	for _, p := range paths {
		//nolint:gosec // G124: as in consoleLogin
		http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: "", Path: p, MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure})
	}
}

// overTLS reports whether the browser sent r over TLS: to this listener, or
// to a TLS-terminating proxy in front of it. The proxy's word
// (X-Forwarded-Proto: https, its right-most value: the one the proxy next to
// this server set) counts only when the peer is one of the trusted proxies
// (Config.TrustedProxies, --trusted-proxies), since any client can send the
// header.
func (s *Server) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if len(s.cfg.TrustedProxies) == 0 || !s.trustedPeer(r) {
		return false
	}
	vals := r.Header.Values("X-Forwarded-Proto")
	if len(vals) == 0 {
		return false
	}
	hops := strings.Split(vals[len(vals)-1], ",")
	return strings.EqualFold(strings.TrimSpace(hops[len(hops)-1]), "https")
}

// trustedPeer reports whether r's peer is one of the trusted proxies.
func (s *Server) trustedPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return netaddr.InPrefixes(host, s.cfg.TrustedProxies)
}

// consoleLogout ends the sessions of the console cookies the request carries,
// on the server (a copy of the cookie is refused after), drops the browser's
// cookies of the console's name, and goes back to the console (the sign-in
// page, when the admin API has a token).
func (s *Server) consoleLogout(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Token != "" {
		now := s.clock()()
		for _, c := range r.CookiesNamed(consoleCookie) {
			ended, all := s.sessions.end(c.Value, s.cfg.Token, now)
			if all {
				s.log.Warn("console sign-outs filled the list of ended sessions: every console session ended (sign in again)",
					"ended", maxEndedSessions)
			}
			if ended {
				s.log.Info("console sign-out", "remote", r.RemoteAddr)
			}
		}
	}
	s.expireConsoleCookies(w, r, append([]string{console.Prefix}, consoleCookiePaths...))
	http.Redirect(w, r, console.Prefix, http.StatusSeeOther)
}
