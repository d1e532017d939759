//go:build !unix

package main

// processAlive reports whether process pid exists on this host; where that
// cannot be told cheaply it says yes, so a hold is never taken over wrongly.
func processAlive(int) bool { return true }
