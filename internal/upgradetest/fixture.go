// Package upgradetest holds data directories that earlier Portico builds wrote,
// with what those builds answered, and the test that starts the current code on
// each of them (upgrade_test.go).
//
// A fixture is testdata/REV: data.tar.gz (the stopped build's data directory:
// portico.db and the code blobs) and golden.json (a Golden). mkfixture makes
// one: `go run ./internal/upgradetest/mkfixture REV` (see its doc comment).
package upgradetest

// Golden is what an old build answered, recorded by mkfixture beside the data
// directory it left.
type Golden struct {
	// Rev is the commit the build was made from, Schema its store schema.
	Rev    string `json:"rev"`
	Schema int    `json:"schema"`
	// AdminURL and GatewayURL are the old server's base URLs; answers name
	// them where they hold a URL (a function's code location).
	AdminURL   string `json:"adminURL"`
	GatewayURL string `json:"gatewayURL"`
	// UsageKey is the API key whose usage the get-usage readback reports.
	UsageKey string `json:"usageKey"`
	// Skipped are the steps of the configuration the old build refused (a
	// feature it did not have yet), with its answer.
	Skipped []string `json:"skipped,omitempty"`
	// Readbacks are admin API GETs and their answers, after the
	// configuration was made and the requests were sent.
	Readbacks []Exchange `json:"readbacks"`
	// Requests are gateway requests (and Lambda invokes on the admin API,
	// Admin set) and their answers, in order.
	Requests []Exchange `json:"requests"`
	// QueuedEvent is an Event invocation the old build had queued, not run,
	// when it stopped: its function took no calls (reserved concurrency 0).
	QueuedEvent QueuedEvent `json:"queuedEvent"`
	// Rollback is a stage to roll back to an older deployment, and what
	// that deployment answered.
	Rollback Rollback `json:"rollback"`
}

// Exchange is one request and its answer.
type Exchange struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Host   string `json:"host,omitempty"`
	// Admin sends the request to the admin API instead of the gateway.
	Admin   bool              `json:"admin,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	// WebSocket, when set, makes Path a WebSocket URL path: the answer is
	// the handshake's status, then one frame per message sent.
	WebSocket []string `json:"webSocket,omitempty"`

	// Want are the names of answer headers to record (and compare).
	Want []string `json:"want,omitempty"`

	Status int `json:"status"`
	// Header holds the answer's headers that Want names (a missing one as "").
	Header map[string]string `json:"header,omitempty"`
	// Answer is the answer's body; JSON when it parses as JSON.
	Answer any `json:"answer"`
	// Frames are the answers to WebSocket messages.
	Frames []string `json:"frames,omitempty"`
}

// Rollback is an API's stage that was moved from Deployment to a newer one,
// with requests as Deployment answered them.
type Rollback struct {
	API        string     `json:"api"`
	Stage      string     `json:"stage"`
	Deployment string     `json:"deployment"`
	Requests   []Exchange `json:"requests"`
}

// QueuedEvent is an Event invocation of Function whose payload holds Marker,
// which the function prints to its log when it runs.
type QueuedEvent struct {
	Function string `json:"function"`
	Marker   string `json:"marker"`
}
