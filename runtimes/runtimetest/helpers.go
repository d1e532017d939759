// Package runtimetest is the conformance suite for runtimes.Runtime: Run drives the
// same cases against every runtime (process, docker, containerd), with its own
// minimal Runtime API server so that it needs no invoker.
//
// The sandboxes run a small Go program, testdata/sandbox, built static by the suite;
// what it does is driven by the event it receives (echo its env, log, sleep, crash,
// dial addresses, allocate memory). The helpers here (BuildSandbox, NewAPIServer,
// ImageArchive, RequireDocker, RequireContainerd) are exported for the runtimes'
// own tests and benchmarks.
package runtimetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// BuildSandbox builds the test sandbox program as a static binary in a temporary
// directory owned by tb and returns its path. The program is built once per test
// process (the first call's build is kept in memory); later calls write a copy.
func BuildSandbox(tb testing.TB) string {
	tb.Helper()
	b, err := sandboxProgram()
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(tb.TempDir(), "bootstrap")
	//nolint:gosec // G306: an executable, run by whichever user a runtime runs sandboxes as
	if err := os.WriteFile(out, b, 0o755); err != nil {
		tb.Fatal(err)
	}
	return out
}

// sandboxBuild is the sandbox program once built; a failed build is tried
// again by the next call.
var sandboxBuild struct {
	sync.Mutex
	bin []byte
}

// sandboxProgram returns the sandbox program's bytes, building it at its first
// call.
func sandboxProgram() ([]byte, error) {
	sandboxBuild.Lock()
	defer sandboxBuild.Unlock()
	if sandboxBuild.bin != nil {
		return sandboxBuild.bin, nil
	}
	_, self, _, ok := goruntime.Caller(0)
	if !ok {
		return nil, errors.New("runtimetest: cannot locate the sandbox source")
	}
	src := filepath.Join(filepath.Dir(self), "testdata", "sandbox")
	dir, err := os.MkdirTemp("", "portico-sandbox-build-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	out := filepath.Join(dir, "bootstrap")
	// go test puts its own GOROOT/bin first on the test binary's PATH.
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./main.go")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("runtimetest: building the sandbox program: %w\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	sandboxBuild.bin = b
	return b, nil
}

// CodeDir returns a directory holding bin as its executable "bootstrap": a Zip
// package's unpacked code.
func CodeDir(tb testing.TB, bin string) string {
	tb.Helper()
	dir := tb.TempDir()
	b, err := os.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	//nolint:gosec // G306: an executable, run by whichever user a runtime runs sandboxes as
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), b, 0o755); err != nil {
		tb.Fatal(err)
	}
	// Readable by any user a runtime may run the sandbox as.
	if err := os.Chmod(dir, 0o755); err != nil { //nolint:gosec // G302: see above
		tb.Fatal(err)
	}
	return dir
}

// ImageArchive returns a `docker save` style archive (manifest.json, the config
// blob and one uncompressed layer) of a FROM scratch image tagged ref, holding bin
// as /bootstrap, its entrypoint, with env added to the image's config. Both
// Docker's image load and containerd's import read it.
func ImageArchive(tb testing.TB, bin, ref string, env ...string) []byte {
	tb.Helper()
	return imageArchive(tb, bin, ref, []string{"/bootstrap"}, env)
}

// imageArchive is ImageArchive with the entrypoint given (none: nil).
func imageArchive(tb testing.TB, bin, ref string, entrypoint []string, env []string) []byte {
	tb.Helper()
	return imageArchiveOf(tb, bin, ref, imageConfig{entrypoint: entrypoint, env: env})
}

// imageConfig is what an image of the sandbox program is made with beyond
// the program.
type imageConfig struct {
	entrypoint []string
	cmd        []string // the image's CMD (none: nil)
	env        []string
	// user is the image's USER ("" for none).
	user string
	// files are more files of the image (etc/passwd, say), mode 0644.
	files map[string]string
	// volume, when set, is a directory of the image ("/data") that the
	// sandbox user owns, holding a file "seed", which the image declares as
	// a VOLUME.
	volume string
	// healthcheck, when set, is the image's HEALTHCHECK test (["CMD", ...]),
	// run every second.
	healthcheck []string
}

