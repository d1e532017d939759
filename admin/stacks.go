package admin

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// This file holds the stack records behind `portico deploy`: one JSON document
// per stack naming the resources a SAM template made (function names, API ids)
// and what each was made from, so that the next deploy of the template can
// change only what changed and remove what the template no longer has. The
// server keeps the documents; the deploy client writes them.
//
// A deploy holds its stack while it runs (POST .../{name}/hold), as
// CloudFormation refuses an update while a stack is UPDATE_IN_PROGRESS: a
// second deploy of the stack is refused until the first releases it (DELETE
// .../{name}/hold?id=). A record is written only by the run that holds the
// stack (PUT ...?hold=ID), and only over the revision that run read
// (?revision=N), so two runs never overwrite each other's record. A hold
// that its run left behind (killed, crashed) is cleared by DELETE without an
// id (`portico stack unlock NAME`), or taken over by a POST that names it
// (replaces), which portico deploy sends when the hold's process on its own
// host is no longer running.

// StackDeps are what the stack routes need; without a store they are left out.
type StackDeps struct {
	fx.In

	Store *store.Store `optional:"true"`
}

// stacksBucket is the bbolt bucket of stack records, keyed by stack name;
// stackHoldsBucket that of the holds of deploys in progress.
const (
	stacksBucket     = "stacks"
	stackHoldsBucket = "stack-holds"
)

// stackNamePattern is CloudFormation's rule for stack names.
var stackNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)

// stackRecord is a stack as the server keeps it: the name and revision are
// the server's, the rest is the deploy client's.
type stackRecord struct {
	Name string `json:"name"`
	// Revision counts the record's writes: a write may name the revision it
	// replaces (?revision=N), and is refused when another write came first.
	Revision int64 `json:"revision"`
	// Template is where the template was read from, for people reading the record.
	Template string `json:"template,omitempty"`
	// Resources are the stack's resources by logical id, in the deploy client's shape.
	Resources map[string]json.RawMessage `json:"resources"`
	// Deploying is the hold of the deploy in progress, if one is (not stored
	// with the record).
	Deploying *stackHold `json:"deploying,omitempty"`
}

// stackHold is a deploy in progress on a stack.
type stackHold struct {
	// ID is the hold's token; only its run writes the record while it holds.
	ID string `json:"id,omitempty"`
	// By says which run holds it, as the run described itself (host, process).
	By      string    `json:"by,omitempty"`
	Started time.Time `json:"started"`
}

// stackBusy is the error of a request on a stack another run holds.
func stackBusy(name string, h *stackHold) error {
	by := ""
	if h.By != "" {
		by = " (" + truncate(h.By, 200) + ")"
	}
	return fmt.Errorf("stack %s is being deployed by another run%s since %s; try again when it finishes. "+
		"If that run is gone (killed or crashed), clear its hold with `portico stack unlock %s`: %w",
		name, by, h.Started.UTC().Format(time.RFC3339), name, errdefs.ErrConflict)
}

// checkHold refuses a write of the record of stack name unless no run holds
// the stack or the request names the hold (?hold=ID), and a request naming a
// hold that is no longer there.
func checkHold(tx *store.Tx, name string, r *http.Request) error {
	var h stackHold
	err := tx.Get(stackHoldsBucket, name, &h)
	held := err == nil
	if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	id := r.URL.Query().Get("hold")
	switch {
	case held && id != h.ID:
		return stackBusy(name, &h)
	case !held && id != "":
		return fmt.Errorf("this run's hold on stack %s was cleared (portico stack unlock) while it ran, so its record is not written: %w",
			name, errdefs.ErrConflict)
	}
	return nil
}

