package apis

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/portico-dev/portico/store"
)

// MigrateThrottleUnset upgrades stored stages from schema version 1, whose
// method settings held 0/0 (and -1) for a throttle that was not set, to version
// 2, which leaves such a throttle out and reads 0 as a limit. Without it a
// version 1 entry made for other settings (metrics, caching) would throttle
// every request of its methods once read by this build. A throttle v1 enforced
// (any other pair) is kept as it was.
var MigrateThrottleUnset = store.Migration{From: 1, Name: "stage method settings: an unset throttle is left out, not 0/0", Run: migrateThrottleUnset}

// MigrateZeroBurst upgrades stored stages from schema version 2 to 3: a
// method (or route) setting with a rate above 0 and a burst of 0 has its
// burst left out. Builds before c118483 gave such a throttle a burst of its
// rate and served it; read as a bucket of 0 it throttled every request, an
// outage on upgrade. Left out, the burst is inherited ("*/*" or the default
// route settings, then the account's), so what was served still is. 0/0 and
// rate 0 with a burst are kept: they meant then what they mean now.
var MigrateZeroBurst = store.Migration{From: 2, Name: "stage method settings: a burst of 0 beside a rate is left out (inherited)", Run: migrateZeroBurst}

// MigrateWSResponseSelection moves a store from schema version 6 to 7, in
// which a WebSocket integration response (on APIs and deployments) keeps its
// templateSelectionExpression. Nothing stored before needs rewriting (a
// response without one selects by \$default, as before); an older build would
// drop the expression and answer with the wrong template, so it refuses the
// store.
var MigrateWSResponseSelection = store.Migration{From: 6, Name: "WebSocket integration responses keep their templateSelectionExpression",
	Run: func(*store.Tx) error { return nil }}

// MigrateModelText moves a store from schema version 7 to 8, in which an
// API's models (on APIs and deployments) keep their schemas' text as written
// (modelTexts), which get-model returns. Nothing stored before is rewritten
// (a model without one reads back compacted, as before); an older build would
// drop the texts, so it refuses the store.
var MigrateModelText = store.Migration{From: 7, Name: "models keep their schema text as written",
	Run: func(*store.Tx) error { return nil }}

// MigrateCORSMaxAgeZero moves a store from schema version 9 to 10, in which
// an HTTP API's corsConfiguration (on APIs and deployments) keeps a maxAge of
// 0 (sent as Access-Control-Max-Age: 0), where 9 read 0 as not set and left it
// out. Nothing stored before is rewritten (a configuration without maxAge
// still sends no header); an older build would read a stored 0 as not set and
// drop it, so it refuses the store.
var MigrateCORSMaxAgeZero = store.Migration{From: 9, Name: "HTTP API corsConfiguration keeps a maxAge of 0",
	Run: func(*store.Tx) error { return nil }}

// Migrations are the store migrations of this package's buckets, in order.
func Migrations() []store.Migration {
	return []store.Migration{MigrateThrottleUnset, MigrateZeroBurst, MigrateWSResponseSelection, MigrateModelText, MigrateCORSMaxAgeZero}
}

// migrateStages rewrites every stored stage whose method settings fix
// changes (fix reports whether it changed ms), and reports each entry to tx.
func migrateStages(tx *store.Tx, fix func(ms *MethodSetting) (how string, changed bool)) error {
	type change struct {
		key string
		st  Stage
	}
	var changed []change
	err := tx.ForEach(bucketStages, "", func(key string, raw []byte) error {
		var st Stage
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("stage %s: %w", key, err)
		}
		dirty := false
		for _, k := range slices.Sorted(maps.Keys(st.MethodSettings)) {
			ms := st.MethodSettings[k]
			if how, ok := fix(&ms); ok {
				st.MethodSettings[k], dirty = ms, true
				tx.Changed(fmt.Sprintf("stage %s method settings %q", key, k), how)
			}
		}
		if dirty {
			changed = append(changed, change{key, st})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the walk: bbolt's cursor must not see its bucket change.
	for _, c := range changed {
		if err := tx.Put(bucketStages, c.key, &c.st); err != nil {
			return err
		}
	}
	return nil
}

func migrateZeroBurst(tx *store.Tx) error {
	return migrateStages(tx, func(ms *MethodSetting) (string, bool) {
		b, r := ms.ThrottlingBurstLimit, ms.ThrottlingRateLimit
		if b == nil || *b != 0 || r == nil || *r <= 0 {
			return "", false
		}
		ms.ThrottlingBurstLimit = nil
		return fmt.Sprintf("throttle burst 0 beside rate %g (served with a burst of %g before c118483, every request throttled since) is now not set (-1): it is inherited from */* or the account", *r, *r), true
	})
}

func migrateThrottleUnset(tx *store.Tx) error {
	return migrateStages(tx, func(ms *MethodSetting) (string, bool) {
		before := fmt.Sprintf("%v/%v", deref(ms.ThrottlingBurstLimit), deref(ms.ThrottlingRateLimit))
		if !unsetV1Throttle(ms) {
			return "", false
		}
		return fmt.Sprintf("throttle burst/rate %s (schema 1: not set) is left out", before), true
	})
}

func deref[T any](p *T) any {
	if p == nil {
		return "-"
	}
	return *p
}

// unsetV1Throttle reads ms's throttle as version 1 did (0/0: not set; a
// negative value: no limit) and clears the fields that were not set; it
// reports whether it changed ms.
func unsetV1Throttle(ms *MethodSetting) bool {
	b, r := ms.ThrottlingBurstLimit, ms.ThrottlingRateLimit
	if b != nil && r != nil && *b == 0 && *r == 0 {
		ms.ThrottlingBurstLimit, ms.ThrottlingRateLimit = nil, nil
		return true
	}
	changed := false
	if b != nil && *b < 0 {
		ms.ThrottlingBurstLimit, changed = nil, true
	}
	if r != nil && *r < 0 {
		ms.ThrottlingRateLimit, changed = nil, true
	}
	return changed
}
