package containerd

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	clog "github.com/containerd/log"
)

// clientLog is where routeClientLog sends what containerd's client library
// logs.
var (
	clientLog     atomic.Pointer[slog.Logger]
	clientLogOnce sync.Once
)

// routeClientLog sends what containerd's client library logs (through
// containerd/log's standard logrus logger: `level=info msg="fetch failed"` of
// a pull) to log, in Portico's format, instead of logrus' text on stderr: its
// errors and warnings at their levels, the rest at debug (a failed pull's
// cause is in the error the caller gets). The logger is the process's; the
// last runtime made logs it.
func routeClientLog(log *slog.Logger) {
	clientLog.Store(log)
	clientLogOnce.Do(func() {
		std := clog.L.Logger
		std.SetOutput(io.Discard)
		std.AddHook(slogHook{})
	})
}

// slogHook is a logrus hook that logs each entry through clientLog.
type slogHook struct{}

// Levels implements logrus.Hook: every level.
func (slogHook) Levels() []clog.Level {
	return []clog.Level{clog.PanicLevel, clog.FatalLevel, clog.ErrorLevel, clog.WarnLevel, clog.InfoLevel, clog.DebugLevel, clog.TraceLevel}
}

// Fire implements logrus.Hook.
func (slogHook) Fire(e *clog.Entry) error {
	log := clientLog.Load()
	if log == nil {
		return nil
	}
	level := slog.LevelDebug
	switch {
	case e.Level <= clog.ErrorLevel:
		level = slog.LevelError
	case e.Level == clog.WarnLevel:
		level = slog.LevelWarn
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]any, 0, 2*len(keys)+2)
	attrs = append(attrs, "from", "containerd client")
	for _, k := range keys {
		v := e.Data[k]
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		attrs = append(attrs, k, v)
	}
	log.Log(context.Background(), level, e.Message, attrs...)
	return nil
}
