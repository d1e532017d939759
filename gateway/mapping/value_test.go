package mapping

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
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

// TestDecodeNumbersMatchStrconv checks the decoder's fast path for short
// decimals against strconv.ParseFloat.
func TestDecodeNumbersMatchStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	texts := []string{"0.0", "-0.0", "1.5", "-2.25", "0.1", "123456789012.345", "9007199254740.993", "999999999999999.9", "1.0000000000000002", "1e3", "-1.5E-7"}
	for range 100000 {
		frac := 1 + r.IntN(12)
		digits := strconv.FormatInt(r.Int64N(1_000_000_000_000_000), 10)
		if len(digits) <= frac {
			digits = "0." + strings.Repeat("0", frac-len(digits)) + digits
		} else {
			digits = digits[:len(digits)-frac] + "." + digits[len(digits)-frac:]
		}
		if r.IntN(2) == 0 {
			digits = "-" + digits
		}
		texts = append(texts, digits)
	}
	for _, text := range texts {
		v, err := decodeJSON([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.ParseFloat(text, 64)
		if got, ok := v.(float64); !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("decoding %s gives %v (%T), strconv gives %v", text, v, v, want)
		}
	}
}
