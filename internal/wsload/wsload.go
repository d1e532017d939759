// Package wsload holds many WebSocket connections open from a child process, for
// the tests and benchmarks that measure or check a server under that load. The
// child is the test binary itself, run again with ClientEnv set: a package that
// uses Start has a test that calls ServeClient first thing.
package wsload

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// ClientEnv carries "URL N" (or "URL N epoll", the cheap reader mode of
// StartEpoll) to the child process.
const ClientEnv = "PORTICO_WSLOAD_CLIENT"

// timeout bounds each dial, answer and close of the child.
const timeout = 2 * time.Minute

// RaiseNoFile raises the soft open-file limit to need; it fails, saying why,
// when the hard limit is below need.
func RaiseNoFile(need uint64) error {
	if need > HardNoFile() {
		return fmt.Errorf("the hard open-file limit is %d and %d descriptors are needed", HardNoFile(), need)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Max < need {
		return fmt.Errorf("the hard open-file limit is %d and %d descriptors are needed", lim.Max, need)
	}
	if lim.Cur < need {
		lim.Cur = need
		return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return nil
}

// HardNoFile is the process's hard open-file limit (0 when it cannot be read).
func HardNoFile() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return lim.Max
}

// ServeClient is the child's side: when ClientEnv is set it opens N connections
// to URL, prints "open N", answers each line "ping" on stdin by sending one
// text message "ping-I" on every connection I and reading its answer (which
// must contain it) and printing "pong ANSWERED", each line "await MSG" by
// having every connection wait for one message, printing "ready 0" once they
// all wait and "got RECEIVED" when the message MSG reached RECEIVED of them
// (every one, or the wait timed out), and when stdin closes, closes
// every connection with a close frame, waits for the server's, and prints
// "closed CLEAN". It then exits the process. Without ClientEnv it returns false.
//
// In the epoll mode (StartEpoll) the connections are read by one epoll loop
// instead of a goroutine each (epoll_linux.go); the lines and their answers
// are the same.
func ServeClient() bool {
	spec := os.Getenv(ClientEnv)
	if spec == "" {
		return false
	}
	fields := strings.Fields(spec)
	if len(fields) < 2 {
		fmt.Println("error", ClientEnv, "is not \"URL N\"")
		os.Exit(0)
	}
	n, _ := strconv.Atoi(fields[1])
	epoll := len(fields) > 2 && fields[2] == "epoll"
	if err := serveClient(fields[0], n, epoll, os.Stdin, os.Stdout); err != nil {
		fmt.Println("error", err)
	}
	os.Exit(0)
	return true
}

func serveClient(url string, n int, epoll bool, stdin io.Reader, stdout io.Writer) error {
	if err := RaiseNoFile(uint64(n) + 32); err != nil {
		return err
	}
	conns := make([]*websocket.Conn, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256, HandshakeTimeout: timeout}
			for failed.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, resp, err := d.Dial(url, nil)
				if err != nil {
					failed.Store(fmt.Sprintf("connection %d: %v", i, err))
					return
				}
				_ = resp.Body.Close()
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		return errors.New(f.(string))
	}
	if epoll {
		e, err := newEpollConns(conns)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintln(stdout, "open", n)
		in := bufio.NewScanner(stdin)
		for in.Scan() {
			if want, ok := strings.CutPrefix(in.Text(), "await "); ok {
				_, _ = fmt.Fprintln(stdout, "ready", 0) // every socket is watched already
				_, _ = fmt.Fprintln(stdout, "got", e.await(want))
				continue
			}
			_, _ = fmt.Fprintln(stdout, "pong", e.ping())
		}
		_, _ = fmt.Fprintln(stdout, "closed", e.close())
		return nil
	}
	_, _ = fmt.Fprintln(stdout, "open", n)
	each := func(f func(i int, c *websocket.Conn) bool) int64 {
		return eachConn(conns, 64, f)
	}
	in := bufio.NewScanner(stdin)
	for in.Scan() {
		if want, ok := strings.CutPrefix(in.Text(), "await "); ok {
			var waiting sync.WaitGroup
			waiting.Add(len(conns))
			var got int64
			done := make(chan struct{})
			go func() {
				got = eachConn(conns, len(conns), func(_ int, c *websocket.Conn) bool {
					_ = c.SetReadDeadline(time.Now().Add(timeout))
					waiting.Done()
					_, msg, err := c.ReadMessage()
					return err == nil && string(msg) == want
				})
				close(done)
			}()
			waiting.Wait()
			_, _ = fmt.Fprintln(stdout, "ready", 0)
			<-done
			_, _ = fmt.Fprintln(stdout, "got", got)
			continue
		}
		answered := each(func(i int, c *websocket.Conn) bool {
			msg := "ping-" + strconv.Itoa(i)
			_ = c.SetReadDeadline(time.Now().Add(timeout))
			if c.WriteMessage(websocket.TextMessage, []byte(msg)) != nil {
				return false
			}
			_, got, err := c.ReadMessage()
			return err == nil && strings.Contains(string(got), msg)
		})
		_, _ = fmt.Fprintln(stdout, "pong", answered)
	}
	clean := each(func(_ int, c *websocket.Conn) bool {
		defer func() { _ = c.Close() }()
		_ = c.SetReadDeadline(time.Now().Add(timeout))
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		if c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(timeout)) != nil {
			return false
		}
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return websocket.IsCloseError(err, websocket.CloseNormalClosure)
			}
		}
	})
	_, _ = fmt.Fprintln(stdout, "closed", clean)
	return nil
}

