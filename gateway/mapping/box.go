package mapping

import "unsafe"

// Boxing a string or a float64 into an interface allocates a copy of it on
// the heap, one allocation per value: a decoded document of a few hundred
// strings and numbers costs a few hundred allocations. The decoder instead
// stores its strings and floats in slabs (one allocation per slabSize
// values) and makes interfaces that point into them. An interface value is
// never written through, and the slabs are never written again once a
// value is boxed, so the result is an ordinary, immutable interface value;
// the slab stays alive as long as any value points into it.

// eface is the runtime's layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

var (
	stringType  = typeWord(any(""))
	float64Type = typeWord(any(float64(0)))
)

func typeWord(v any) unsafe.Pointer {
	return (*eface)(unsafe.Pointer(&v)).typ //nolint:gosec // audited: reads the type word of an interface (see above)
}

// boxString returns *p as an interface without copying it; *p must not
// change afterwards.
func boxString(p *string) any { return boxAt(stringType, unsafe.Pointer(p)) } //nolint:gosec // audited (see above)

// boxFloat returns *p as an interface without copying it; *p must not
// change afterwards.
func boxFloat(p *float64) any { return boxAt(float64Type, unsafe.Pointer(p)) } //nolint:gosec // audited (see above)

// boxAt makes an interface of type typ whose value is at data.
func boxAt(typ, data unsafe.Pointer) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v)) //nolint:gosec // audited: an interface built from its two words (see above)
	e.typ, e.data = typ, data
	return v
}