// HealthcheckImageArchive is ImageArchive of an image that also declares a
// HEALTHCHECK running test (["CMD", "/bootstrap"], say) every second.
func HealthcheckImageArchive(tb testing.TB, bin, ref string, test []string) []byte {
	tb.Helper()
	return imageArchiveOf(tb, bin, ref, imageConfig{entrypoint: []string{"/bootstrap"}, healthcheck: test})
}

// imageArchiveOf is ImageArchive of an image made with c.
func imageArchiveOf(tb testing.TB, bin, ref string, c imageConfig) []byte {
	tb.Helper()
	b, err := os.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	var layer bytes.Buffer
	lw := tar.NewWriter(&layer)
	mtime := time.Unix(0, 0)
	dirs := []string{"tmp/", "var/", "var/task/"}
	if len(c.files) > 0 {
		dirs = append(dirs, "etc/")
	}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		must(tb, lw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: mtime}))
	}
	if c.volume != "" {
		dir := strings.Trim(c.volume, "/")
		must(tb, lw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, Uid: sandboxUID, Gid: sandboxGID, ModTime: mtime}))
		must(tb, lw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + "/seed", Mode: 0o644, Uid: sandboxUID, Gid: sandboxGID, Size: 4, ModTime: mtime}))
		_, err = lw.Write([]byte("seed"))
		must(tb, err)
	}
	must(tb, lw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bootstrap", Mode: 0o755, Size: int64(len(b)), ModTime: mtime}))
	_, err = lw.Write(b)
	must(tb, err)
	names := make([]string, 0, len(c.files))
	for name := range c.files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := c.files[name]
		must(tb, lw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}))
		_, err = lw.Write([]byte(data))
		must(tb, err)
	}
	must(tb, lw.Close())
	layerSum := sha256.Sum256(layer.Bytes())
	layerHex := hex.EncodeToString(layerSum[:])

	imageCfg := map[string]any{
		"Entrypoint": c.entrypoint,
		"Cmd":        c.cmd,
		"Env":        append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, c.env...),
		"WorkingDir": "/var/task",
		"User":       c.user,
	}
	if c.volume != "" {
		imageCfg["Volumes"] = map[string]any{c.volume: map[string]any{}}
	}
	if c.healthcheck != nil {
		imageCfg["Healthcheck"] = map[string]any{"Test": c.healthcheck, "Interval": int64(time.Second), "Timeout": int64(30 * time.Second)}
	}
	config, err := json.Marshal(map[string]any{
		"architecture": goruntime.GOARCH,
		"os":           "linux",
		"created":      mtime.UTC().Format(time.RFC3339),
		"config":       imageCfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerHex}},
		"history":      []map[string]any{{"created": mtime.UTC().Format(time.RFC3339), "created_by": "runtimetest"}},
	})
	must(tb, err)
	cfgSum := sha256.Sum256(config)
	cfgHex := hex.EncodeToString(cfgSum[:])
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   cfgHex + ".json",
		"RepoTags": []string{ref},
		"Layers":   []string{layerHex + "/layer.tar"},
	}})
	must(tb, err)

	var out bytes.Buffer
	w := tar.NewWriter(&out)
	add := func(name string, data []byte) {
		must(tb, w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}))
		_, err := w.Write(data)
		must(tb, err)
	}
	must(tb, w.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: layerHex + "/", Mode: 0o755, ModTime: mtime}))
	add(layerHex+"/layer.tar", layer.Bytes())
	add(layerHex+"/VERSION", []byte("1.0"))
	add(cfgHex+".json", config)
	add("manifest.json", manifest)
	must(tb, w.Close())
	return out.Bytes()
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// Reply is what a sandbox posted for one invocation.
type Reply struct {
	// Error is set when it posted to .../error rather than .../response.
	Error bool
	Body  []byte
}

// APIServer is a minimal Lambda Runtime API endpoint for one sandbox: next hands
// out the events queued by Invoke, and response/error deliver the reply to the
// Invoke waiting for it. Safe for concurrent use.
type APIServer struct {
	ln     net.Listener
	srv    *http.Server
	events chan *call

	mu      sync.Mutex
	pending map[string]*call
	peers   map[string]bool
	nexts   int
	first   chan struct{}
	seq     int
}

