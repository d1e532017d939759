package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// This file holds the stack records behind `portico deploy`: one JSON document
// per stack naming the resources a SAM template made (function names, API ids)
// and what each was made from, so that the next deploy of the template can
// change only what changed and remove what the template no longer has. The
// server keeps the documents; the deploy client writes them.

// StackDeps are what the stack routes need; without a store they are left out.
type StackDeps struct {
	fx.In

	Store *store.Store `optional:"true"`
}

// stacksBucket is the bbolt bucket of stack records, keyed by stack name.
const stacksBucket = "stacks"

// stackNamePattern is CloudFormation's rule for stack names.
var stackNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)

// stackRecord is a stack as the server keeps it: the name is the server's, the
// rest is the deploy client's.
type stackRecord struct {
	Name string `json:"name"`
	// Template is where the template was read from, for people reading the record.
	Template string `json:"template,omitempty"`
	// Resources are the stack's resources by logical id, in the deploy client's shape.
	Resources map[string]json.RawMessage `json:"resources"`
}

// registerStackRoutes registers GET/PUT/DELETE /portico/v1/stacks/{name} and
// the listing.
func (s *Server) registerStackRoutes(d StackDeps) {
	if d.Store == nil {
		return
	}
	const p = "/portico/v1/stacks"
	st := d.Store
	s.Handle("GET "+p, func(w http.ResponseWriter, r *http.Request) error {
		out := []stackRecord{}
		err := st.View(r.Context(), func(tx *store.Tx) error {
			return tx.ForEach(stacksBucket, "", func(_ string, raw []byte) error {
				var rec stackRecord
				if err := json.Unmarshal(raw, &rec); err != nil {
					return err
				}
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
		err := st.View(r.Context(), func(tx *store.Tx) error { return tx.Get(stacksBucket, name, &rec) })
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
		var rec stackRecord
		if err := decodeJSON(w, r, porticoBody, &rec); err != nil {
			return err
		}
		if rec.Name != "" && rec.Name != name {
			return fmt.Errorf("the record names stack %q but the path names %q: %w", truncate(rec.Name, 140), name, errdefs.ErrInvalid)
		}
		rec.Name = name
		if rec.Resources == nil {
			rec.Resources = map[string]json.RawMessage{}
		}
		if err := st.Update(r.Context(), func(tx *store.Tx) error { return tx.Put(stacksBucket, name, rec) }); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, rec)
	})
	s.Handle("DELETE "+p+"/{name}", func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		return noContent(w, st.Update(r.Context(), func(tx *store.Tx) error {
			if !tx.Has(stacksBucket, name) {
				return fmt.Errorf("stack %q does not exist: %w", truncate(name, 140), errdefs.ErrNotFound)
			}
			return tx.Delete(stacksBucket, name)
		}))
	})
}
