// Package console is Portico's web console: static pages, embedded in the
// binary, that the admin listener serves at /console/ behind the admin API's
// authentication. The pages are plain HTML, CSS and JavaScript with no build
// step and nothing fetched from elsewhere at run time; everything they show or
// change goes through the admin API the CLI uses (functions, versions,
// aliases, invocations and logs; APIs, routes, stages, deployments, rollback
// and canary promotion; API keys, usage plans and usage; WebSocket
// connections), and the live charts read GET /metrics.
package console

import (
	"bytes"
	"embed"
	"fmt"
	"html"
	"io/fs"
	"net/http"

	"go.uber.org/fx"
)

//go:embed assets
var assets embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// APIPrefix is where the console's pages call the admin API: a request for
// APIPrefix + "2015-03-31/functions" is served as /2015-03-31/functions, so
// that the session cookie, scoped to Prefix, goes nowhere else on the host.
const APIPrefix = Prefix + "api/"

// LoginStylesheet is the stylesheet (under Prefix) of the sign-in page, which
// is served before sign-in: it holds no data.
const LoginStylesheet = "console.css"

// LoginScript is the script (under Prefix) of the sign-in page, which is
// served before sign-in: it holds no data. It keeps the page's hash route
// across the sign-in.
const LoginScript = "login.js"

// SessionHeader is the header on the answers to the console's API calls that
// says how the call was signed in: "cookie" for the console's session cookie
// (which "Sign out" ends); absent when the admin API needs no token.
const SessionHeader = "X-Portico-Console-Session"

// Handler serves the console's pages under Prefix. The pages hold no data; the
// admin API's authentication guards them and the API calls they make alike.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(Prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w.Header())
		files.ServeHTTP(w, r)
	})
}

func secure(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY") // for browsers that predate frame-ancestors
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" on the pages' own form posts and API calls, and over plain
	// HTTP to an address that is not loopback it sends no Sec-Fetch-Site
	// either, so the admin API, which refuses a change it cannot tell from
	// another origin's, would refuse the console's sign-in and every change it
	// makes. Requests to other origins still carry no referrer.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache")
}

// ServeLogin writes the sign-in page (a form that posts the admin token to
// /console/login) with status: 401 for a console request without the token.
func ServeLogin(w http.ResponseWriter, status int) { ServeLoginError(w, status, "") }

// ServeLoginError writes the sign-in page with status and message, which says
// what went wrong and what to do, shown above the form ("": none).
func ServeLoginError(w http.ResponseWriter, status int, message string) {
	page, err := assets.ReadFile("assets/login.html")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	if message != "" {
		page = bytes.Replace(page, []byte("  <form "),
			[]byte(`  <p class="error" role="alert" id="sign-in-error">`+html.EscapeString(message)+"</p>\n  <form "), 1)
	}
	secure(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(page)
}

// ServeRefusal writes a small page, with status, that says why a browser's
// navigation to a console address was refused (message, the admin API's own
// words) and links to the console: what a person who opened or was sent to
// that address reads, where an API client gets the same message as JSON.
// link is the console's address to go to ("": Prefix, on this host).
func ServeRefusal(w http.ResponseWriter, status int, message, link string) {
	if link == "" {
		link = Prefix
	}
	secure(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Portico console: refused</title>
<link rel="stylesheet" href="/console/console.css">
<link rel="icon" href="data:,">
</head>
<body>
<header><strong>Portico</strong></header>
<main>
  <h1>Request refused</h1>
  <p class="error" role="alert" id="refusal">%s</p>
  <p><a href="%s" id="to-console">Go to the console</a></p>
</main>
</body>
</html>
`, html.EscapeString(message), html.EscapeString(link))
}

// Module provides the console's handler to the admin server, as the named
// value "console".
var Module = fx.Module("console",
	fx.Provide(fx.Annotate(Handler, fx.ResultTags(`name:"console"`))),
)
