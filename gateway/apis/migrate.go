package apis

import (
	"encoding/json"
	"fmt"

	"github.com/portico-dev/portico/store"
)

// MigrateThrottleUnset upgrades stored stages from schema version 1, whose
// method settings held 0/0 (and -1) for a throttle that was not set, to version
// 2, which leaves such a throttle out and reads 0 as a limit. Without it a
// version 1 entry made for other settings (metrics, caching) would throttle
// every request of its methods once read by this build. A throttle v1 enforced
// (any other pair) is kept as it was.
var MigrateThrottleUnset = store.Migration{From: 1, Name: "stage method settings: an unset throttle is left out, not 0/0", Run: migrateThrottleUnset}

// Migrations are the store migrations of this package's buckets, in order.
func Migrations() []store.Migration { return []store.Migration{MigrateThrottleUnset} }

func migrateThrottleUnset(tx *store.Tx) error {
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
		for k, ms := range st.MethodSettings {
			if unsetV1Throttle(&ms) {
				st.MethodSettings[k], dirty = ms, true
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
