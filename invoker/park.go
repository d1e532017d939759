package invoker

import (
	"net/http"
	"strconv"
	"time"
)

// How a parked next's wait ended (parkNext).
type parkEnd int

const (
	parkTaken  parkEnd = iota // a caller took it and wrote (or handed back) its invocation
	parkEnded                 // replaced, stopping, its client gone, or an invocation for it: serveNext goes on as after a wait
	parkSelect                // it cannot park, or a caller is sending on work: wait on the channels
)

// aLongTimeAgo is a read deadline in the past: it wakes a parked next.
var aLongTimeAgo = time.Unix(1, 0)

// pokeLocked wakes w's goroutine if it is parked in the poller, to look at the
// sandbox again. Called with the sandbox's mu held.
func (w *nextWait) pokeLocked() {
	if w.parked && w.rc != nil && w.rc.conn != nil {
		_ = w.rc.conn.SetReadDeadline(aLongTimeAgo)
	}
}

// pokeNext pokes the sandbox's waiting next, if any.
func (sb *sandbox) pokeNext() {
	sb.mu.Lock()
	if w := sb.next; w != nil {
		w.pokeLocked()
	}
	sb.mu.Unlock()
}

// handBack keeps inv, taken by a next that could not deliver it, for the
// runtime's next poll, and pokes a next that may be parked already.
func (sb *sandbox) handBack(inv *invocation) {
	sb.handback <- inv // never blocks: a sandbox runs one invocation at a time
	sb.pokeNext()
}

// parkNext waits for the sandbox's invocation with nw parked in the poller
// (see nextWait). inv is an invocation nw took itself (handed back, or sent by
// a caller before nw parked), with parkEnded.
func (sb *sandbox) parkNext(nw *nextWait) (inv *invocation, end parkEnd) {
	rc := nw.rc
	if rc == nil || !rc.canPark() {
		return nil, parkSelect
	}
	poked := false
	for {
		if poked {
			// Clear the poke; the state is looked at again below, so a poke
			// made meanwhile is not lost. (The server sets the connection's
			// deadline again for its next request.)
			_ = rc.conn.SetReadDeadline(time.Time{})
		}
		sb.mu.Lock()
		switch {
		case nw.taken.Load():
			end = parkTaken
		case nw.kicked || nw.gone || sb.isHalted():
			end = parkEnded
		case sb.sending > 0:
			end = parkSelect
		default:
			select {
			case inv = <-sb.handback:
				end = parkEnded
			default:
				nw.parked = true
				sb.mu.Unlock()
				var readable bool
				readable, poked = rc.park(nw)
				if readable {
					sb.mu.Lock()
					if !nw.taken.Load() {
						nw.gone = true // the client went away, or sent more than its request
					}
					sb.mu.Unlock()
				}
				continue
			}
		}
		nw.parked = false
		sb.mu.Unlock()
		if end == parkTaken {
			<-nw.written
		}
		return inv, end
	}
}

// directMax is the largest payload a caller writes to a parked next itself.
// A write that size never waits: the connection's send buffer is empty (the
// runtime has read what came before) and holds more. A larger one could wait
// for a runtime that does not read, and the caller has not armed its timeout
// yet, so it goes to the next's goroutine, as every invocation did before.
const directMax = 8 << 10

// takeNext takes the sandbox's waiting next for inv if it is parked and inv
// is small: the caller then writes inv itself (deliverTo). Otherwise it counts
// the caller as sending on work (done with sent), and pokes a parked next so
// that it waits on the channels.
func (sb *sandbox) takeNext(inv *invocation) *nextWait {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	nw := sb.next
	if nw != nil && nw.parked && !nw.kicked && !nw.gone && !nw.taken.Load() && len(inv.req.Payload) <= directMax {
		nw.written = make(chan struct{})
		nw.taken.Store(true)
		return nw
	}
	sb.sending++
	if nw != nil {
		nw.pokeLocked()
	}
	return nil
}

// sent ends a send counted by takeNext.
func (sb *sandbox) sent() {
	sb.mu.Lock()
	sb.sending--
	sb.mu.Unlock()
}

// deliverTo writes inv as the answer of nw, a next the caller took, from the
// caller's goroutine. A client that has gone gets nothing: inv is handed back
// for the runtime's next poll, as a next that took it would.
func (sb *sandbox) deliverTo(nw *nextWait, inv *invocation) {
	defer close(nw.written)
	if nw.rc.clientGone() {
		sb.mu.Lock()
		nw.gone = true
		sb.mu.Unlock()
		sb.handBack(inv)
		return
	}
	sb.answerNext(nw.w, inv)
	if f, ok := nw.w.(http.Flusher); ok {
		f.Flush()
	}
}

// answerNext makes inv the sandbox's current invocation and writes it as the
// answer of a next. The previous invocation has its END already
// (settleResult); an invocation with a log tail first waits for output the
// previous one may have left on its way (logsBehind), so that its tail holds
// its own alone.
func (sb *sandbox) answerNext(w http.ResponseWriter, inv *invocation) {
	sb.mu.Lock()
	if sb.logsBehind && inv.tail != nil {
		sb.mu.Unlock()
		synced := sb.syncLogs(true)
		sb.mu.Lock()
		sb.logsBehind = !synced
	}
	sb.cur = inv
	sb.tailOf = inv
	sb.state = stBusy
	exts := sb.invokeExts
	sb.mu.Unlock()
	if len(exts) > 0 {
		sb.notifyInvoke(exts, inv)
	}
	line := startLine(inv)
	sb.inv.logs.get(sb.cfg.FunctionName).writeFrame(line)
	if inv.tail != nil {
		inv.tail.writeFrame(line)
	}
	// The header's values share one slice (its keys are canonical already):
	// one allocation instead of one per field.
	vals := make([]string, 0, 8)
	vals = append(vals, inv.id, strconv.FormatInt(inv.deadline.UnixMilli(), 10), inv.arn, inv.traceID,
		strconv.Itoa(len(inv.req.Payload)), inv.req.ClientContext, inv.req.CognitoIdentity)
	h := w.Header()
	h["Lambda-Runtime-Aws-Request-Id"] = vals[0:1:1]
	h["Lambda-Runtime-Deadline-Ms"] = vals[1:2:2]
	h["Lambda-Runtime-Invoked-Function-Arn"] = vals[2:3:3]
	h["Lambda-Runtime-Trace-Id"] = vals[3:4:4]
	h["Content-Length"] = vals[4:5:5]
	if inv.req.ClientContext != "" {
		h["Lambda-Runtime-Client-Context"] = vals[5:6:6]
	}
	if inv.req.CognitoIdentity != "" {
		h["Lambda-Runtime-Cognito-Identity"] = vals[6:7:7]
	}
	h["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.req.Payload)
}