// registerStackRoutes registers GET/PUT/DELETE /portico/v1/stacks/{name},
// the listing, and GET/POST/DELETE /portico/v1/stacks/{name}/hold.
func (s *Server) registerStackRoutes(d StackDeps) {
	if d.Store == nil {
		return
	}
	const p = "/portico/v1/stacks"
	st := d.Store
	holdOf := func(tx *store.Tx, name string) *stackHold {
		var h stackHold
		if tx.Get(stackHoldsBucket, name, &h) != nil {
			return nil
		}
		h.ID = "" // the token is its run's
		return &h
	}
	s.Handle("GET "+p, func(w http.ResponseWriter, r *http.Request) error {
		out := []stackRecord{}
		err := st.View(r.Context(), func(tx *store.Tx) error {
			return tx.ForEach(stacksBucket, "", func(_ string, raw []byte) error {
				var rec stackRecord
				if err := json.Unmarshal(raw, &rec); err != nil {
					return err
				}
				rec.Deploying = holdOf(tx, rec.Name)
				out = append(out, rec)
				return nil
			})
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, items(out))
	})
	s.Handle("GET "+p+"/{name}", func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		var rec stackRecord
		err := st.View(r.Context(), func(tx *store.Tx) error {
			if err := tx.Get(stacksBucket, name, &rec); err != nil {
				return err
			}
			rec.Deploying = holdOf(tx, name)
			return nil
		})
		if errors.Is(err, errdefs.ErrNotFound) {
			return fmt.Errorf("stack %q does not exist: %w", truncate(name, 140), errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("stack %q: %w", truncate(name, 140), err)
		}
		return writeJSON(w, http.StatusOK, rec)
	})
	s.Handle("PUT "+p+"/{name}", func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		if !stackNamePattern.MatchString(name) {
			return fmt.Errorf("stack name %q must start with a letter and hold only letters, digits and hyphens (at most 128): %w", truncate(name, 140), errdefs.ErrInvalid)
		}
		var want *int64
		if v := r.URL.Query().Get("revision"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("revision %q must be a whole number (0: the stack has no record yet): %w", truncate(v, 40), errdefs.ErrInvalid)
			}
			want = &n
		}
		var rec stackRecord
		if err := decodeJSON(w, r, porticoBody, &rec); err != nil {
			return err
		}
		if rec.Name != "" && rec.Name != name {
			return fmt.Errorf("the record names stack %q but the path names %q: %w", truncate(rec.Name, 140), name, errdefs.ErrInvalid)
		}
		rec.Name, rec.Deploying = name, nil
		if rec.Resources == nil {
			rec.Resources = map[string]json.RawMessage{}
		}
		err := st.Update(r.Context(), func(tx *store.Tx) error {
			if err := checkHold(tx, name, r); err != nil {
				return err
			}
			var cur stackRecord
			if err := tx.Get(stacksBucket, name, &cur); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
				return err
			}
			if want != nil && *want != cur.Revision {
				return fmt.Errorf("stack %s changed since this run read it (revision %d, now %d): another run wrote it; deploy again to plan against what it holds now: %w",
					name, *want, cur.Revision, errdefs.ErrPrecondition)
			}
			rec.Revision = cur.Revision + 1
			return tx.Put(stacksBucket, name, rec)
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, rec)
	})
	s.Handle("DELETE "+p+"/{name}", func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		return noContent(w, st.Update(r.Context(), func(tx *store.Tx) error {
			if err := checkHold(tx, name, r); err != nil {
				return err
			}
			if !tx.Has(stacksBucket, name) {
				return fmt.Errorf("stack %q does not exist: %w", truncate(name, 140), errdefs.ErrNotFound)
			}
			return tx.Delete(stacksBucket, name)
		}))
	})
	s.Handle("POST "+p+"/{name}/hold", func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		if !stackNamePattern.MatchString(name) {
			return fmt.Errorf("stack name %q must start with a letter and hold only letters, digits and hyphens (at most 128): %w", truncate(name, 140), errdefs.ErrInvalid)
		}
		var in struct {
			By string `json:"by"`
			// Replaces, when set, is a hold the caller found its run gone
			// from (a dead process on the caller's host): the new hold
			// takes its place if it is still that one, in one step, so
			// that two runs finding it cannot both take the stack.
			Replaces *stackHold `json:"replaces"`
		}
		if r.ContentLength != 0 {
			if err := decodeJSON(w, r, porticoBody, &in); err != nil {
				return err
			}
		}
		h := stackHold{ID: rand.Text(), By: truncate(in.By, 200), Started: s.clock()().UTC()}
		err := st.Update(r.Context(), func(tx *store.Tx) error {
			var cur stackHold
			switch err := tx.Get(stackHoldsBucket, name, &cur); {
			case err == nil && in.Replaces != nil && in.Replaces.By == cur.By && in.Replaces.Started.Equal(cur.Started):
				// The gone run's hold, as the caller saw it: taken over.
			case err == nil:
				return stackBusy(name, &cur)
			case !errors.Is(err, errdefs.ErrNotFound):
				return err
			}
			return tx.Put(stackHoldsBucket, name, h)
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, h)
	})
	s.Handle("GET "+p+"/{name}/hold", func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		var h *stackHold
		if err := st.View(r.Context(), func(tx *store.Tx) error { h = holdOf(tx, name); return nil }); err != nil {
			return err
		}
		if h == nil {
			return fmt.Errorf("stack %q is not held: %w", truncate(name, 140), errdefs.ErrNotFound)
		}
		return writeJSON(w, http.StatusOK, h)
	})
	s.Handle("DELETE "+p+"/{name}/hold", func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		id := r.URL.Query().Get("id")
		var cleared *stackHold
		err := st.Update(r.Context(), func(tx *store.Tx) error {
			var cur stackHold
			switch err := tx.Get(stackHoldsBucket, name, &cur); {
			case errors.Is(err, errdefs.ErrNotFound):
				return nil // released already (or cleared)
			case err != nil:
				return err
			case id != "" && id != cur.ID:
				return stackBusy(name, &cur)
			}
			cur.ID = ""
			cleared = &cur
			return tx.Delete(stackHoldsBucket, name)
		})
		if err != nil {
			return err
		}
		if cleared == nil {
			return noContent(w, nil)
		}
		return writeJSON(w, http.StatusOK, cleared)
	})
}
