package shutdown

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/h1"
)

// TestStopCutsOffWithACause: the requests a stop cuts off at the end of its
// graceful part see why in their context, ErrCutOff, so the surfaces record
// them as the server's failure and not as clients that went away; a request
// whose client went away has no such cause.
func TestStopCutsOffWithACause(t *testing.T) {
	arrived := make(chan struct{}, 1)
	causes := make(chan error, 1)
	srv := h1.New(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
		if !IsCutOff(r.Context()) {
			causes <- errors.New("IsCutOff is false")
			return
		}
		causes <- context.Cause(r.Context())
	}), h1.Options{ReadHeaderTimeout: time.Minute})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-arrived
	// A stop whose graceful part is already over cuts the request off at once.
	ctx, cancel := WithGrace(context.Background(), 0, time.Minute)
	defer cancel()
	if err := Stop(ctx, srv); err == nil {
		t.Fatal("Stop with a request still running returned nil")
	}
	if cause := <-causes; !errors.Is(cause, ErrCutOff) {
		t.Fatalf("the cut-off request's context cause is %v, want ErrCutOff", cause)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if IsCutOff(ctx2) {
		t.Error("a context its client cancelled is taken for cut off")
	}
}
