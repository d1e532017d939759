// Command fn is the invoker tests' function: an aws-lambda-go handler whose
// behaviour the event chooses.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// sink keeps an allocation reachable until the next call.
var sink []byte

type event struct {
	Echo      any    `json:"echo,omitempty"`
	Env       string `json:"env,omitempty"`       // return this env var
	Print     string `json:"print,omitempty"`     // write to stdout
	PrintRaw  string `json:"printRaw,omitempty"`  // write to stdout, without a newline
	Stderr    string `json:"stderr,omitempty"`    // write to stderr
	SleepMs   int    `json:"sleepMs,omitempty"`   // sleep
	WaitFile  string `json:"waitFile,omitempty"`  // block until this file exists
	PidFile   string `json:"pidFile,omitempty"`   // write our pid here first
	Panic     bool   `json:"panic,omitempty"`     // panic
	Fail      string `json:"fail,omitempty"`      // return an error
	Exit      int    `json:"exit,omitempty"`      // os.Exit(n)
	ExecSh    string `json:"execSh,omitempty"`    // replace the process with sh -c this (its exit is the sandbox's)
	Steal     string `json:"steal,omitempty"`     // GET this Runtime API address's next
	BigOutput int    `json:"bigOutput,omitempty"` // return a string this long
	// ClientContextFile: write the client context's custom values (JSON,
	// "null" when there is none) to this file first.
	ClientContextFile string `json:"clientContextFile,omitempty"`
	AllocMB           int    `json:"allocMB,omitempty"` // allocate and touch this many MB
}

type result struct {
	Echo     any    `json:"echo,omitempty"`
	Env      string `json:"env,omitempty"`
	Version  string `json:"version"`
	Request  string `json:"requestId"`
	Pid      int    `json:"pid"`
	Deadline int64  `json:"deadlineMs"`
	ARN      string `json:"arn"`
	Stolen   string `json:"stolen,omitempty"`
	Big      string `json:"big,omitempty"`
}

func handle(ctx context.Context, ev event) (*result, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	if ev.ClientContextFile != "" {
		var custom map[string]string
		if lc != nil {
			custom = lc.ClientContext.Custom
		}
		b, _ := json.Marshal(custom)
		_ = os.WriteFile(ev.ClientContextFile+".tmp", b, 0o600)
		_ = os.Rename(ev.ClientContextFile+".tmp", ev.ClientContextFile)
	}
	if ev.PidFile != "" {
		_ = os.WriteFile(ev.PidFile+".tmp", []byte(fmt.Sprint(os.Getpid())), 0o600)
		_ = os.Rename(ev.PidFile+".tmp", ev.PidFile)
	}
	if ev.Print != "" {
		fmt.Println(ev.Print)
	}
	if ev.PrintRaw != "" {
		fmt.Print(ev.PrintRaw)
	}
	if ev.Stderr != "" {
		fmt.Fprintln(os.Stderr, ev.Stderr)
	}
	if ev.AllocMB > 0 {
		buf := make([]byte, ev.AllocMB<<20)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		sink = buf
	}
	if ev.SleepMs > 0 {
		time.Sleep(time.Duration(ev.SleepMs) * time.Millisecond)
	}
	if ev.WaitFile != "" {
		for {
			if _, err := os.Stat(ev.WaitFile); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if ev.Panic {
		panic("boom")
	}
	if ev.Exit != 0 {
		os.Exit(ev.Exit)
	}
	if ev.ExecSh != "" {
		// The shell takes over the process: "exit 0" ends it cleanly, and
		// "kill -SEGV $$" kills it by a signal the Go runtime would catch.
		err := syscall.Exec("/bin/sh", []string{"sh", "-c", ev.ExecSh}, os.Environ())
		return nil, fmt.Errorf("exec sh: %w", err)
	}
	if ev.Fail != "" {
		return nil, errors.New(ev.Fail)
	}
	r := &result{Echo: ev.Echo, Version: lambdacontext.FunctionVersion, Pid: os.Getpid()}
	if lc != nil {
		r.Request = lc.AwsRequestID
		r.ARN = lc.InvokedFunctionArn
	}
	if d, ok := ctx.Deadline(); ok {
		r.Deadline = d.UnixMilli()
	}
	if ev.Env != "" {
		r.Env = os.Getenv(ev.Env)
	}
	if ev.BigOutput > 0 {
		r.Big = strings.Repeat("x", ev.BigOutput)
	}
	if ev.Steal != "" {
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://" + ev.Steal + "/2018-06-01/runtime/invocation/next")
		if err != nil {
			r.Stolen = "error: " + err.Error()
		} else {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			r.Stolen = fmt.Sprintf("%d %s", resp.StatusCode, b)
		}
	}
	return r, nil
}

func main() {
	// INIT_ERROR makes init fail: the runtime says so on its output, posts
	// the message to /runtime/init/error, and exits; with INIT_ERROR_STAYS
	// set, it stays alive instead (until it is stopped).
	if msg := os.Getenv("INIT_ERROR"); msg != "" {
		fmt.Fprintln(os.Stderr, "init: failing with", msg)
		body := strings.NewReader(`{"errorMessage":"` + msg + `","errorType":"InitFailed"}`)
		resp, err := http.Post("http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", "application/json", body)
		if err == nil {
			_ = resp.Body.Close()
		}
		if os.Getenv("INIT_ERROR_STAYS") != "" {
			time.Sleep(time.Hour)
		}
		os.Exit(1)
	}
	// INIT_WAIT_FILE holds init (before the first next) until the file exists.
	if f := os.Getenv("INIT_WAIT_FILE"); f != "" {
		for {
			if _, err := os.Stat(f); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	lambda.Start(handle)
}
