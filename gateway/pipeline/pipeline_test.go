package pipeline

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recStage records its name when its middleware runs; skip makes Compile return nil.
type recStage struct {
	name  string
	order int
	skip  bool
	err   error
	trace *[]string
}

func (s recStage) Name() string { return s.name }
func (s recStage) Order() int   { return s.order }
func (s recStage) Compile(*Deployed) (Middleware, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.skip {
		return nil, nil
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *Context) error {
			*s.trace = append(*s.trace, s.name)
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

func TestChainOrdersStagesAndSkipsIdleOnes(t *testing.T) {
	var trace []string
	stages := []Stage{
		recStage{name: "cache", order: OrderCache, trace: &trace},
		recStage{name: "observe", order: OrderObserve, trace: &trace},
		recStage{name: "throttle", order: OrderThrottle, trace: &trace},
		recStage{name: "idle", order: OrderValidate, skip: true, trace: &trace},
		recStage{name: "b-key", order: OrderAPIKey, trace: &trace},
		recStage{name: "a-key", order: OrderAPIKey, trace: &trace},
	}
	h, err := Chain(&Deployed{}, stages, HandlerFunc(func(http.ResponseWriter, *http.Request, *Context) error {
		trace = append(trace, "integration")
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.ServeRequest(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), &Context{}); err != nil {
		t.Fatal(err)
	}
	want := "observe throttle a-key b-key cache integration"
	if got := strings.Join(trace, " "); got != want {
		t.Errorf("ran %q, want %q", got, want)
	}
}

func TestChainRefusesAStageThatDoesNotCompile(t *testing.T) {
	bad := errors.New("bad regex")
	_, err := Chain(&Deployed{}, []Stage{recStage{name: "validate", err: bad}}, HandlerFunc(func(http.ResponseWriter, *http.Request, *Context) error { return nil }))
	if !errors.Is(err, bad) || !strings.Contains(err.Error(), "validate") {
		t.Fatalf("err %v, want the stage's error naming the stage", err)
	}
}

func TestReadBodyOnceWithinLimit(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("hello"))
	c := &Context{}
	for range 2 {
		b, err := c.ReadBody(r)
		if err != nil || string(b) != "hello" {
			t.Fatalf("ReadBody = %q, %v", b, err)
		}
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 100)))
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
	c = &Context{}
	_, err := c.ReadBody(r)
	if e, ok := AsError(err); !ok || e.Type != RequestTooLarge {
		t.Fatalf("over the limit: %v, want REQUEST_TOO_LARGE", err)
	}
	r = httptest.NewRequest("POST", "/", io.NopCloser(failingReader{}))
	c = &Context{}
	if _, err := c.ReadBody(r); err == nil {
		t.Fatal("a failing body read passed")
	} else if e, _ := AsError(err); e == nil || e.Type != BadRequestBody {
		t.Fatalf("failing read: %v, want BAD_REQUEST_BODY", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestEveryResponseTypeHasADefault(t *testing.T) {
	if n := len(ResponseTypes()); n != 21 {
		t.Errorf("%d response types, want API Gateway's 21", n)
	}
	for _, rt := range ResponseTypes() {
		d := rt.Default()
		if d.Status < 400 || d.ErrorType == "" {
			t.Errorf("%s: default %+v", rt, d)
		}
	}
	if ResponseType("NOPE").Valid() || !Throttled.Valid() {
		t.Error("Valid is wrong")
	}
}

// holder is a wrapper that holds the response back (it does not pass through).
type holder struct{ http.ResponseWriter }

// heldStatus embeds StatusWriter but holds the response back, and says so.
type heldStatus struct{ StatusWriter }

func (*heldStatus) PassesThrough() http.ResponseWriter { return nil }

// TestInnermost checks that Innermost finds the writer under pass-through
// wrappers, and refuses a chain with a wrapper that embeds one but holds the
// response back.
func TestInnermost(t *testing.T) {
	rec := httptest.NewRecorder()
	two := &StatusWriter{ResponseWriter: &StatusWriter{ResponseWriter: rec}}
	if w, ok := Innermost(two); !ok || w != rec {
		t.Fatalf("two status writers: %T %v", w, ok)
	}
	if w, ok := Innermost(rec); !ok || w != rec {
		t.Fatalf("no wrapper: %T %v", w, ok)
	}
	h := &holder{rec}
	if w, ok := Innermost(&StatusWriter{ResponseWriter: h}); !ok || w != h {
		t.Fatalf("a holder under a status writer: %T %v (the holder is what the server's Park refuses)", w, ok)
	}
	held := &heldStatus{StatusWriter{ResponseWriter: rec}}
	if w, ok := Innermost(&StatusWriter{ResponseWriter: held}); ok || w != nil {
		t.Fatalf("a wrapper that says it holds the response: %T %v", w, ok)
	}
}
