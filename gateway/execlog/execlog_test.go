package execlog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/gateway/responses"
)

func deployed(level string, trace bool) *pipeline.Deployed {
	st := &apis.Stage{APIID: "abcdefghij", Name: "dev"}
	if level != "" {
		st.MethodSettings = map[string]apis.MethodSetting{"*/*": {LoggingLevel: level, DataTraceEnabled: trace}}
	}
	return &pipeline.Deployed{Stage: st, Deployment: &apis.Deployment{}}
}

// run serves one request and returns the log records as JSON objects.
func run(t *testing.T, d *pipeline.Deployed, terminal pipeline.HandlerFunc) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	s := New(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	h, err := pipeline.Chain(d, []pipeline.Stage{s, responses.New(nil)}, terminal)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/abcdefghij/dev/pets", strings.NewReader(`{"name":"rex"}`))
	req.Header.Set("Authorization", "Bearer sekrit-token")
	req.Header.Set("X-Api-Key", "sekrit-key")
	req.Header.Set("Cookie", "session=sekrit-cookie")
	req.Header.Set("X-Trace-Me", "visible")
	if err := h.ServeRequest(httptest.NewRecorder(), req, &pipeline.Context{RequestID: "req-42", APIID: "abcdefghij", Stage: "dev"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "sekrit") {
		t.Errorf("a secret reached the log:\n%s", buf.String())
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func echo(w http.ResponseWriter, r *http.Request, _ *pipeline.Context) error {
	b, _ := io.ReadAll(r.Body) // the integration still gets the body the trace read
	w.Header().Set("Set-Cookie", "id=sekrit-set")
	_, err := w.Write(append([]byte("echo "), b...))
	return err
}

func fail(http.ResponseWriter, *http.Request, *pipeline.Context) error {
	return &pipeline.Error{Type: pipeline.Default5XX, Status: 502, Cause: io.ErrUnexpectedEOF}
}

func TestInfoWithDataTraceMasksSecrets(t *testing.T) {
	recs := run(t, deployed("INFO", true), echo)
	if len(recs) != 2 {
		t.Fatalf("records %v", recs)
	}
	req, done := recs[0], recs[1]
	if req["requestId"] != "req-42" || req["body"] != `{"name":"rex"}` {
		t.Errorf("request record %v", req)
	}
	hdr, _ := req["headers"].(map[string]any)
	if hdr["Authorization"] != "********" || hdr["X-Api-Key"] != "********" || hdr["Cookie"] != "********" || hdr["X-Trace-Me"] != "visible" {
		t.Errorf("request headers %v", hdr)
	}
	if done["requestId"] != "req-42" || done["status"] != float64(200) || done["responseBody"] != `echo {"name":"rex"}` {
		t.Errorf("completion record %v", done)
	}
	if rh, _ := done["responseHeaders"].(map[string]any); rh["Set-Cookie"] != "********" {
		t.Errorf("response headers %v", rh)
	}
}

func TestLevels(t *testing.T) {
	for _, tc := range []struct {
		level   string
		h       pipeline.HandlerFunc
		records int
		last    string // level of the last record
	}{
		{"", echo, 0, ""},
		{"OFF", fail, 0, ""},
		{"ERROR", echo, 0, ""},
		{"ERROR", fail, 1, "ERROR"},
		{"INFO", echo, 2, "INFO"},
		{"info", fail, 2, "ERROR"},
	} {
		recs := run(t, deployed(tc.level, false), tc.h)
		if len(recs) != tc.records {
			t.Errorf("level %q: %d records, want %d: %v", tc.level, len(recs), tc.records, recs)
			continue
		}
		if tc.records > 0 {
			last := recs[len(recs)-1]
			if last["level"] != tc.last || last["requestId"] != "req-42" {
				t.Errorf("level %q: last record %v", tc.level, last)
			}
			if _, ok := last["headers"]; ok {
				t.Errorf("level %q without data trace logged headers", tc.level)
			}
		}
	}
}
