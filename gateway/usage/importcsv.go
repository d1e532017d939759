package usage

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// ImportKeys creates keys from AWS's CSV format: a header row naming the
// columns (case does not matter) Name, Key, Description, Enabled,
// UsagePlanIds and CustomerId, of which Key (the value) is required; then one
// row per key. Enabled is true or false (default false); UsagePlanIds lists
// plans to attach the key to, separated by commas or semicolons. A row may
// leave out its last columns, not have more than the header. Every row is
// checked first and all keys are created in one transaction, or none is.
func (s *Service) ImportKeys(ctx context.Context, data []byte) ([]*APIKey, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, invalid("Invalid CSV: a header row (Name,Key,Description,Enabled,UsagePlanIds) is required")
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "name", "key", "description", "enabled", "usageplanids", "customerid":
			if _, dup := col[h]; dup {
				return nil, invalid("Invalid CSV header: column %q appears twice", header[i])
			}
			col[h] = i
		default:
			return nil, invalid("Invalid CSV header: unknown column %q", header[i])
		}
	}
	if _, ok := col["key"]; !ok {
		return nil, invalid("Invalid CSV header: the Key column is required")
	}
	var keys []*APIKey
	plans := map[*APIKey][]string{}
	lines := map[*APIKey]int{}
	byValue := map[string]int{} // a key value -> the line it is first on
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalid("Invalid CSV at line %d: %v", line, err)
		}
		if len(rec) > len(header) {
			return nil, invalid("Invalid CSV at line %d: %d cells where the header has %d columns; a value with a comma in it must be in double quotes (\"First, customer\")", line, len(rec), len(header))
		}
		cell := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		field := func(name string) string { return strings.TrimSpace(cell(name)) }
		// The value as the cell holds it: a space the CSV quotes (or leaves
		// after it) is refused as create-api-key refuses it, not trimmed
		// away (the reader drops the blanks before an unquoted cell).
		value := cell("key")
		in := KeyInput{Name: field("name"), Description: field("description"), Value: &value, CustomerID: field("customerid")}
		if v := field("enabled"); v != "" {
			b, err := strconv.ParseBool(strings.ToLower(v))
			if err != nil {
				return nil, invalid("Invalid CSV at line %d: Enabled must be true or false", line)
			}
			in.Enabled = &b
		}
		k, err := s.newKey(in)
		if err != nil {
			return nil, invalid("Invalid CSV at line %d: %v", line, err)
		}
		if first, dup := byValue[value]; dup {
			return nil, conflict(fmt.Sprintf("Invalid CSV: lines %d and %d have the same Key value (each key's value must be unique)", first, line))
		}
		byValue[value] = line
		lines[k] = line
		plans[k] = strings.FieldsFunc(field("usageplanids"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, invalid("Invalid CSV: no keys to import")
	}
	err = s.update(ctx, func(tx *store.Tx) error {
		// Each plan the file names is read once and written once, with all
		// its new keys. The keys are new, so no other plan holds them: the
		// one-plan-per-stage rule can only be broken by two plans on one
		// line, which is checked here without reading any other plan.
		named := map[string]*Plan{}
		var order []*Plan
		for _, k := range keys {
			if err := putNewKey(tx, k); err != nil {
				if errors.Is(err, errdefs.ErrConflict) {
					return conflict(fmt.Sprintf("API Key already exists: the Key value at CSV line %d is another API key's", lines[k]))
				}
				return err
			}
			onStage := map[string]*Plan{} // "apiId/stage" -> the plan of this line covering it
			for _, pid := range plans[k] {
				p := named[pid]
				if p == nil {
					p = new(Plan)
					if err := getPlan(tx, pid, p); err != nil {
						if errors.Is(err, errdefs.ErrNotFound) {
							return notFound(fmt.Sprintf("Invalid Usage Plan ID specified: %s (UsagePlanIds at CSV line %d)", pid, lines[k]))
						}
						return err
					}
					named[pid] = p
					order = append(order, p)
				}
				if n := len(p.KeyIDs); n > 0 && p.KeyIDs[n-1] == k.ID {
					continue // the plan is named twice on the line
				}
				for _, as := range p.APIStages {
					if q := onStage[as.APIID+"/"+as.Stage]; q != nil {
						return conflict(fmt.Sprintf("Invalid CSV at line %d: a key cannot be in both usage plan %s and usage plan %s, which both cover API stage %s:%s (a key is in at most one plan per API stage)", lines[k], q.ID, p.ID, as.APIID, as.Stage))
					}
					onStage[as.APIID+"/"+as.Stage] = p
				}
				p.KeyIDs = append(p.KeyIDs, k.ID)
			}
		}
		for _, p := range order {
			sort.Strings(p.KeyIDs)
			if err := tx.Put(bucketPlans, p.ID, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}
