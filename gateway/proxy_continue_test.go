package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/cors"
)

// TestProxyContinueKeepsGatewayHeaders: a client that sends "Expect:
// 100-continue" to an HTTP_PROXY route (which the streamed ReverseProxy path
// serves) gets one bare 100 Continue, then the final answer with the gateway's
// own fields (x-amzn-RequestId, an HTTP API's apigw-requestid and CORS
// fields). The backend's own 100 is not passed on as a second one carrying the
// gateway's fields, which left the final answer without them; nor is its 103
// Early Hints, after which the final answer has the gateway's fields and not
// the 103's.
func TestProxyContinueKeepsGatewayHeaders(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) == "hints" {
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			delete(w.Header(), "Link")
			w.Header().Set("Access-Control-Allow-Origin", "https://evil.example")
		}
		w.Header().Set("X-Backend", "yes")
		_, _ = w.Write(b)
	}))
	t.Cleanup(backend.Close)
	for _, protocol := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
		t.Run(protocol, func(t *testing.T) {
			e := newEnv(t)
			e.gw.Use(cors.New())
			a := &apis.API{Name: "c", Protocol: protocol, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "POST", Path: "/len", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "POST", URI: backend.URL + "/len", PayloadFormatVersion: "1.0"}},
			}}}
			if protocol == apis.ProtocolHTTP {
				a.CORS = &apis.CORSConfiguration{AllowOrigins: []string{"https://a.example.com"}, AllowMethods: []string{"GET", "POST"}}
			}
			id := e.deploy(a, "dev", nil)
			c, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
			head := "POST /" + id + "/dev/len HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example.com\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			interim, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = interim.Body.Close() // a 1xx has no body
			if interim.StatusCode != http.StatusContinue || len(interim.Header) != 0 {
				t.Fatalf("first answer %d %v; want a bare 100 Continue", interim.StatusCode, interim.Header)
			}
			if _, err := io.WriteString(c, "hello"); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK || string(b) != "hello" {
				t.Fatalf("final answer %d %q; want 200 \"hello\" (a second 100?)", res.StatusCode, b)
			}
			want := []string{"X-Amzn-Requestid", "X-Backend"}
			if protocol == apis.ProtocolHTTP {
				want = append(want, "Apigw-Requestid", "Access-Control-Allow-Origin", "Vary")
			}
			for _, k := range want {
				if res.Header.Get(k) == "" {
					t.Errorf("final answer without %s: %v", k, res.Header)
				}
			}

			// 103 Early Hints, without Expect: it stays at the gateway (API
			// Gateway sends only the final answer).
			if _, err := io.WriteString(c, "POST /"+id+"/dev/len HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example.com\r\nContent-Length: 5\r\n\r\nhints"); err != nil {
				t.Fatal(err)
			}
			res, err = http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK || res.Header.Get("Link") != "" {
				t.Fatalf("after the 103: %d %v", res.StatusCode, res.Header)
			}
			for _, k := range want {
				if res.Header.Get(k) == "" {
					t.Errorf("final answer after a 103 without %s: %v", k, res.Header)
				}
			}
			if acao := res.Header.Values("Access-Control-Allow-Origin"); protocol == apis.ProtocolHTTP && (len(acao) != 1 || acao[0] != "https://a.example.com") {
				t.Errorf("Access-Control-Allow-Origin %q after a 103; want the gateway's", acao)
			}
		})
	}
}
