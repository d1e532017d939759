package usage

import (
	"testing"
	"time"

	"github.com/portico-dev/portico/store"
)

// BenchmarkTake is a key's quota count under load on the wall clock (so that
// the reservation block follows the real rate), with reservations written to
// a real store: a quota that the run never reaches (the block is the rate's),
// and one of 1,000,000 a day (the block is capped by the quota).
func BenchmarkTake(b *testing.B) {
	for _, tc := range []struct {
		name  string
		limit int64
	}{
		{"large-quota", 1 << 62},
		{"quota-1e6", 1_000_000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st, err := store.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = st.Close() }()
			cs := NewCounts(st, nil)
			q := &Quota{Limit: tc.limit, Period: PeriodDay}
			c := cs.Counter("p", "k")
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Take(time.Now(), q); err != nil {
						b.Error(err)
						return
					}
				}
			})
			cs.settle()
		})
	}
}
