package h2

import (
	"sync"
	"time"
)

// workers runs handlers on goroutines that outlive them. A goroutine started
// per request grows its stack from the smallest size through the handler's
// call depth every time (copying it at each step: an eighth of the CPU of a
// small request); a worker keeps the stack it grew.
type workers struct {
	mu   sync.Mutex
	idle []*worker // most recently used last
	stop chan struct{}
	once sync.Once
}

type worker struct {
	work chan *stream
	last time.Time // when it went idle (under workers.mu)
}

// workerIdle is how long an idle worker waits for work before it exits.
const workerIdle = 10 * time.Second

func newWorkers() *workers {
	ws := &workers{stop: make(chan struct{})}
	go ws.reap()
	return ws
}

// run serves st (st.c.runHandler) on an idle worker, or on a new one.
func (ws *workers) run(st *stream) {
	ws.mu.Lock()
	if n := len(ws.idle); n > 0 {
		w := ws.idle[n-1]
		ws.idle[n-1] = nil
		ws.idle = ws.idle[:n-1]
		ws.mu.Unlock()
		w.work <- st
		return
	}
	ws.mu.Unlock()
	w := &worker{work: make(chan *stream, 1)}
	go ws.loop(w, st)
}

func (ws *workers) loop(w *worker, st *stream) {
	for st != nil {
		st.c.runHandler(st)
		ws.mu.Lock()
		select {
		case <-ws.stop:
			ws.mu.Unlock()
			return
		default:
		}
		w.last = time.Now()
		ws.idle = append(ws.idle, w)
		ws.mu.Unlock()
		st = <-w.work
	}
}

// reap ends the workers idle for longer than workerIdle (the oldest are at
// the front of the list), and every idle one once close was called.
func (ws *workers) reap() {
	t := time.NewTicker(workerIdle / 2)
	defer t.Stop()
	for {
		select {
		case <-ws.stop:
			ws.mu.Lock()
			for _, w := range ws.idle {
				w.work <- nil
			}
			ws.idle = nil
			ws.mu.Unlock()
			return
		case now := <-t.C:
			ws.mu.Lock()
			n := 0
			for n < len(ws.idle) && now.Sub(ws.idle[n].last) > workerIdle {
				ws.idle[n].work <- nil
				n++
			}
			ws.idle = append(ws.idle[:0], ws.idle[n:]...)
			ws.mu.Unlock()
		}
	}
}

// close ends the idle workers; busy ones end when their work is done.
func (ws *workers) close() { ws.once.Do(func() { close(ws.stop) }) }
