package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// TestDataProcessedCountsAChunkedBody is what the obs4 tester found: on an
// HTTP API's function route, $context.dataProcessed left out a request body
// sent chunked (no Content-Length): it wrote the response's bytes alone. It
// counts what was read, on REST and HTTP APIs' function routes (HTTP_PROXY
// routes: TestDataProcessedCountsHTTPProxyStreams).
func TestDataProcessedCountsAChunkedBody(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	const bodyLen = 5000
	for _, tc := range []struct{ name, protocol, version string }{
		{"HTTP", "HTTP", "2.0"}, {"HTTP1.0", "HTTP", "1.0"}, {"REST", "REST", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "httpMethod": "POST"}
			if tc.version != "" {
				fn["payloadFormatVersion"] = tc.version
			}
			apiID, logFile := loggedPostRoute(t, c, tc.protocol, "/fn", fn, "$context.requestId $context.dataProcessed $context.responseLength")
			for _, path := range []string{"/fn"} {
				req, err := http.NewRequest("POST", env.GatewayURL+"/"+apiID+"/dev"+path, io.MultiReader(strings.NewReader(strings.Repeat("x", bodyLen))))
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = -1 // chunked
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("POST %s: %d", path, resp.StatusCode)
				}
			}
			for i, l := range accessLines(t, logFile, 1) {
				f := strings.Fields(l)
				if len(f) != 3 {
					t.Fatalf("line %q", l)
				}
				dp, _ := strconv.Atoi(f[1])
				rl, _ := strconv.Atoi(f[2])
				if dp-rl != bodyLen {
					t.Errorf("route %d: dataProcessed %d, responseLength %d: want the %d bytes of the request counted", i, dp, rl, bodyLen)
				}
			}
		})
	}
}

// TestDataProcessedCountsHTTPProxyStreams: an HTTP_PROXY route streams a
// request body sent chunked to its backend, and the backend's answer back
// (chunked too, or of known length); $context.dataProcessed counts both, on
// the gateway's own connections, through httputil.ReverseProxy (request
// trailers take that path) and on a route with parameter mappings (which
// buffers), on HTTP and REST APIs.
func TestDataProcessedCountsHTTPProxyStreams(t *testing.T) {
	t.Parallel()
	const bodyLen, respLen = 5000, 7000
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if n != bodyLen {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("sized") != "" {
			w.Header().Set("Content-Length", strconv.Itoa(respLen))
		}
		w.WriteHeader(http.StatusOK)
		chunk := strings.Repeat("y", respLen/2)
		_, _ = io.WriteString(w, chunk)
		w.(http.Flusher).Flush() // chunked unless sized
		_, _ = io.WriteString(w, chunk)
	}))
	defer backend.Close()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	for _, tc := range []struct {
		name, protocol string
		mapped         bool
	}{
		{"HTTP", "HTTP", false}, {"REST", "REST", false}, {"RESTMapped", "REST", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]any{"type": "HTTP_PROXY", "uri": backend.URL + "/b", "httpMethod": "POST"}
			if tc.protocol == "HTTP" {
				in["payloadFormatVersion"] = "1.0"
			}
			if tc.mapped {
				in["requestParameters"] = map[string]string{"integration.request.header.X-Mapped": "'m'"}
			}
			apiID, logFile := loggedPostRoute(t, c, tc.protocol, "/p", in, "$context.dataProcessed $context.responseLength $context.requestId")
			type call struct {
				name     string
				sized    bool
				trailers bool
			}
			calls := []call{{"chunked", false, false}, {"chunked+sized answer", true, false}, {"trailers", false, true}}
			for _, cl := range calls {
				u := env.GatewayURL + "/" + apiID + "/dev/p"
				if cl.sized {
					u += "?sized=1"
				}
				req, err := http.NewRequest("POST", u, io.MultiReader(strings.NewReader(strings.Repeat("x", bodyLen))))
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = -1 // chunked
				if cl.trailers {
					req.Trailer = http.Header{"X-Sum": {"1"}}
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 || len(got) != respLen {
					t.Fatalf("%s: %d, %d bytes", cl.name, resp.StatusCode, len(got))
				}
			}
			for i, l := range accessLines(t, logFile, len(calls)) {
				var dp, rl int
				if _, err := fmt.Sscan(l, &dp, &rl); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				if rl != respLen || dp != bodyLen+respLen {
					t.Errorf("%s: dataProcessed %d, responseLength %d: want %d and %d", calls[i].name, dp, rl, bodyLen+respLen, respLen)
				}
			}
		})
	}
}

// loggedPostRoute makes an API of protocol with the one route POST path to
// integration in, deployed to stage dev with an access log of format, and
// returns its id and the log's file.
func loggedPostRoute(t *testing.T, c *client.Client, protocol, path string, in map[string]any, format string) (apiID, logFile string) {
	t.Helper()
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "dp", "protocol": protocol, "routes": []any{
		map[string]any{"method": "POST", "path": path, "integration": in}}}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	logFile = filepath.Join(t.TempDir(), "access.log")
	admin(t, c, "PUT", base+"/stages/dev/access-log", nil, map[string]string{"format": format, "destinationArn": "file://" + logFile}, nil)
	return api.ID, logFile
}

// accessLines waits (up to 30 s) for n lines in an access log file and
// returns them.
func accessLines(t *testing.T, logFile string, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		raw, _ := os.ReadFile(logFile)
		if strings.Count(string(raw), "\n") == n {
			return strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
		}
	}
	raw, _ := os.ReadFile(logFile)
	t.Fatalf("access log %q, want %d lines", raw, n)
	return nil
}
