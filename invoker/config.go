package invoker

import (
	"runtime"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/listener"
)

// Config holds the invoker's limits; zero fields take the defaults in DefaultConfig.
type Config struct {
	// AccountConcurrency caps concurrent invocations across all functions (1000).
	// Functions' reserved concurrency is set aside from it; the functions
	// without a reservation share the rest, which reservations may not bring
	// under MinUnreserved (slots.go).
	AccountConcurrency int
	// ThrottleWait is how long a call at a concurrency limit waits for a slot
	// before failing as throttled (100 ms).
	ThrottleWait time.Duration
	// QueueWait bounds how long a call without a caller timeout (a direct
	// Invoke, an Event invocation) waits for a sandbox of its version to come
	// free (10 s); past it the call fails as throttled (429
	// TooManyRequestsException, ConcurrentInvocationLimitExceeded), as Lambda
	// throttles rather than queueing. A call with a caller timeout
	// (Request.Timeout, an API's integration timeout) waits until that
	// deadline instead, which counts from the call, queueing included.
	QueueWait time.Duration
	// IdleTimeout is how long an idle sandbox is kept warm (10 min).
	IdleTimeout time.Duration
	// InitTimeout bounds a sandbox's init: start to its first call to next (10 s).
	InitTimeout time.Duration
	// StopGrace is the time between SIGTERM and SIGKILL (2 s).
	StopGrace time.Duration
	// MaxPayload bounds synchronous request payloads (6 MiB); responses may
	// be 100 bytes larger, as Lambda's (6,291,556 bytes).
	MaxPayload int
	// MaxAsyncPayload bounds Event invocation payloads (1 MiB, Invoke's
	// current limit; 256 KB is only the deprecated InvokeAsync operation's).
	MaxAsyncPayload int
	// AsyncRetryDelays are the waits before each retry of a failed Event
	// invocation (1 min, 2 min): two retries, as Lambda makes.
	AsyncRetryDelays []time.Duration
	// DrainTimeout bounds how long shutdown waits for in-flight invocations
	// (10 s), from the start of the stop (BeginDrain).
	DrainTimeout time.Duration
	// LogBytesPerFunction bounds each function's kept log (8 MB, as two files).
	LogBytesPerFunction int64
	// MaxSpares caps the sandboxes prepared ahead of need across all versions
	// (16; 0 or less: none). Where the runtime can prepare sandboxes, each
	// version being called keeps one spare; at the cap the least recently used
	// version's spare gives way.
	MaxSpares int
	// MaxSandboxes caps the sandboxes running at once across all functions and
	// versions (256; less than 0: no cap). At the cap the least recently used
	// idle sandbox is stopped to make room; when none is idle a call waits for
	// one of its version's own sandboxes to come back, or, when the version has
	// none, waits ThrottleWait, then fails as throttled.
	MaxSandboxes int
	// MaxMemoryMB caps the sum of the memory sizes of the running sandboxes
	// (three quarters of the host's memory; less than 0: no cap), as
	// MaxSandboxes caps their count.
	MaxMemoryMB int64
	// UnusedIdleTimeout is how long an idle sandbox of a version that nothing
	// uses (see InUse) is kept warm (60 s). Never longer than IdleTimeout.
	UnusedIdleTimeout time.Duration
	// MaxStarting caps the sandboxes of one version in init at once (twice the
	// host's CPUs, at least 4). Callers beyond it wait for the first sandbox to
	// come free, a new one or one returning from its call, instead of each
	// starting one: a burst of a few hundred callers would otherwise start a few
	// hundred processes at once, and on a small host their inits starve one
	// another and the warm sandboxes' calls past their timeouts.
	MaxStarting int
	// Listener is the gateway listener's limits (`listener:`): a sandbox's
	// Runtime API endpoint bounds a request's header block by their
	// MaxHeaderBytes and HeaderTimeout, as the gateway's listeners do. Zero
	// fields take listener.DefaultLimits.
	Listener listener.Limits
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		AccountConcurrency:  1000,
		ThrottleWait:        100 * time.Millisecond,
		QueueWait:           10 * time.Second,
		IdleTimeout:         10 * time.Minute,
		InitTimeout:         10 * time.Second,
		StopGrace:           2 * time.Second,
		MaxPayload:          6 << 20,
		MaxAsyncPayload:     1 << 20,
		AsyncRetryDelays:    []time.Duration{time.Minute, 2 * time.Minute},
		DrainTimeout:        10 * time.Second,
		LogBytesPerFunction: 8 << 20,
		MaxSpares:           16,
		MaxSandboxes:        256,
		MaxStarting:         max(4, 2*runtime.NumCPU()),
		MaxMemoryMB:         hostMemoryMB() * 3 / 4,
		UnusedIdleTimeout:   time.Minute,
	}
}

