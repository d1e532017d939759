package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/console"
)

// The web console (package console) is served at /console/ with the admin API's
// authentication. Without a token (loopback only) it is open, as the API is.
// With one, a browser cannot send a bearer token when it loads a page, so the
// console signs in once: POST /console/login with the token sets an HttpOnly,
// SameSite=Strict cookie holding a keyed hash of the token (never the token).
// The cookie authenticates the console's pages, and the API calls the console
// makes, which say so with X-Portico-Console: 1 (a header that a page of another
// origin, say a function's page on the gateway, cannot send without a CORS
// preflight, which the admin API never grants). Console requests without the
// token get 401 and the sign-in page.

const (
	consoleCookie = "portico_console"
	consoleHeader = "X-Portico-Console"
)

// consoleSession is the value of the console's cookie for token.
func consoleSession(token string) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("portico console session v1"))
	return hex.EncodeToString(mac.Sum(nil))
}

func isConsolePath(p string) bool { return p == "/console" || strings.HasPrefix(p, console.Prefix) }

// registerConsole serves the console's pages.
func (s *Server) registerConsole(h http.Handler) {
	s.console = h
	s.mux.Handle("GET "+console.Prefix, h)
	s.mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, console.Prefix, http.StatusFound)
	})
	s.mux.HandleFunc("POST /console/login", s.consoleLogin)
}

// consoleCookieAuth reports whether r is a console request that carries a valid
// session cookie: a page, or an API call marked with X-Portico-Console.
func (s *Server) consoleCookieAuth(r *http.Request) bool {
	if s.console == nil || r.Header.Get("Authorization") != "" {
		return false
	}
	c, err := r.Cookie(consoleCookie)
	if err != nil {
		return false
	}
	page := (r.Method == http.MethodGet || r.Method == http.MethodHead) && isConsolePath(r.URL.Path)
	if !page && r.Header.Get(consoleHeader) != "1" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(consoleSession(s.cfg.Token))) == 1
}

// consoleLogin checks the token posted by the sign-in form and sets the
// session cookie; a wrong token gets 401 and the form again.
func (s *Server) consoleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	token := r.PostFormValue("token")
	if s.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Token)) != 1 {
		s.log.Warn("console sign-in with a wrong token", "remote", r.RemoteAddr)
		console.ServeLogin(w, http.StatusUnauthorized)
		return
	}
	if s.cfg.Token != "" {
		// Secure only over TLS: the admin listener is plain HTTP on loopback by default.
		//nolint:gosec // G124: Secure would drop the cookie on the plain-HTTP admin listener
		http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: consoleSession(s.cfg.Token), Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	}
	http.Redirect(w, r, console.Prefix, http.StatusSeeOther)
}
