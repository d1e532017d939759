package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/fastproxy"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// floodInterim is how many interim answers the flooding backend sends before
// its final one: well past fastproxy.MaxInterim, and well under the 10 MB
// the transport allows all the heads of an answer it reads 1xx past itself.
const floodInterim = 1000

// interimAnswer is the backend's answer to path: "/few" sends
// fastproxy.MaxInterim interim answers (102s, then a 103 with a Link field)
// before its final 200; "/flood" sends floodInterim 102s first.
func interimAnswer(path string) (n int, final string) {
	if path == "/flood" {
		return floodInterim, "flood"
	}
	return fastproxy.MaxInterim, "final"
}

// newInterimBackend is a raw HTTP/1.1 backend that answers as interimAnswer
// says, on one connection after another.
func newInterimBackend(t *testing.T) string {
	ln := listenRaw(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			n, final := interimAnswer(req.URL.Path)
			bw := bufio.NewWriter(c)
			for i := 1; i <= n; i++ {
				if i == n {
					_, _ = io.WriteString(bw, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
				} else {
					_, _ = io.WriteString(bw, "HTTP/1.1 102 Processing\r\n\r\n")
				}
			}
			_, _ = fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(final), final)
			if bw.Flush() != nil {
				return
			}
		}
	})
	return "http://" + ln.Addr().String()
}

// newInterimH2Backend answers as interimAnswer says over HTTP/2 (and over
// HTTP/1.1 to a client that asks for it, as the fast path does), with TLS.
func newInterimH2Backend(t *testing.T) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, final := interimAnswer(r.URL.Path)
		for i := 1; i <= n; i++ {
			if i == n {
				w.Header().Set("Link", "</a.css>; rel=preload")
				w.WriteHeader(http.StatusEarlyHints)
				w.Header().Del("Link")
			} else {
				w.WriteHeader(http.StatusProcessing)
			}
		}
		w.Header().Set("X-Proto", r.Proto)
		_, _ = io.WriteString(w, final)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestInterimAnswersStayAtGateway: a backend's interim (1xx) answers never
// reach the client, on the fast path, the ReverseProxy path (HTTP/1.1 and
// HTTP/2) and the buffered HTTP integration: API Gateway sends only the
// final answer. Up to fastproxy.MaxInterim of them are read past and the
// final answer goes out with the gateway's own fields and not the 1xx's; a
// backend that sends more fails as a broken one does (a REST API's 500
// {"message": "Internal server error"}), where the gateway passed each on
// (30,000 heads, 3 MB, in 3 s, each with the gateway's ids).
func TestInterimAnswersStayAtGateway(t *testing.T) {
	h2 := newInterimH2Backend(t)
	pool := x509.NewCertPool()
	pool.AddCert(h2.Certificate())
	for _, b := range []struct{ name, url string }{{"http1", newInterimBackend(t)}, {"tls", h2.URL}} {
		_, svc := gwtest.APIs(t)
		ctx := context.Background()
		var routes []apis.Route
		for _, p := range []string{"/few", "/flood"} {
			routes = append(routes,
				apis.Route{Method: "GET", Path: "/proxy" + p, Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: b.url + p}},
				apis.Route{Method: "GET", Path: "/buffered" + p, Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: b.url + p,
					Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}}})
		}
		a, err := svc.Create(ctx, &apis.API{Name: "interim", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: routes}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "dev"}); err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.DiscardHandler)
		fast, stock := New(Config{}, svc, nil, nil, log), New(Config{}, svc, nil, nil, log)
		stock.fast = nil
		for _, g := range []*Gateway{fast, stock} {
			g.trustBackends(&tls.Config{RootCAs: pool})
		}
		for _, gw := range []struct {
			name string
			g    *Gateway
		}{{"fast", fast}, {"stock", stock}} {
			srv := httptest.NewServer(gw.g)
			t.Cleanup(srv.Close)
			for _, path := range []string{"/proxy/few", "/proxy/flood", "/buffered/few", "/buffered/flood"} {
				t.Run(b.name+"/"+gw.name+path, func(t *testing.T) {
					var interim []int
					ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
						Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
							interim = append(interim, code)
							return nil
						},
					})
					req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/"+a.ID+"/dev"+path, nil)
					resp, err := srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					if len(interim) > 0 {
						t.Errorf("the client got %d interim answers (first %d); want none", len(interim), interim[0])
					}
					if strings.HasSuffix(path, "/flood") {
						if resp.StatusCode != http.StatusInternalServerError || string(body) != `{"message": "Internal server error"}` {
							t.Errorf("after %d interim answers: %d %s; want 500 {\"message\": \"Internal server error\"}", floodInterim, resp.StatusCode, body)
						}
						return
					}
					if resp.StatusCode != http.StatusOK || string(body) != "final" {
						t.Fatalf("after %d interim answers: %d %q; want 200 \"final\"", fastproxy.MaxInterim, resp.StatusCode, body)
					}
					if resp.Header.Get(hdrRequestID) == "" || resp.Header.Get("Link") != "" {
						t.Errorf("final answer's fields: %v; want the gateway's request id and not the 103's Link", resp.Header)
					}
					if b.name == "tls" && gw.name == "stock" && strings.HasPrefix(path, "/proxy") && resp.Header.Get("X-Proto") != "HTTP/2.0" {
						t.Errorf("the backend was asked over %q; want HTTP/2.0", resp.Header.Get("X-Proto"))
					}
				})
			}
		}
	}
}
