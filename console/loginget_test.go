package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/console"
)

// TestConsoleLoginAndLogoutPagesByGET: the address bar shows /console/login
// after a failed sign-in (the form's action), so a bookmark or the history
// may open it later. With a session, a GET of /console/login or
// /console/logout goes to the console (303; the browser keeps the hash route);
// without one it shows the sign-in page; a tokenless server's console is open,
// so it goes there too. A GET signs no one out.
func TestConsoleLoginAndLogoutPagesByGET(t *testing.T) {
	get := func(t *testing.T, u string, cookies []*http.Cookie) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Sec-Fetch-Site", "none") // typed, a bookmark or the history
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("Sec-Fetch-Dest", "document")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	t.Run("token", func(t *testing.T) {
		env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
		session := sessionCookies(signInForm(t, env.AdminURL, "", token))
		if len(session) != 1 {
			t.Fatalf("sign-in cookies: %v", session)
		}
		for _, p := range []string{"/console/login", "/console/logout"} {
			if st, loc, body := get(t, env.AdminURL+p, session); st != http.StatusSeeOther || loc != "/console/" {
				t.Errorf("GET %s with a session: %d, Location %q, %.80q; want 303 to /console/", p, st, loc, body)
			}
			if st, _, body := get(t, env.AdminURL+p, nil); st != http.StatusUnauthorized || !strings.Contains(body, `action="/console/login"`) {
				t.Errorf("GET %s without a session: %d %.80q; want 401 and the sign-in page", p, st, body)
			}
		}
		// The session still works: the GET of /console/logout ended nothing.
		if st, _, _ := get(t, env.AdminURL+"/console/", session); st != http.StatusOK {
			t.Errorf("the console after GET /console/logout: %d, want 200", st)
		}
	})
	t.Run("tokenless", func(t *testing.T) {
		env := apptest.Start(t, apptest.Options{})
		for _, p := range []string{"/console/login", "/console/logout"} {
			if st, loc, body := get(t, env.AdminURL+p, nil); st != http.StatusSeeOther || loc != "/console/" {
				t.Errorf("GET %s: %d, Location %q, %.80q; want 303 to /console/", p, st, loc, body)
			}
		}
	})
}

// TestConsoleCrossSiteReads: a link to the console from another site (a
// top-level navigation) opens it; the console in a frame of another site, and
// reads of the console's API from another site, are refused (403) before they
// reach the server's routes.
func TestConsoleCrossSiteReads(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		want       int
	}{
		{"a link to the console", "/console/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 200},
		{"the console in a frame", "/console/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}, 403},
		{"the console's script", "/console/console.js", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}, 403},
		{"a console API read", "/console/api/portico/v1/functions/f/logs?follow=1", map[string]string{"Sec-Fetch-Site": "cross-site",
			"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty", "X-Portico-Console": "1"}, 403},
		{"a navigation to a console API route", "/console/api/portico/v1/functions", map[string]string{"Sec-Fetch-Site": "cross-site",
			"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 403},
		{"the console's own read", "/console/api/portico/v1/apis", map[string]string{"Sec-Fetch-Site": "same-origin",
			"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "X-Portico-Console": "1"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", env.AdminURL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("GET %s %v: %d %.120s, want %d", tc.path, tc.hdr, resp.StatusCode, b, tc.want)
			}
		})
	}
}

// TestSignInPageNamesTheTokenFile: the sign-in page says where the token
// comes from, the token file (the way serve --help recommends) included.
func TestSignInPageNamesTheTokenFile(t *testing.T) {
	rec := httptest.NewRecorder()
	console.ServeLogin(rec, http.StatusUnauthorized)
	for _, want := range []string{"--admin-token-file", "PORTICO_ADMIN_TOKEN_FILE", "--admin-token<", "PORTICO_ADMIN_TOKEN<"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("the sign-in page does not name %s:\n%s", want, rec.Body)
		}
	}
}
