package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/listener"
)

// rawAnswer is one answer rawAnswers read.
type rawAnswer struct {
	StatusCode int
	Header     http.Header
	body       string
}

// rawAnswers sends raw on a new connection to addr and reads every answer
// until the server closes the connection.
func rawAnswers(t *testing.T, addr, raw string) []rawAnswer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	// A safety net against a server that keeps the connection open, not a
	// timing assertion: every case here must end with the server's close.
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var answers []rawAnswer
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection is still open after %d answers", len(answers))
			}
			return answers
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		answers = append(answers, rawAnswer{resp.StatusCode, resp.Header, string(body)})
	}
}

// TestEnginesRefuseAmbiguousFraming sends, under the net/http and nbio
// listener engines, requests whose framing h1 refuses, each followed by a
// request that a front proxy framing the bytes otherwise would have seen as
// the first one's body: the engine must answer once, 400 in the gateway's
// shape, and close, so that the hidden request is never served.
func TestEnginesRefuseAmbiguousFraming(t *testing.T) {
	svc, stagePath := benchCreate(t, mockAPI(), nil)
	hidden := "GET " + stagePath + "/mock HTTP/1.1\r\nHost: a\r\n\r\n"
	chunk := strconv.FormatInt(int64(len(hidden)), 16) + "\r\n" + hidden + "\r\n0\r\n\r\n"
	post := "POST " + stagePath + "/mock HTTP/1.1\r\nHost: a\r\n"
	cases := []struct {
		name string
		raw  string
		// want is the one status per engine; jsonBody: in the gateway's
		// shape (net/http answers some itself, in plain text).
		want     map[string]int
		jsonBody map[string]bool
	}{
		{"CL.TE", post + "Content-Length: " + strconv.Itoa(5+len(hidden)) + "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden,
			map[string]int{EngineNetHTTP: 400, EngineNbio: 400}, map[string]bool{EngineNetHTTP: true, EngineNbio: true}},
		{"TE.CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + chunk,
			map[string]int{EngineNetHTTP: 400, EngineNbio: 400}, map[string]bool{EngineNetHTTP: true, EngineNbio: true}},
		{"differing Content-Length", post + "Content-Length: 5\r\nContent-Length: " + strconv.Itoa(5+len(hidden)) + "\r\n\r\nhello" + hidden,
			map[string]int{EngineNetHTTP: 400, EngineNbio: 400}, map[string]bool{EngineNbio: true}},
		{"signed Content-Length", post + "Content-Length: +5\r\n\r\nhello" + hidden,
			map[string]int{EngineNetHTTP: 400, EngineNbio: 400}, map[string]bool{EngineNbio: true}},
		// net/http drops the Transfer-Encoding of an HTTP/1.0 request and
		// reads no body: it answers the request and closes.
		{"TE on HTTP/1.0 kept alive", "GET " + stagePath + "/mock HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk,
			map[string]int{EngineNetHTTP: 200, EngineNbio: 400}, map[string]bool{EngineNetHTTP: true, EngineNbio: true}},
		{"no Host on HTTP/1.1", "GET " + stagePath + "/mock HTTP/1.1\r\n\r\n" + hidden,
			map[string]int{EngineNetHTTP: 400, EngineNbio: 400}, map[string]bool{EngineNbio: true}},
		{"two Hosts", "GET " + stagePath + "/mock HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + hidden,
			map[string]int{EngineNetHTTP: 400, EngineNbio: 400}, map[string]bool{EngineNbio: true}},
		{"NUL in a value", "GET " + stagePath + "/mock HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n" + hidden,
			map[string]int{EngineNetHTTP: 400, EngineNbio: 400}, map[string]bool{EngineNbio: true}},
		{"header block over the limit", "GET " + stagePath + "/mock HTTP/1.1\r\nHost: a\r\n" +
			strings.Repeat("X-Long: "+strings.Repeat("a", 1000)+"\r\n", 10) + "\r\n" + hidden,
			map[string]int{EngineNetHTTP: 431, EngineNbio: 431}, map[string]bool{EngineNbio: true}},
	}
	for _, engine := range []string{EngineNetHTTP, EngineNbio} {
		gw := New(Config{Listen: "127.0.0.1:0", Engine: engine}, svc, nil, nil, nil)
		s := NewServer(gw, nil, listener.Limits{MaxHeaderBytes: 4096})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Stop(context.Background()) })
		addr := strings.TrimPrefix(s.URL(), "http://")
		for _, tc := range cases {
			t.Run(engine+"/"+tc.name, func(t *testing.T) {
				answers := rawAnswers(t, addr, tc.raw)
				if len(answers) != 1 {
					t.Fatalf("%d answers, want 1 (the request hidden after the first was served)", len(answers))
				}
				resp := answers[0]
				if resp.StatusCode != tc.want[engine] {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.want[engine])
				}
				if !tc.jsonBody[engine] || resp.StatusCode == 200 {
					return
				}
				body := resp.body
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(string(body), `"message"`) ||
					resp.Header.Get("X-Amzn-Requestid") == "" {
					t.Errorf("answer not in the gateway's shape: %v %s", resp.Header, body)
				}
			})
		}
	}
}

// TestEnginesServeWellFramedRequests: the checks above leave ordinary
// requests alone, kept alive (Content-Length bodies, equal duplicate
// Content-Lengths, HTTP/1.0 without a body).
func TestEnginesServeWellFramedRequests(t *testing.T) {
	svc, stagePath := benchCreate(t, mockAPI(), nil)
	get := "GET " + stagePath + "/mock HTTP/1.1\r\nHost: a\r\n"
	raw := get + "Content-Length: 2\r\n\r\nhi" + get + "Content-Length: 2\r\nContent-Length: 2\r\n\r\nhi" + get + "Connection: close\r\n\r\n"
	for _, engine := range []string{EngineNetHTTP, EngineNbio} {
		gw := New(Config{Listen: "127.0.0.1:0", Engine: engine}, svc, nil, nil, nil)
		s := NewServer(gw, nil, listener.Limits{})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Stop(context.Background()) })
		answers := rawAnswers(t, strings.TrimPrefix(s.URL(), "http://"), raw)
		if len(answers) != 3 {
			t.Fatalf("%s: %d answers, want 3", engine, len(answers))
		}
		for i, a := range answers {
			if a.StatusCode != 200 {
				t.Errorf("%s: answer %d: %d", engine, i, a.StatusCode)
			}
		}
	}
}

// TestNbioEngineServesLoopbackOnly: the nbio engine, which cannot enforce
// every limit the listener declares, refuses to start on a public address and
// says why.
func TestNbioEngineServesLoopbackOnly(t *testing.T) {
	svc, _ := benchCreate(t, mockAPI(), nil)
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0"} {
		gw := New(Config{Listen: addr, Engine: EngineNbio}, svc, nil, nil, nil)
		s := NewServer(gw, nil, listener.Limits{})
		err := s.Start(context.Background())
		if err == nil {
			_ = s.Stop(context.Background())
			t.Fatalf("nbio started on %s", addr)
		}
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), "header read timeout") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:80", "[::1]:80", "localhost:80"} {
		if !loopbackAddr(addr) {
			t.Errorf("loopbackAddr(%q) = false", addr)
		}
	}
}
