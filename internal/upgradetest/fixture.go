// Package upgradetest holds data directories that earlier Portico builds wrote,
// with what those builds answered, and the test that starts the current code on
// each of them (upgrade_test.go).
//
// A fixture is testdata/REV: data.tar.gz (the stopped build's data directory:
// portico.db and the code blobs) and golden.json (a Golden). mkfixture makes
// one: `go run ./internal/upgradetest/mkfixture REV` (see its doc comment).
//
// Which fixtures are kept and when one may be retired is docs/operations.md's
// (Upgrading): in short, a fixture never ages out (the test depends neither on
// the day it was recorded nor on today's), and is retired only with the
// migration from its schema, or for a later build's fixture of the same schema
// that checks all it did.
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

	// IAM is the IAM user whose key signs the requests marked Auth "sigv4",
	// when the old build had IAM. Its secret is sealed in the store under the
	// key file that lives beside the data directory, not in it: the fixture
	// keeps it as IAMKeyFile (testdata/REV/iam-key), which the test puts
	// beside the unpacked data directory.
	IAM *IAMUser `json:"iam,omitempty"`
	// JWT is the issuer the old build's JWT authorizer trusts, when it had
	// one: the test serves it at the same address and mints tokens for the
	// requests marked Auth "jwt".
	JWT *Issuer `json:"jwt,omitempty"`
	// TLSURL is the old build's TLS listener (https://host:port), when it
	// served one: the data directory's tls/ holds the development CA that
	// signs its custom domains' certificates. Requests marked TLS go to it.
	TLSURL string `json:"tlsURL,omitempty"`
}

// IAMKeyFile is the name, in a fixture's directory, of the key file that
// sealed the IAM secrets (the server's DATA-DIR.iam-key).
const IAMKeyFile = "iam-key"

// IAMUser is an IAM user and its access key.
type IAMUser struct {
	User            string `json:"user"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
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
	// Auth signs the request when it is sent, as its client would:
	// "sigv4" with the Golden's IAM key (execute-api), "jwt" with a fresh
	// token of the Golden's issuer in Authorization.
	Auth string `json:"auth,omitempty"`
	// TLS sends the request to the TLS listener (Golden.TLSURL), its Host
	// as the server name.
	TLS bool `json:"tls,omitempty"`

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
