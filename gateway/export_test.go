package gateway

import "net/http"

// SetAnsweredHook makes f see each request whose function result was answered
// from the goroutine that read it (functionAnswer), until the test ends.
func SetAnsweredHook(t interface{ Cleanup(func()) }, f func(*http.Request)) {
	answeredHook.Store(&f)
	t.Cleanup(func() { answeredHook.Store(nil) })
}
