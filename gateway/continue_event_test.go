package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestFunctionProxyRefusesOversizedBodyBeforeContinue: an AWS_PROXY route
// answers a request whose Content-Length is over the 6 MB function event
// (which holds the whole body) 413 before reading any of it: a client that
// waits for "100 Continue" gets the 413 instead, rather than sending 7 MB
// first. A body that may fit still gets its 100 Continue.
func TestFunctionProxyRefusesOversizedBodyBeforeContinue(t *testing.T) {
	for _, protocol := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
		t.Run(protocol, func(t *testing.T) {
			a := &apis.API{Name: "fn", Protocol: protocol, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "POST", Path: "/fn", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello"}},
			}}}
			for _, tc := range []struct {
				length int64
				status int
			}{{proxyEventLimit + 1, http.StatusRequestEntityTooLarge}, {proxyEventLimit, http.StatusContinue}} {
				c, stagePath := dialH1(t, a)
				head := fmt.Sprintf("POST %s/fn HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", stagePath, tc.length)
				if _, err := io.WriteString(c, head); err != nil {
					t.Fatal(err)
				}
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				var b []byte
				if tc.status != http.StatusContinue {
					b, _ = io.ReadAll(res.Body)
				}
				_ = res.Body.Close()
				if res.StatusCode != tc.status || (tc.status == http.StatusRequestEntityTooLarge && !strings.Contains(string(b), "Request Too Long")) {
					t.Fatalf("Content-Length %d: %d %q, want %d", tc.length, res.StatusCode, b, tc.status)
				}
			}
		})
	}
}