// Request is one synchronous invocation of a resolved version.
type Request struct {
	// Function is the version to run (from aliases.Service.Resolve).
	Function *functions.Config
	// Payload is the event, JSON.
	Payload []byte
	// Timeout, when non-zero, is the caller's deadline (an API integration
	// timeout), counted from the call to Invoke: the wait for a concurrency
	// slot and a sandbox takes from it. A call still waiting for a sandbox at
	// the deadline fails with errdefs.ErrTimeout; for one running then, the
	// caller gets a Result with TimedOut and CallerTimeout set, and the
	// invocation runs on to its own end (its function timeout at most), as
	// a Lambda invocation outlives API Gateway's integration timeout.
	Timeout time.Duration
	// InvokedARN is the ARN the caller used (with its alias), for the
	// Lambda-Runtime-Invoked-Function-Arn header; defaults to the version's ARN.
	InvokedARN string
	// ClientContext and CognitoIdentity are JSON, passed through as headers.
	ClientContext   string
	CognitoIdentity string
	// TraceID is passed as Lambda-Runtime-Trace-Id; one is made when empty.
	TraceID string
	// RequestID, when set, is used as the invocation's id (async retries keep theirs).
	RequestID string
	// LogTail asks for the last 4 KB of the invocation's log in Result.LogTail.
	LogTail bool
	// Answer, when set, is the caller's client: a warm invocation's small
	// result (at most AnswerMax bytes) is then answered to it from the
	// goroutine that reads the result from the sandbox, while the caller's
	// goroutine waits parked on its client's connection, and Result.Answered
	// says so. Not used with LogTail, or for a traced call. While parked, the
	// caller looks at ctx only when Wait returns: the client's connection
	// must be what would end ctx (it is, for h1's request contexts).
	Answer Answerer

	// event says an Event invocation's attempt, run by the queue: it has no
	// caller to answer, and is run again when Portico fails it.
	event bool
}

// AnswerMax is the largest result Request.Answer is given.
const AnswerMax = 8 << 10

// Answerer is a caller's client connection (Request.Answer). The admin API's
// Invoke and the gateway's AWS_PROXY integrations give one, built on h1.Park.
type Answerer interface {
	// Ready reports whether an answer of up to AnswerMax bytes, plus its
	// head, can be written at once: then Answer does not wait for the
	// client.
	Ready() bool
	// Answer writes res as the client's answer, flushed, and reports true;
	// or, when the caller must answer res itself (a result its client is not
	// to be given as it is), writes nothing and reports false: the caller is
	// then woken and Invoke returns res with Answered false. Called at most
	// once, from the goroutine that read the result, while the caller waits.
	Answer(res *Result) bool
	// Wait waits until the client's connection is readable (its next request,
	// or its leaving; then true) or Wake is called (false; also at the
	// connection's idle timeout after Answer).
	Wait() (readable bool)
	// Wake ends the Wait in progress, or the next one. Safe from any
	// goroutine.
	Wake()
}

// Result is what an invocation returned.
type Result struct {
	RequestID string
	// Payload is the response, or for a function error the error document
	// {"errorMessage","errorType","stackTrace"}.
	Payload []byte
	// FunctionError is "" on success, "Unhandled" for a function error, a timeout
	// or a crash, as Lambda's X-Amz-Function-Error.
	FunctionError string
	// TimedOut is set when a deadline passed; CallerTimeout says it was the
	// caller's Request.Timeout rather than the function's own (the Result
	// then has no Payload: the invocation runs on, for no one).
	TimedOut      bool
	CallerTimeout bool
	// ExecutedVersion is the version that ran.
	ExecutedVersion string
	// LogTail is the invocation's last 4 KB of log, when asked for.
	LogTail []byte
	// ColdStart says whether a sandbox was started for this call.
	ColdStart bool
	// Duration is the time from hand-off to the sandbox until the result.
	Duration time.Duration
	// Answered says that Request.Answer has answered the client with this
	// result already.
	Answered bool
}
