// Command sandbox is the program the runtimetest conformance suite runs in every
// runtime's sandboxes: a minimal Lambda custom runtime whose behaviour is driven by
// the event it receives. It uses only the standard library so that it builds as a
// static binary (CGO_ENABLED=0) that runs unchanged as a child process, in a
// container with a bind-mounted /var/task, or as a FROM scratch image.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// event is what the suite sends; Op picks the behaviour.
type event struct {
	// Op is one of env, log, crash, sleep, dial, listen, confinement, alloc,
	// identity, read.
	Op string `json:"op"`
	// Stdout and Stderr are printed by op "log" (and before exiting by "crash").
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// Code is the exit status for op "crash".
	Code int `json:"code,omitempty"`
	// OnTerm is what op "sleep" does on SIGTERM: "ignore" (print a line and keep
	// sleeping) or "exit" (print a line and exit 0). Empty leaves the default.
	OnTerm string `json:"onTerm,omitempty"`
	// Addrs are dialled by op "dial".
	Addrs []string `json:"addrs,omitempty"`
	// MB is how much memory op "alloc" touches.
	MB int `json:"mb,omitempty"`
	// Port is where op "listen" listens, on every address.
	Port int `json:"port,omitempty"`
	// Paths are the directories op "identity" tries to create a file in, and
	// the files op "read" reads.
	Paths []string `json:"paths,omitempty"`
}

// childArg makes the program exit at once: op "confinement" runs itself so
// to try a user namespace.
const childArg = "portico-sandbox-child"

var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func main() {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		os.Exit(0)
	}
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	fmt.Println("sandbox: started")
	base := "http://" + api + "/2018-06-01/runtime/invocation/"
	for {
		resp, err := client.Get(base + "next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "sandbox: next:", err)
			os.Exit(10)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintln(os.Stderr, "sandbox: next: status", resp.StatusCode)
			os.Exit(11)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		var ev event
		if err := json.Unmarshal(body, &ev); err != nil {
			post(base+id+"/error", map[string]string{"errorMessage": err.Error(), "errorType": "BadEvent"})
			continue
		}
		post(base+id+"/response", handle(ev))
	}
}

func handle(ev event) any {
	switch ev.Op {
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		host, _ := os.Hostname()
		return map[string]any{"env": env, "hostname": host}
	case "read":
		// Each file of Paths, or why it could not be read.
		files := map[string]string{}
		for _, name := range ev.Paths {
			b, err := os.ReadFile(name)
			if err != nil {
				files[name] = "error: " + err.Error()
				continue
			}
			files[name] = string(b)
		}
		return map[string]any{"files": files}
	case "log":
		fmt.Fprintln(os.Stdout, ev.Stdout)
		fmt.Fprintln(os.Stderr, ev.Stderr)
		return map[string]string{"status": "logged"}
	case "crash":
		fmt.Fprintln(os.Stderr, "sandbox: crashing with status", ev.Code)
		os.Exit(ev.Code)
	case "sleep":
		if ev.OnTerm != "" {
			c := make(chan os.Signal, 1)
			signal.Notify(c, syscall.SIGTERM)
			go func() {
				for range c {
					if ev.OnTerm == "exit" {
						fmt.Println("sandbox: SIGTERM, exiting")
						os.Exit(0)
					}
					fmt.Println("sandbox: SIGTERM ignored")
				}
			}()
		}
		fmt.Println("sandbox: sleeping")
		select {}
	case "dial":
		out := map[string]string{}
		for _, a := range ev.Addrs {
			c, err := net.DialTimeout("tcp", a, 3*time.Second)
			if err != nil {
				out[a] = "error: " + err.Error()
				continue
			}
			c.Close()
			out[a] = "ok"
		}
		return out
	case "confinement":
		// What confines the sandbox: its seccomp mode, capabilities and
		// no_new_privs (from /proc/self/status), and whether it may make a
		// user namespace (a child of itself in a new one), and its open-file
		// limit (soft/hard).
		out := map[string]string{}
		status, _ := os.ReadFile("/proc/self/status")
		for _, line := range strings.Split(string(status), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch k {
			case "Seccomp", "CapEff", "CapBnd", "NoNewPrivs":
				out[k] = strings.TrimSpace(v)
			}
		}
		var nofile syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err == nil {
			out["nofile"] = fmt.Sprintf("%d/%d", nofile.Cur, nofile.Max)
		}
		self, _ := os.Executable()
		cmd := exec.Command(self, childArg)
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
		if err := cmd.Run(); err != nil {
			out["userns"] = "error: " + err.Error()
		} else {
			out["userns"] = "ok"
		}
		return out
	case "listen":
		// Listen on every address (IPv4 and IPv6) and answer each
		// connection; return the addresses others could dial, loopback
		// left out, link-local IPv6 with its zone.
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", ev.Port))
		if err != nil {
			return map[string]string{"error": err.Error()}
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		var addrs []string
		ifaces, _ := net.Interfaces()
		for _, ifc := range ifaces {
			ias, _ := ifc.Addrs()
			for _, ia := range ias {
				ipn, ok := ia.(*net.IPNet)
				if !ok || ipn.IP.IsLoopback() {
					continue
				}
				host := ipn.IP.String()
				if ipn.IP.To4() == nil && ipn.IP.IsLinkLocalUnicast() {
					host += "%" + ifc.Name
				}
				addrs = append(addrs, net.JoinHostPort(host, fmt.Sprint(ev.Port)))
			}
		}
		return map[string]any{"addrs": addrs}
	case "identity":
		// Who the sandbox runs as, and where it may write: a file created
		// (and read back) in each of Paths, and stdout reopened by its path,
		// as shell redirections to /dev/stdout do.
		groups, _ := os.Getgroups()
		writes := map[string]string{}
		for _, dir := range ev.Paths {
			name := dir + "/portico-probe-" + fmt.Sprint(os.Getpid())
			err := os.WriteFile(name, []byte("probe"), 0o644)
			if err == nil {
				var b []byte
				if b, err = os.ReadFile(name); err == nil && string(b) != "probe" {
					err = fmt.Errorf("read back %q", b)
				}
			}
			if err != nil {
				writes[dir] = "error: " + err.Error()
				continue
			}
			writes[dir] = "ok"
		}
		stdout := "ok"
		if f, err := os.OpenFile("/dev/stdout", os.O_WRONLY, 0); err != nil {
			stdout = "error: " + err.Error()
		} else {
			fmt.Fprintln(f, "sandbox: stdout reopened")
			f.Close()
		}
		return map[string]any{"uid": os.Getuid(), "euid": os.Geteuid(), "gid": os.Getgid(), "egid": os.Getegid(),
			"groups": groups, "writes": writes, "stdout": stdout}
	case "alloc":
		b := make([]byte, ev.MB<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		return map[string]int{"touched": len(b) >> 20}
	}
	return map[string]string{"error": "unknown op " + ev.Op}
}

func post(url string, v any) {
	b, _ := json.Marshal(v)
	resp, err := client.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: post:", err)
		os.Exit(12)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
