package usage

import (
	"fmt"
	"maps"
	"slices"

	"github.com/portico-dev/portico/store"
)

// MigrateZeroBurst moves stored usage plans from schema version 2 to 3, in
// which a plan throttle's burst of 0 beside a rate above 0 is read as not set
// and inherited (see PlanLimit): builds before c118483 served such a plan with
// a burst of its rate, main from c118483 throttled every request of its keys.
// The records keep their numbers (API Gateway reads the burst back as 0); the
// migration reports each throttle whose meaning changed, and each plan record
// that does not decode, which it skips.
var MigrateZeroBurst = store.Migration{From: 2, Name: "usage plans: a burst of 0 beside a rate is read as not set (inherited)", Run: migrateZeroBurst}

// MigrateReservedCounts moves a store from schema version 5 to 6, in which a
// quota count record holds the count reserved ahead of use (Reserved and
// ReservedDay, see Counts), which a crash leaves above the count written.
// Nothing stored before needs rewriting (a record without it has nothing
// reserved); an older build would ignore the reservation after a crash and
// forget the requests it covered, so it refuses the store.
var MigrateReservedCounts = store.Migration{From: 5, Name: "usage counts: the count reserved ahead of use (kept across a crash)",
	Run: func(*store.Tx) error { return nil }}

// MigrateCountEpochs moves a store from schema version 8 to 9, in which a
// quota count record holds the generation of its last exact write (Epoch: an
// update-usage reset, a clean stop's), so that a reservation sized from the
// count before a reset, landing after it, is not written over it. Nothing
// stored before needs rewriting (a record without it is of generation 0); an
// older build would drop the generation and let such a reservation bring a
// reset count back after a crash, so it refuses the store.
var MigrateCountEpochs = store.Migration{From: 8, Name: "usage counts: the generation of the last reset (a reset is not undone by a reservation from before it)",
	Run: func(*store.Tx) error { return nil }}

// MigrateTags moves a store from schema version 10 to 11, in which API keys
// and usage plans keep their resource tags (create-api-key and
// create-usage-plan took tags and dropped them before). Nothing stored before
// needs rewriting (a record without tags has none); an older build would drop
// them on its next write of the record, so it refuses the store.
var MigrateTags = store.Migration{From: 10, Name: "API keys and usage plans: resource tags",
	Run: func(*store.Tx) error { return nil }}

// Migrations are the store migrations of this package's buckets, in order.
func Migrations() []store.Migration {
	return []store.Migration{MigrateZeroBurst, MigrateReservedCounts, MigrateCountEpochs, MigrateTags}
}

func migrateZeroBurst(tx *store.Tx) error {
	return tx.ForEach(bucketPlans, "", func(key string, raw []byte) error {
		var p Plan
		if err := jsonUnmarshal(raw, &p); err != nil {
			// One damaged record does not fail the upgrade (and the
			// server's start with it): it is left as it is and
			// reported (the store logs each report at WARN), and the
			// index leaves it out at load as it does any damaged plan.
			tx.Changed("usage plan "+key, fmt.Sprintf("its record does not decode (%v): left as it is and not migrated; "+
				"the server leaves the plan out, refusing its keys with 403, until it is deleted (%s) or portico.db is restored from a backup",
				err, DamagedDelete(bucketPlans, key)))
			return nil
		}
		note := func(where string, t Throttle) {
			if t.BurstLimit == 0 && t.RateLimit > 0 {
				tx.Changed(fmt.Sprintf("usage plan %s (%s) %s", p.ID, p.Name, where),
					fmt.Sprintf("throttle burst 0 beside rate %g (served with a burst of %g before c118483, every request of its keys throttled since) is read as not set: it is inherited from the plan or the account", t.RateLimit, t.RateLimit))
			}
		}
		if p.Throttle != nil {
			note("throttle", *p.Throttle)
		}
		for _, as := range p.APIStages {
			for _, m := range slices.Sorted(maps.Keys(as.Throttle)) {
				note(fmt.Sprintf("stage %s:%s method %s", as.APIID, as.Stage, m), as.Throttle[m])
			}
		}
		return nil
	})
}
