package runtimes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// RecordFile is the file in a data directory that names the runtime it last
// ran on (see RecordRuntime).
const RecordFile = "runtime.json"

// Record is what RecordFile holds: the runtime a data directory runs on, and
// the one it ran on before it changed, if it did.
type Record struct {
	// Runtime is the runtime of the last start: "process", "docker", "containerd".
	Runtime string `json:"Runtime"`
	// Former is the runtime it ran on before Runtime, "" when it never changed.
	Former string `json:"Former,omitempty"`
	// Changed is when it changed from Former to Runtime.
	Changed time.Time `json:"Changed,omitzero"`
}

// RecordRuntime notes in the data directory dir that it runs on name from
// now on, and returns the record as it was (a zero Record at a first start,
// or where an older Portico left none) and as it is now. An Image function's
// pin is the image id of the runtime it was resolved on (Docker's is its
// configuration's digest, containerd's its manifest's), so a data directory
// started on the other runtime finds none of its pins: the caller warns,
// and the record's Former lets an ImageGoneError say why and what to do. A
// start on the same runtime keeps Former.
func RecordRuntime(dir, name string, now time.Time) (before, after Record, err error) {
	path := filepath.Join(dir, RecordFile)
	b, err := os.ReadFile(path) //nolint:gosec // G304: the data directory's own file
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &before); err != nil {
			// Unreadable: overwritten, as if absent (it is only a hint).
			before = Record{}
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return Record{}, Record{}, fmt.Errorf("reading %s: %w", path, err)
	}
	after = before
	if before.Runtime != name {
		after = Record{Runtime: name}
		if before.Runtime != "" {
			after.Former, after.Changed = before.Runtime, now.UTC()
		}
	}
	if after == before {
		return before, after, nil
	}
	out, err := json.Marshal(after)
	if err != nil {
		return before, after, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o600); err != nil {
		return before, after, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return before, after, fmt.Errorf("writing %s: %w", path, err)
	}
	return before, after, nil
}
