package upgradetest_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/usage"
)

// TestUsageRangesIgnoreTheFixturesAge: the get-usage ranges the upgrade test
// asks for are the fixture's own recorded days and the days this build
// counted the replayed requests on, each a few days long however old the
// fixture is (get-usage refuses a range over usage.MaxUsageDays days, which
// one from a fixture's day to today would pass a year after it was made).
func TestUsageRangesIgnoreTheFixturesAge(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		name                            string
		fixStart, fixEnd, replay, today string
		want                            [][2]string
	}{
		{"a fixture made today", "2026-12-05", "2026-12-05", "2026-12-05", "2026-12-05",
			[][2]string{{"2026-12-05", "2026-12-05"}}},
		{"a fixture made today, the test past midnight", "2026-12-05", "2026-12-05", "2026-12-05", "2026-12-06",
			[][2]string{{"2026-12-05", "2026-12-05"}, {"2026-12-06", "2026-12-06"}}},
		{"a fixture of last week", "2026-11-28", "2026-11-28", "2026-12-05", "2026-12-05",
			[][2]string{{"2026-11-28", "2026-11-28"}, {"2026-12-05", "2026-12-05"}}},
		{"a fixture two years old", "2026-12-05", "2026-12-05", "2028-12-05", "2028-12-05",
			[][2]string{{"2026-12-05", "2026-12-05"}, {"2028-12-05", "2028-12-05"}}},
		{"a fixture two years old, the test past midnight", "2026-12-05", "2026-12-05", "2028-12-05", "2028-12-06",
			[][2]string{{"2026-12-05", "2026-12-05"}, {"2028-12-05", "2028-12-06"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := usageRanges(day(tc.fixStart), day(tc.fixEnd), day(tc.replay), day(tc.today))
			var gotS [][2]string
			for _, r := range got {
				gotS = append(gotS, [2]string{r[0].Format(time.DateOnly), r[1].Format(time.DateOnly)})
				if days := int(r[1].Sub(r[0]).Hours()/24) + 1; days > usage.MaxUsageDays {
					t.Errorf("a range of %d days (%v), which get-usage refuses", days, gotS)
				}
			}
			if !reflect.DeepEqual(gotS, tc.want) {
				t.Errorf("ranges %v, want %v", gotS, tc.want)
			}
		})
	}
}