type call struct {
	id      string
	payload []byte
	reply   chan Reply
}

// NewAPIServer listens on host:0 and serves until tb ends.
func NewAPIServer(tb testing.TB, host string) *APIServer {
	tb.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		tb.Fatalf("runtimetest: binding a Runtime API endpoint on %s: %v", host, err)
	}
	s := &APIServer{ln: ln, events: make(chan *call, 16), pending: map[string]*call{}, peers: map[string]bool{}, first: make(chan struct{})}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	tb.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (s *APIServer) Addr() string { return s.ln.Addr().String() }

// Ready is closed at the sandbox's first call to next: the end of its cold start.
func (s *APIServer) Ready() <-chan struct{} { return s.first }

// Nexts counts the calls to next so far.
func (s *APIServer) Nexts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nexts
}

// Peers returns the remote addresses the endpoint was called from.
func (s *APIServer) Peers() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for p := range s.peers {
		if a, err := net.ResolveTCPAddr("tcp", p); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// Invoke queues payload as the next event and waits for the sandbox's reply, for
// ctx to end, or for gone (the sandbox's Done channel, or nil) to close.
func (s *APIServer) Invoke(ctx context.Context, payload []byte, gone <-chan struct{}) (Reply, error) {
	s.mu.Lock()
	s.seq++
	c := &call{id: fmt.Sprintf("req-%d-%d", time.Now().UnixNano(), s.seq), payload: payload, reply: make(chan Reply, 1)}
	s.pending[c.id] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, c.id)
		s.mu.Unlock()
	}()
	select {
	case s.events <- c:
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
	select {
	case r := <-c.reply:
		return r, nil
	case <-gone:
		// A reply posted just before the exit still counts.
		select {
		case r := <-c.reply:
			return r, nil
		default:
		}
		return Reply{}, ErrSandboxExited
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
}

// ErrSandboxExited is returned by Invoke when the sandbox exited before replying.
var ErrSandboxExited = errors.New("sandbox exited before replying")

// ServeHTTP implements the Runtime API subset the sandbox program uses.
func (s *APIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/invocation/"
	p := r.URL.Path
	s.mu.Lock()
	s.peers[r.RemoteAddr] = true
	s.mu.Unlock()
	switch {
	case p == prefix+"next" && r.Method == http.MethodGet:
		s.mu.Lock()
		s.nexts++
		if s.nexts == 1 {
			close(s.first)
		}
		s.mu.Unlock()
		select {
		case c := <-s.events:
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", c.id)
			h.Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Hour).UnixMilli()))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:conformance")
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(c.payload)
		case <-r.Context().Done():
		}
	case strings.HasPrefix(p, prefix) && r.Method == http.MethodPost:
		id, kind, _ := strings.Cut(strings.TrimPrefix(p, prefix), "/")
		body, _ := io.ReadAll(io.LimitReader(r.Body, 6<<20))
		s.mu.Lock()
		c := s.pending[id]
		delete(s.pending, id)
		s.mu.Unlock()
		if c == nil || (kind != "response" && kind != "error") {
			http.Error(w, `{"errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		c.reply <- Reply{Error: kind == "error", Body: body}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	default:
		http.NotFound(w, r)
	}
}

// RequireDocker skips tb unless a Docker daemon answers a ping at DOCKER_HOST (or
// the default socket), or fails it when REQUIRE_DOCKER=1.
func RequireDocker(tb testing.TB) {
	tb.Helper()
	if err := PingDocker(context.Background()); err != nil {
		if os.Getenv("REQUIRE_DOCKER") == "1" {
			tb.Fatalf("REQUIRE_DOCKER=1 but the Docker daemon does not answer: %v", err)
		}
		tb.Skipf("no Docker daemon: %v (set REQUIRE_DOCKER=1 to fail instead)", err)
	}
}

// DockerSocketPath returns the path of the Docker daemon's unix socket:
// DOCKER_HOST's, else /var/run/docker.sock. It skips tb when DOCKER_HOST is
// not a unix socket.
func DockerSocketPath(tb testing.TB) string {
	tb.Helper()
	h := os.Getenv("DOCKER_HOST")
	if h == "" {
		return "/var/run/docker.sock"
	}
	path, ok := strings.CutPrefix(h, "unix://")
	if !ok {
		tb.Skip("DOCKER_HOST is not a unix socket")
	}
	return path
}

// PingDocker calls the Engine API's /_ping at DOCKER_HOST or /var/run/docker.sock.
func PingDocker(ctx context.Context) error {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	var tr http.Transport
	base := ""
	switch {
	case strings.HasPrefix(host, "unix://"):
		path := strings.TrimPrefix(host, "unix://")
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		base = "http://docker"
	case strings.HasPrefix(host, "tcp://"):
		base = "http://" + strings.TrimPrefix(host, "tcp://")
	default:
		return fmt.Errorf("DOCKER_HOST %q: unsupported scheme", host)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	//nolint:gosec // G704: the address is the operator's DOCKER_HOST, by design
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: &tr}).Do(req) //nolint:gosec // G704: as above
	if err != nil {
		return fmt.Errorf("%s: %w", host, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: /_ping answered %s", host, resp.Status)
	}
	return nil
}

// ContainerdSocket is CONTAINERD_ADDRESS, else /run/containerd/containerd.sock.
func ContainerdSocket() string {
	if s := os.Getenv("CONTAINERD_ADDRESS"); s != "" {
		return strings.TrimPrefix(s, "unix://")
	}
	return "/run/containerd/containerd.sock"
}

// RequireContainerd skips tb unless containerd answers a version request on
// ContainerdSocket, or fails it when REQUIRE_CONTAINERD=1.
func RequireContainerd(tb testing.TB) {
	tb.Helper()
	if err := PingContainerd(context.Background(), ContainerdSocket()); err != nil {
		if os.Getenv("REQUIRE_CONTAINERD") == "1" {
			tb.Fatalf("REQUIRE_CONTAINERD=1 but containerd does not answer: %v", err)
		}
		tb.Skipf("no containerd: %v (set REQUIRE_CONTAINERD=1 to fail instead)", err)
	}
}

// PingContainerd makes a gRPC call to containerd's version service over the unix
// socket, with the standard library's HTTP/2 framing, so that tests which only
// need to know whether containerd answers do not compile its client.
func PingContainerd(ctx context.Context, socket string) error {
	tr := &http.Transport{
		Protocols: new(http.Protocols),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	tr.Protocols.SetUnencryptedHTTP2(true) // gRPC is HTTP/2 without TLS on the socket
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// An empty message (google.protobuf.Empty): no compression, length 0.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://containerd/containerd.services.version.v1.Version/Version", bytes.NewReader(make([]byte, 5)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", socket, err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	status := resp.Trailer.Get("Grpc-Status")
	if status == "" {
		status = resp.Header.Get("Grpc-Status")
	}
	if resp.StatusCode != http.StatusOK || status != "0" {
		return fmt.Errorf("%s: version call answered %s, grpc-status %q", socket, resp.Status, status)
	}
	return nil
}

// ImportRefusesNonImages checks that imp refuses archives that hold no image
// (garbage bytes, an empty file, a tarball of some other file) with an error of
// kind errdefs.ErrInvalid that names the archive formats it reads: the caller
// gave a bad file, the runtime is not at fault.
func ImportRefusesNonImages(t *testing.T, imp runtimes.ImageImporter) {
	t.Helper()
	var hostTar bytes.Buffer
	tw := tar.NewWriter(&hostTar)
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/hostname", Mode: 0o644, Size: 5, ModTime: time.Unix(0, 0)}))
	_, err := tw.Write([]byte("host\n"))
	must(t, err)
	must(t, tw.Close())
	for name, archive := range map[string][]byte{
		"garbage":          []byte("this is not an image archive\n"),
		"empty":            nil,
		"tar of /etc file": hostTar.Bytes(),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			refs, err := imp.ImportImage(ctx, bytes.NewReader(archive))
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("ImportImage = %v, %v; want an ErrInvalid error", refs, err)
			}
			if !strings.Contains(err.Error(), "docker save") || !strings.Contains(err.Error(), "OCI") {
				t.Errorf("error %q does not name the archive formats (`docker save`, OCI layout)", err)
			}
		})
	}
}
