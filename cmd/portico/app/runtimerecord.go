package app

import (
	"context"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/runtimes"
)

// recordRuntime notes at start which runtime the data directory dir runs on
// (runtimes.RecordRuntime) and warns when it is not the one of the last
// start: the Image functions' pins are image ids of the other runtime, which
// this one does not know, and the other runtime's sandboxes of the last run
// stay until a start on it removes them. The invoker learns the former
// runtime, for the error of a sandbox whose pin is missing.
func recordRuntime(ctx context.Context, dir string, rt runtimes.Runtime, fns *functions.Service, inv *invoker.Invoker, log *slog.Logger) {
	before, after, err := runtimes.RecordRuntime(dir, rt.Name(), time.Now())
	if err != nil {
		// Only a hint: the server runs without it.
		log.Warn("cannot record the data directory's runtime", "err", err)
	}
	inv.SetFormerRuntime(after.Former)
	if before.Runtime == "" || before.Runtime == rt.Name() {
		return
	}
	var images []string
	if list, err := fns.List(ctx); err == nil {
		for _, c := range list {
			if c.PackageType == functions.PackageImage {
				images = append(images, c.FunctionName)
			}
		}
	}
	args := []any{"runtime", rt.Name(), "former", before.Runtime}
	if len(images) == 0 {
		log.Info("this data directory ran on another runtime before", args...)
		return
	}
	args = append(args, "image_functions", images)
	adopt := ""
	if rt.Name() == "containerd" && before.Runtime == "docker" {
		adopt = "; one whose image containerd has, or the Docker daemon has, under its ImageUri with the pinned id runs that image, logged"
	}
	log.Warn("this data directory last ran on the "+before.Runtime+" runtime, not "+rt.Name()+": its Image functions are pinned to "+
		before.Runtime+"'s image ids, which "+rt.Name()+"'s are not, so they may not run here (answered 503 naming the pin"+adopt+"). "+
		"Start Portico with --runtime "+before.Runtime+" again, or re-pin each with `portico fn update NAME --image URI` "+
		"(and publish the versions anew); "+before.Runtime+"'s sandboxes of the last run stay until a start on it removes them "+
		"(docs/runtimes.md#changing-a-data-directorys-runtime)", args...)
}

// runtimeRecordModule runs recordRuntime as the server is put together: the
// store is open (and locked: a second server on the directory was refused),
// and the invoker, not started yet, learns the former runtime before its
// first sandbox.
func runtimeRecordModule(dir string) fx.Option {
	return fx.Invoke(func(rt runtimes.Runtime, fns *functions.Service, inv *invoker.Invoker, log *slog.Logger) {
		recordRuntime(context.Background(), dir, rt, fns, inv, log.With("component", "runtimes"))
	})
}
