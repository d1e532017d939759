package admin

import (
	"io"
	"net/http"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/store"
)

// BackupDeps are the backup route's dependencies: without a store there is
// no route.
type BackupDeps struct {
	fx.In

	Store *store.Store `optional:"true"`
}

// registerBackupRoutes registers GET /portico/v1/backup: a consistent copy of
// the data directory's store and code artifacts, taken while the server
// serves (store.Backup), as a tar stream that unpacks into a data directory
// (`portico backup FILE`). A backup that fails part way is cut off (the
// connection closed without the stream's end), so that no client takes a
// short copy for a whole one.
func (s *Server) registerBackupRoutes(d BackupDeps) {
	if d.Store == nil {
		return
	}
	s.Handle("GET /portico/v1/backup", func(w http.ResponseWriter, r *http.Request) error {
		defer h1.CancelOnGone(w)() // the admin server does not read in the background
		timeout := s.streamWriteTimeout
		if timeout <= 0 {
			timeout = 2 * time.Minute
		}
		// A client that reads in bursts (curl --limit-rate pauses up to
		// about 2.4 s between reads) is still reading: a stop lets it
		// stall longer than a second (within --shutdown-timeout).
		h1.SetStopStall(w, min(timeout, backupStopStall))
		w.Header().Set("Content-Type", "application/x-tar")
		w.Header().Set("Content-Disposition", `attachment; filename="portico-backup.tar"`)
		bw := &deadlineWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
		if err := d.Store.Backup(r.Context(), bw, functions.ArtifactsDir); err != nil {
			if !bw.wrote {
				return err
			}
			select {
			case <-s.stopping:
				// A stop lets a backup whose client reads finish within
				// --shutdown-timeout; this one's client took none of it for
				// backupStopStall, or the timeout ended.
				s.log.Warn("backup cut off by the stop: its client has an incomplete archive", "err", err)
			default:
				if r.Context().Err() == nil {
					s.log.Error("backup failed part way; its stream is cut off", "err", err)
				}
			}
			panic(http.ErrAbortHandler)
		}
		return nil
	})
}

// backupStopStall is how long a backup's client may take none of the
// archive once a stop began before the download is cut off (other answers
// have a second): longer than the pauses of a rate-limited reader such as
// curl --limit-rate, and bounded by the stop's --shutdown-timeout.
const backupStopStall = 5 * time.Second

// deadlineWriter writes a long response, each write under a deadline of its
// own: a client that stops reading is let go, a slow one that keeps reading
// is not cut off. Not safe for concurrent use.
type deadlineWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
	wrote   bool
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.wrote = true
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout)) // a writer without deadlines: nothing to bound
	return d.w.Write(p)
}
