package mapping

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendFloatMatchesFormatFloat checks appendFloat's fast path for short
// decimals against formatFloat (strconv's shortest formatting) on decimals of
// up to 8 fractional digits, random doubles and the edges of the range.
func TestAppendFloatMatchesFormatFloat(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		if got, want := string(appendFloat(nil, f)), formatFloat(f); got != want {
			t.Fatalf("appendFloat(%v) = %q, formatFloat gives %q", f, got, want)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1e-3, 9.99e-4, 1e7, 9999999.999999, 1e7 - 1e-9, 0.1, 0.2, 0.3,
		1.5, 2, -2.25, 100.01, 0.001, 0.0011, 123456.789, 1.0000001, 0.1 + 0.2, math.NaN(), math.Inf(1), math.Inf(-1)} {
		check(f)
		check(-f)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		k := r.IntN(9)
		m := r.Int64N(int64(math.Pow10(k + 7)))
		f, err := strconv.ParseFloat(strconv.FormatInt(m, 10)+"e-"+strconv.Itoa(k), 64)
		if err != nil {
			t.Fatal(err)
		}
		check(f)
		check(-f)
		check(math.Float64frombits(r.Uint64()))
		check(r.Float64() * math.Pow10(r.IntN(12)-4))
	}
}
