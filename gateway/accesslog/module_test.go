package accesslog

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/pipeline"
)

// TestModuleClosesAfterTheServersThatUseIt stops an app in which a server
// that takes the stage (as the gateway's does, in a module listed before
// this one) answers one last request while it shuts down: its line must be
// written. The writers were closed by a hook appended after the server's,
// so they stopped first and the line of a request still in flight was lost.
func TestModuleClosesAfterTheServersThatUseIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev.log")
	d := deployedWith("$context.requestId $context.status", path)
	call := func(s *Stage, id string) {
		c := &pipeline.Context{RequestID: id, APIID: "abcdefghij", Stage: "dev", HTTPMethod: "GET"}
		serve(t, s, d, c, func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
			_, err := w.Write([]byte("ok"))
			return err
		})
	}
	server := fx.Module("server", fx.Invoke(func(lc fx.Lifecycle, s *Stage) {
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error { call(s, "first"); return nil },
			OnStop:  func(context.Context) error { call(s, "last"); return nil },
		})
	}))
	app := fx.New(fx.NopLogger, fx.Supply(slog.New(slog.DiscardHandler), &Dirs{Allowed: []string{filepath.Dir(path)}}), server, Module)
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "first 200\nlast 200\n" {
		t.Fatalf("log %q (%v), want the last request's line", got, err)
	}
}
