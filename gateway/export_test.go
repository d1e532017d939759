package gateway

import "net/http"

// SetAnsweredHook makes f see each request whose function result was answered
// from the goroutine that read it (functionAnswer), until the test ends.
func SetAnsweredHook(t interface{ Cleanup(func()) }, f func(*http.Request)) {
	answeredHook.Store(&f)
	t.Cleanup(func() { answeredHook.Store(nil) })
}

// SetWebSocketAnsweredHook makes f see the connection id of each message whose
// function result was answered from the goroutine that read it (wsAnswer),
// until the test ends.
func SetWebSocketAnsweredHook(t interface{ Cleanup(func()) }, f func(connectionID string)) {
	wsAnsweredHook.Store(&f)
	t.Cleanup(func() { wsAnsweredHook.Store(nil) })
}
