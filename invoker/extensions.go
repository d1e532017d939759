package invoker

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/listener"
)

// The Extensions API (2020-01-01) a sandbox's Runtime API endpoint serves: an
// extension registers for INVOKE and SHUTDOWN events and long-polls event/next
// for them. Portico delivers the events; it does not run extensions itself,
// nor wait for them before an invocation's result (docs/runtimes.md).

// maxExtensions is how many extensions one sandbox may register (Lambda's
// limit), and maxExtPending how many INVOKE events wait for an extension that
// is not polling: older ones are dropped past it.
const (
	maxExtensions = 10
	maxExtPending = 64
)

// extension is one registered extension. Its fields but the constants are
// guarded by the sandbox's mu.
type extension struct {
	id, name         string
	invoke, shutdown bool // the events it registered for
	pending          [][]byte
	wake             chan struct{} // a token when pending grows
}

// serveExtRegister registers an extension for the events its body names,
// during init only.
func (sb *sandbox) serveExtRegister(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		runtimeAPIError(w, http.StatusBadRequest, "InvalidRequestFormat", "reading body: "+listener.ReadCause(err))
		return
	}
	var reg struct {
		Events []string `json:"events"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &reg); err != nil {
			runtimeAPIError(w, http.StatusBadRequest, "InvalidRequestFormat", "the registration is not JSON: "+err.Error())
			return
		}
	}
	ext := &extension{id: newID(), name: r.Header.Get("Lambda-Extension-Name"), wake: make(chan struct{}, 1)}
	for _, ev := range reg.Events {
		switch ev {
		case "INVOKE":
			ext.invoke = true
		case "SHUTDOWN":
			ext.shutdown = true
		default:
			runtimeAPIError(w, http.StatusBadRequest, "Extension.InvalidEventType", "unknown event type "+strconv.Quote(ev)+": INVOKE and SHUTDOWN are the events")
			return
		}
	}
	sb.mu.Lock()
	if sb.state != stStarting {
		// Lambda takes registrations during init only (the runtime's first
		// next ends it), with the Runtime Interface Emulator's answer.
		sb.mu.Unlock()
		runtimeAPIError(w, http.StatusForbidden, "Extension.RegistrationClosed", "Extension registration closed already")
		return
	}
	if len(sb.exts) >= maxExtensions {
		sb.mu.Unlock()
		runtimeAPIError(w, http.StatusBadRequest, "Extension.TooManyExtensions", "a sandbox registers at most "+strconv.Itoa(maxExtensions)+" extensions")
		return
	}
	sb.exts = append(sb.exts, ext)
	if ext.invoke {
		sb.invokeExts = append(sb.invokeExts[:len(sb.invokeExts):len(sb.invokeExts)], ext)
	}
	sb.mu.Unlock()
	w.Header().Set("Lambda-Extension-Identifier", ext.id)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName":    sb.cfg.FunctionName,
		"functionVersion": sb.cfg.Version,
		"handler":         handlerOf(sb.cfg),
	})
}

// extensionOf returns the registered extension whose identifier r carries.
func (sb *sandbox) extensionOf(w http.ResponseWriter, r *http.Request) *extension {
	id := r.Header.Get("Lambda-Extension-Identifier")
	if id == "" {
		runtimeAPIError(w, http.StatusForbidden, "Extension.MissingExtensionIdentifier", "the Lambda-Extension-Identifier header is missing")
		return nil
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, e := range sb.exts {
		if e.id == id {
			return e
		}
	}
	runtimeAPIError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "no extension is registered as "+id)
	return nil
}

// serveExtNext long-polls for the extension's next event: an INVOKE it
// registered for, or SHUTDOWN once the sandbox stops if it registered for
// that. Otherwise it waits until its client leaves or the sandbox's endpoint
// closes (the sandbox has exited), and ends unanswered.
func (sb *sandbox) serveExtNext(w http.ResponseWriter, r *http.Request) {
	ext := sb.extensionOf(w, r)
	if ext == nil {
		return
	}
	var stopping <-chan struct{}
	if ext.shutdown {
		stopping = sb.stopping
	}
	gone := make(chan struct{})
	gw := h1.WatchGone(connOf(r).connOrNil(), func() { close(gone) })
	var doc []byte
	for doc == nil {
		sb.mu.Lock()
		if len(ext.pending) > 0 {
			doc = ext.pending[0]
			ext.pending[0] = nil
			ext.pending = ext.pending[1:]
		}
		sb.mu.Unlock()
		if doc != nil || (ext.shutdown && sb.isStopping()) {
			break
		}
		select {
		case <-ext.wake:
			continue
		case <-stopping:
			continue
		case <-gone:
		case <-r.Context().Done():
		}
		break
	}
	if gw.Stop() {
		panic(http.ErrAbortHandler)
	}
	if doc == nil {
		if !ext.shutdown || !sb.isStopping() {
			panic(http.ErrAbortHandler) // the endpoint is closing: no event
		}
		doc, _ = json.Marshal(map[string]any{
			"eventType": "SHUTDOWN", "shutdownReason": "spindown",
			"deadlineMs": time.Now().Add(sb.inv.p.Config.StopGrace).UnixMilli(),
		})
	}
	w.Header()["Content-Type"] = jsonContentType
	w.Header().Set("Lambda-Extension-Event-Identifier", newID())
	_, _ = w.Write(doc)
}

// notifyInvoke queues inv's INVOKE event for exts, the extensions registered
// for it.
func (sb *sandbox) notifyInvoke(exts []*extension, inv *invocation) {
	doc, _ := json.Marshal(map[string]any{
		"eventType":          "INVOKE",
		"deadlineMs":         inv.deadline.UnixMilli(),
		"requestId":          inv.id,
		"invokedFunctionArn": inv.arn,
		"tracing":            map[string]string{"type": "X-Amzn-Trace-Id", "value": inv.traceID},
	})
	sb.mu.Lock()
	for _, e := range exts {
		if len(e.pending) >= maxExtPending {
			e.pending = e.pending[1:]
		}
		e.pending = append(e.pending, doc)
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	sb.mu.Unlock()
}
