// Package layers holds the test that keeps Portico's import graph pointing down
// (DESIGN.md, "Packages"): cmd above admin above gateway above connections above
// aliases above invoker above functions above runtimes above store, each
// runtime apart from the others, and internal/ below them all. It has no code of
// its own.
package layers
