package doctest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrTimeout is returned by [Shell.Run] for a command that did not end in time;
// the shell is closed.
var ErrTimeout = errors.New("command did not end in time")

// Shell is one bash session in which a page's commands run one after another,
// so that what one sets (a variable, the directory) holds for the next, as in a
// terminal. Each command reads /dev/null; its stdout and stderr are read
// together. A Shell is not safe for concurrent use.
type Shell struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	dir     string // where each command's text is written to be sourced
	nonce   string
	out     chan []byte // the session's output, as read
	pending []byte
	done    chan struct{} // closed when bash has exited
	n       int
	closeMu sync.Once
}

// Start starts bash in dir with env (nil: this process's environment).
func Start(dir string, env []string) (*Shell, error) {
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return nil, err
	}
	scripts, err := os.MkdirTemp("", "doctest-cmd-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", "--noprofile", "--norc")
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return nil, err
	}
	_ = pw.Close()
	s := &Shell{cmd: cmd, stdin: stdin, dir: scripts, nonce: hex.EncodeToString(nb[:]),
		out: make(chan []byte, 64), done: make(chan struct{})}
	go func() {
		defer close(s.out)
		defer func() { _ = pr.Close() }()
		buf := make([]byte, 32<<10)
		for {
			n, err := pr.Read(buf)
			if n > 0 {
				s.out <- bytes.Clone(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(s.done) }()
	return s, nil
}

// Run runs one command (it may span lines) and returns what it printed and its
// exit status. A command that runs past timeout is killed with the whole
// session: Run returns [ErrTimeout] with what it printed so far.
func (s *Shell) Run(ctx context.Context, command string, timeout time.Duration) (string, int, error) {
	s.n++
	file := filepath.Join(s.dir, fmt.Sprintf("%03d.sh", s.n))
	if err := os.WriteFile(file, []byte(command+"\n"), 0o600); err != nil {
		return "", 0, err
	}
	// The status line starts on a line of its own: \x1e (record separator)
	// never comes from a command's ordinary output.
	script := fmt.Sprintf("source %s </dev/null; printf '\\n\\036%s %%d\\n' $?\n", shQuote(file), s.nonce)
	if _, err := io.WriteString(s.stdin, script); err != nil {
		return "", 0, fmt.Errorf("the shell has gone: %w", err)
	}
	end := regexp.MustCompile(`\n\x1e` + s.nonce + ` (\d+)\n`)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		if m := end.FindSubmatchIndex(s.pending); m != nil {
			out := string(s.pending[:m[0]])
			rc, _ := strconv.Atoi(string(s.pending[m[2]:m[3]]))
			s.pending = s.pending[m[1]:]
			return out, rc, nil
		}
		select {
		case b, ok := <-s.out:
			if !ok {
				return string(s.pending), -1, errors.New("the shell exited (a command ran exit?)")
			}
			s.pending = append(s.pending, b...)
		case <-timer.C:
			out := string(s.pending)
			s.Close()
			return out, -1, fmt.Errorf("%w (%s)", ErrTimeout, timeout)
		case <-ctx.Done():
			out := string(s.pending)
			s.Close()
			return out, -1, ctx.Err()
		}
	}
}

// Close ends the session and whatever its commands left running in the
// background (its process group).
func (s *Shell) Close() {
	s.closeMu.Do(func() {
		_ = s.stdin.Close()
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		// Children that left the group may hold the pipe: drain it without
		// waiting for them.
		go func() {
			for range s.out { //nolint:revive // draining
			}
		}()
		_ = os.RemoveAll(s.dir)
	})
}

func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