// eachConn runs f on every connection, conc at a time, and counts its trues.
func eachConn(conns []*websocket.Conn, conc int, f func(i int, c *websocket.Conn) bool) int64 {
	var ok atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, conc)
	for i, c := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if f(i, c) {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return ok.Load()
}

// RSS returns the resident memory of this process (VmRSS), or 0 when /proc
// cannot tell.
func RSS() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Clients is the parent's handle on a child process holding connections.
type Clients struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// Start runs the test binary again as a client process (running only the test
// named run, which must call ServeClient) that opens n connections to url, and
// waits until they are all open. The process ends with tb.
func Start(tb testing.TB, run, url string, n int) (*Clients, error) {
	tb.Helper()
	return start(tb, run, url+" "+strconv.Itoa(n))
}

// StartEpoll is Start with the client's cheap reader mode: one epoll loop
// reads every connection (on Linux; elsewhere the client process fails to
// start it). It is for measuring a server's writes, where a goroutine woken
// per message would make the clients, on the same machine, cost as much CPU as
// the server; what the client answers is the same.
func StartEpoll(tb testing.TB, run, url string, n int) (*Clients, error) {
	tb.Helper()
	return start(tb, run, url+" "+strconv.Itoa(n)+" epoll")
}

// Build builds the client process as a program of its own (testdata/client)
// into dir and returns its path. Built without the race detector, its
// connections cost several times less CPU than a -race test binary's run again
// as the client (Start): for holding many connections, where the server, not
// the client, is under test. It fails when no go command is found.
func Build(dir string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		// Where the toolchain's archive puts it (as apptest looks too).
		const usual = "/usr/local/go/bin/go"
		if _, serr := os.Stat(usual); serr != nil {
			return "", fmt.Errorf("no go command to build the client process: %w", err)
		}
		gobin = usual
	}
	_, file, _, _ := runtime.Caller(0)
	out := filepath.Join(dir, "wsload-client")
	// The flags and environment of the samples' builds (apptest), whose
	// standard library the build cache then holds already.
	//nolint:gosec // G204: the go command building this package's own client
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = filepath.Join(filepath.Dir(file), "testdata", "client")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the client process: %w: %s", err, b)
	}
	return out, nil
}

// StartProgram is Start with the client process a program that Build built
// (bin), rather than the test binary run again.
func StartProgram(tb testing.TB, bin, url string, n int) (*Clients, error) {
	tb.Helper()
	return startCmd(tb, exec.Command(bin), url+" "+strconv.Itoa(n))
}

func start(tb testing.TB, run, spec string) (*Clients, error) {
	tb.Helper()
	//nolint:gosec // G702: the test binary itself, running one of its own tests
	return startCmd(tb, exec.Command(os.Args[0], "-test.run=^"+run+"$"), spec)
}

func startCmd(tb testing.TB, cmd *exec.Cmd, spec string) (*Clients, error) {
	tb.Helper()
	cmd.Env = append(os.Environ(), ClientEnv+"="+spec)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Clients{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	tb.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	if _, err := c.expect("open"); err != nil {
		return nil, err
	}
	return c, nil
}

// CPU returns the processor time the client process has used so far (the sum
// of its threads' run time in /proc/PID/task/*/schedstat), or 0 when /proc
// cannot tell.
func (c *Clients) CPU() time.Duration { return CPUOf(c.cmd.Process.Pid) }

// CPUOf returns the processor time process pid has used so far, summed over its
// threads (/proc/PID/task/*/schedstat, nanoseconds), or 0 when /proc cannot tell.
func CPUOf(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var sum int64
	for _, t := range tasks {
		raw, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		f, _, _ := strings.Cut(string(raw), " ")
		ns, _ := strconv.ParseInt(f, 10, 64)
		sum += ns
	}
	return time.Duration(sum)
}

// Ping has every connection send a message and read its answer; it returns how
// many answered.
func (c *Clients) Ping() (int, error) {
	if _, err := io.WriteString(c.stdin, "ping\n"); err != nil {
		return 0, err
	}
	return c.expect("pong")
}

// Await has every connection wait for one message; it returns once they all
// wait, with received, which returns how many of them got exactly msg (a single
// line) once each got a message or gave up.
func (c *Clients) Await(msg string) (received func() (int, error), err error) {
	if _, err := io.WriteString(c.stdin, "await "+msg+"\n"); err != nil {
		return nil, err
	}
	if _, err := c.expect("ready"); err != nil {
		return nil, err
	}
	return func() (int, error) { return c.expect("got") }, nil
}

// Close closes every connection with a close handshake and returns how many
// completed it cleanly (the server's close frame with status 1000 came back).
func (c *Clients) Close() (int, error) {
	if err := c.stdin.Close(); err != nil {
		return 0, err
	}
	return c.expect("closed")
}

func (c *Clients) expect(word string) (int, error) {
	for c.out.Scan() {
		line := c.out.Text()
		if v, ok := strings.CutPrefix(line, word+" "); ok {
			return strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "error "); ok {
			return 0, fmt.Errorf("client process: %s", v)
		}
	}
	return 0, fmt.Errorf("the client process ended before saying %q", word)
}
