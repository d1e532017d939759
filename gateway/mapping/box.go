package mapping

import "unsafe"

// Boxing a string, an int64 (from 256) or a float64 into an interface
// allocates a copy of it on the heap, one allocation per value: a decoded
// document of a few hundred strings and numbers costs a few hundred
// allocations. The decoder instead stores them in slabs and makes interfaces
// that point into them. An interface value is never written through, and a
// slab is not written again while a value points into it (a render's slabs
// are reused only when no value read from them can outlive the render: see
// state.keep and state.escaped), so the result is an ordinary, immutable
// interface value.

// eface is the runtime's layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

var (
	stringType  = typeWord(any(""))
	float64Type = typeWord(any(float64(0)))
	int64Type   = typeWord(any(int64(0)))
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

// boxInt returns *p as an interface without copying it; *p must not
// change afterwards.
func boxInt(p *int64) any { return boxAt(int64Type, unsafe.Pointer(p)) } //nolint:gosec // audited (see above)

// boxAt makes an interface of type typ whose value is at data.
func boxAt(typ, data unsafe.Pointer) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v)) //nolint:gosec // audited: an interface built from its two words (see above)
	e.typ, e.data = typ, data
	return v
}
