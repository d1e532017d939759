// Command mkfixture makes an upgrade fixture: a data directory that an old
// Portico build really wrote, with what that build answered.
//
//	go run ./internal/upgradetest/mkfixture REV     (from the repository's root)
//
// It checks REV out in a detached worktree under /tmp (the repository's own
// working tree is not touched; the worktree is removed after), builds
// cmd/portico there, and starts it (`serve --runtime process`) on a new data
// directory, the admin API on 127.0.0.1:31500, the gateway on
// 127.0.0.1:31501 and, where the build has `portico tls init` (run first, so
// that tls/ holds the development CA), its TLS listener on 127.0.0.1:31503;
// it serves a JWT issuer on 127.0.0.1:31502 meanwhile (MKFIXTURE_PORTS=N
// moves the four to N..N+3). Through the admin API it makes a configuration
// that uses what a user would: Zip functions (a bash bootstrap, bootstrap.sh,
// needing nothing but bash), versions, a plain and a weighted alias,
// environment variables, reserved and provisioned concurrency, an event
// invoke config, tags and a Lambda permission; an IAM user whose key signs
// requests to a REST API with AWS_IAM authorization, an HTTP API with a JWT
// authorizer, a WebSocket API with a $connect authorizer and a custom domain
// served over HTTPS (optional.go); a REST API from an OpenAPI document with a Lambda proxy route
// naming its alias by a stage variable, MOCK routes, an API key route, a
// Lambda TOKEN authorizer, a request validator and a model, gateway responses,
// a resource policy and binary media types; two deployments to stage prod
// (the first's answers recorded, for the rollback), a stage with a canary,
// method settings (one with no throttle, one a rate with a burst of 0), the
// stage cache, an access log, two API keys and usage plans whose usage real
// requests count; an HTTP API with stage variables, route settings and CORS;
// a WebSocket API with two-way routes; a custom domain mapped to the REST and
// the HTTP API; a stack record; and, last, an Event invocation left queued
// (its function has a reserved concurrency of 0) when the server stops. A
// step the old build refuses (a feature it did not have yet) is recorded in
// the golden file's skipped list, not fatal.
//
// It records every readback (admin API GETs) and a set of gateway requests
// with their answers, stops the server with SIGTERM and writes
// internal/upgradetest/testdata/REV/{data.tar.gz,golden.json} and, with the
// IAM user, iam-key (the key file that lived beside the data directory).
// Needs git, go and bash; run it on a quiet machine (it uses ports 31500 to
// 31503).
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/upgradetest"
)

//go:embed bootstrap.sh
var bootstrap []byte

// The server's listeners and the JWT issuer (which the upgrade test serves
// at the same address again), on four ports from 31500, or from
// MKFIXTURE_PORTS (a machine where those are taken).
var (
	basePort    = portsFrom(os.Getenv("MKFIXTURE_PORTS"))
	adminAddr   = addr(0)
	gatewayAddr = addr(1)
	issuerAddr  = addr(2)
	tlsAddr     = addr(3)
)

func portsFrom(v string) int {
	if n, err := strconv.Atoi(v); err == nil && n > 1024 && n < 65500 {
		return n
	}
	return 31500
}

func addr(i int) string { return "127.0.0.1:" + strconv.Itoa(basePort+i) }

const (
	// Key is the usage plan's API key value.
	apiKey  = "upgradeFixtureKey0000000000000001"
	apiKey2 = "upgradeFixtureKey0000000000000002"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./internal/upgradetest/mkfixture REV")
		os.Exit(2)
	}
	// An interrupt cancels the build and the server, and the worktree and
	// the temporary directory are still removed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkfixture:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rev string) error {
	root, err := output(ctx, "", "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return err
	}
	short, err := output(ctx, root, "git", "rev-parse", "--short=7", rev)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "portico-mkfixture-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	src := filepath.Join(tmp, "src")
	if _, err := output(ctx, root, "git", "worktree", "add", "--detach", src, short); err != nil {
		return err
	}
	defer func() {
		_, _ = output(context.Background(), root, "git", "worktree", "remove", "--force", src)
	}()
	bin := filepath.Join(tmp, "portico")
	fmt.Fprintln(os.Stderr, "building", short)
	if _, err := output(ctx, src, "go", "build", "-trimpath", "-o", bin, "./cmd/portico"); err != nil {
		return err
	}
	schemaSrc, err := os.ReadFile(filepath.Join(src, "store", "store.go"))
	if err != nil {
		return err
	}
	schema := schemaOf(string(schemaSrc))
	data := filepath.Join(tmp, "data")
	m := &maker{ctx: ctx, c: &http.Client{Timeout: 60 * time.Second}, admin: "http://" + adminAddr, gateway: "http://" + gatewayAddr,
		g: upgradetest.Golden{Rev: short, Schema: schema, AdminURL: "http://" + adminAddr, GatewayURL: "http://" + gatewayAddr, UsageKey: apiKey}}
	// HTTPS with the development CA under tls/, where the build has it.
	tlsListen := "off"
	if _, err := output(ctx, tmp, bin, "tls", "init", "--data-dir", data, "--tls-listen", tlsAddr); err != nil {
		m.g.Skipped = append(m.g.Skipped, "portico tls init: "+err.Error())
	} else {
		tlsListen, m.g.TLSURL = tlsAddr, "https://"+tlsAddr
		ca, err := os.ReadFile(filepath.Join(data, "tls", "ca.pem"))
		if err != nil {
			return err
		}
		m.roots = x509.NewCertPool()
		m.roots.AppendCertsFromPEM(ca)
	}
	// The JWT authorizer's issuer, for as long as the server runs.
	if m.issuer, err = upgradetest.NewIssuer(issuerAddr, "upgrade-api"); err != nil {
		return err
	}
	stopIssuer, err := m.issuer.Serve()
	if err != nil {
		return err
	}
	defer stopIssuer()
	// The server trusts the issuer's certificate (its keys are fetched over
	// https only) through Go's SSL_CERT_FILE, in the servers' environment
	// alone.
	issuerCA := filepath.Join(tmp, "issuer.pem")
	if err := os.WriteFile(issuerCA, m.issuer.CertPEM(), 0o600); err != nil {
		return err
	}
	serverEnv = append(serverEnv, "SSL_CERT_FILE="+issuerCA)
	// An Image function first, on the docker runtime (only it takes one);
	// the rest on the process runtime, which reads it back all the same.
	if err := m.imageFunction(ctx, tmp, bin, data, tlsListen); err != nil {
		return err
	}
	srv, err := start(ctx, bin, data, filepath.Join(tmp, "serve.log"), tlsListen, "process")
	if err != nil {
		return err
	}
	err = m.configure()
	if serr := stop(srv); err == nil {
		err = serr
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(tmp, "serve.log"))
		return fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	out := filepath.Join(root, "internal", "upgradetest", "testdata", short)
	if err := os.MkdirAll(out, 0o755); err != nil { //nolint:gosec // G301: testdata in the repository, read by everyone
		return err
	}
	if err := tarGz(data, filepath.Join(out, "data.tar.gz")); err != nil {
		return err
	}
	if m.g.IAM != nil {
		// The key that sealed the IAM secrets lives beside the data
		// directory (DATA-DIR.iam-key), not in it.
		key, err := os.ReadFile(data + ".iam-key")
		if err != nil {
			return fmt.Errorf("the IAM key file: %w", err)
		}
		if err := os.WriteFile(filepath.Join(out, upgradetest.IAMKeyFile), key, 0o600); err != nil { //nolint:gosec // G703: testdata in the repository, under the fixture's own directory
			return err
		}
	}
	g, err := json.MarshalIndent(m.g, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "golden.json"), append(g, '\n'), 0o644); err != nil { //nolint:gosec // G306: testdata in the repository
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (schema %d, %d readbacks, %d requests, %d skipped)\n", out, schema, len(m.g.Readbacks), len(m.g.Requests), len(m.g.Skipped))
	return nil
}

// schemaOf reads SchemaVersion from store/store.go's source.
func schemaOf(src string) int {
	const decl = "const SchemaVersion = "
	i := strings.Index(src, decl)
	if i < 0 {
		return 0
	}
	rest := src[i+len(decl):]
	n := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	v, _ := strconv.Atoi(rest[:n])
	return v
}

func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // G702: git and go with this tool's own arguments
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// serverEnv is more environment for the servers start runs.
var serverEnv []string

func start(ctx context.Context, bin, data, logFile, tlsListen, runtime string) (*exec.Cmd, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--runtime", runtime, "--data-dir", data,
		"--listen", gatewayAddr, "--admin-listen", adminAddr, "--tls-listen", tlsListen, "--log-level", "info")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(append(os.Environ(), "PORTICO_CONFIG=/dev/null"), serverEnv...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for range 300 {
		resp, err := http.Get("http://" + adminAddr + "/2015-03-31/functions")
		if err == nil {
			_ = resp.Body.Close()
			return cmd, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	raw, _ := os.ReadFile(logFile)
	return nil, fmt.Errorf("the old build did not answer on %s:\n%s", adminAddr, raw)
}

// stop stops the server with SIGTERM, as an operator would before an upgrade.
func stop(cmd *exec.Cmd) error {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		return errors.New("the old build did not stop within 60 s of SIGTERM")
	}
}

// skipped says whether tarGz leaves out rel, a path in the data directory:
// what a start makes again when it is missing (the internal sandbox CA and
// its key under tls, kept out of the repository; the sandboxes' trust
// bundle, which holds the host's roots; run state) and logs. The
// development CA of `portico tls init` under tls stays: it signs the custom
// domains' certificates, and a client trusts it.
func skipped(rel string) bool {
	top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	return strings.HasPrefix(filepath.Base(rel), "sandbox-ca") || top == "sandbox-trust" || top == "run" || top == "logs" || strings.HasSuffix(rel, ".log")
}

// tarGz writes dir's regular files (the store and the code blobs; not what
// skipped names, nor sockets) as a gzipped tar.
func tarGz(dir, out string) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil
		}
		if skipped(rel) {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = time.Unix(0, 0), time.Time{}, time.Time{}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := os.Open(path) //nolint:gosec // G122: the stopped server's data directory, this tool's own
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644) //nolint:gosec // G306: testdata in the repository
}

type maker struct {
	ctx            context.Context
	c              *http.Client
	admin, gateway string
	g              upgradetest.Golden
	planID, keyID  string
	plan2ID        string
	hasDomain      bool
	hasV2Mapping   bool
	// What the optional features made, for the requests and readbacks:
	// the IAM-signed REST API, the JWT HTTP API, the WebSocket API with a
	// $connect authorizer, the HTTPS custom domain.
	issuer       *upgradetest.Issuer
	roots        *x509.CertPool
	iamAPI       string
	jwtAPI       string
	guardedWS    string
	secureDomain bool
	provisioned  bool
	imageFn      bool
}

// call sends a JSON request to the admin API and decodes its answer into out
// (when not nil); an answer other than 2xx is an error.
func (m *maker) call(method, path string, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(m.ctx, method, m.admin+path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w: %s", method, path, err, raw)
		}
	}
	return nil
}

// optional is call for a step an old build may lack: its refusal is recorded
// as skipped.
func (m *maker) optional(method, path string, body, out any) bool {
	if err := m.call(method, path, body, out); err != nil {
		m.g.Skipped = append(m.g.Skipped, err.Error())
		fmt.Fprintln(os.Stderr, "skipped:", err)
		return false
	}
	return true
}

func (m *maker) readback(name, path string) {
	m.g.Readbacks = append(m.g.Readbacks, upgradetest.Exchange{Name: name, Method: http.MethodGet, Path: path})
}

// request sends a gateway request now and records it with its answer.
func (m *maker) request(e upgradetest.Exchange) (upgradetest.Exchange, error) {
	base := m.gateway
	if e.Admin {
		base = m.admin
	}
	if e.TLS {
		base = m.g.TLSURL
	}
	got, err := upgradetest.SendWith(m.ctx, m.c, base, e, upgradetest.Signer{IAM: m.g.IAM, JWT: m.g.JWT, RootCAs: m.roots})
	if err != nil {
		return got, err
	}
	fmt.Fprintf(os.Stderr, "%s: %d %v %v\n", e.Name, got.Status, got.Answer, got.Frames)
	return got, nil
}

func zipOf(file string, body []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: file, Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (m *maker) configure() error {
	code, err := zipOf("bootstrap", bootstrap)
	if err != nil {
		return err
	}
	if err := m.functions(code); err != nil {
		return err
	}
	rest, err := m.restAPI()
	if err != nil {
		return err
	}
	httpAPI, err := m.httpAPI()
	if err != nil {
		return err
	}
	ws, err := m.webSocketAPI()
	if err != nil {
		return err
	}
	m.domain(rest, httpAPI)
	m.iam()
	m.jwt()
	m.guardedWebSocket()
	m.secureDomainName(rest)
	m.provisionedConcurrency()
	if err := m.requests(rest, httpAPI, ws); err != nil {
		return err
	}
	// evt takes no calls (reserved concurrency 0), so that an Event
	// invocation of it is still queued when the server stops.
	if err := m.call("PUT", "/2017-10-31/functions/evt/concurrency", map[string]any{"ReservedConcurrentExecutions": 0}, nil); err != nil {
		return err
	}
	m.readbacks(rest, httpAPI, ws)
	for i, e := range m.g.Readbacks {
		got, err := upgradetest.Send(m.ctx, m.c, m.admin, e)
		if err != nil {
			return err
		}
		m.g.Readbacks[i] = got
	}
	queued, err := m.request(upgradetest.Exchange{Name: "queue an Event invocation of evt", Admin: true, Method: "POST",
		Path: "/2015-03-31/functions/evt/invocations", Headers: map[string]string{"X-Amz-Invocation-Type": "Event"},
		Body: `{"marker":"` + queuedMarker + `"}`})
	if err != nil {
		return err
	}
	if queued.Status != http.StatusAccepted {
		return fmt.Errorf("the Event invocation of evt: %d %v", queued.Status, queued.Answer)
	}
	m.g.QueuedEvent = upgradetest.QueuedEvent{Function: "evt", Marker: queuedMarker}
	return nil
}

// queuedMarker is in the payload of the Event invocation left queued.
const queuedMarker = "queued-before-the-upgrade"

const role = "arn:aws:iam::000000000000:role/upgrade"

func (m *maker) functions(code []byte) error {
	zipB64 := base64.StdEncoding.EncodeToString(code)
	for _, f := range []struct{ name, handler string }{{"hello", "hello"}, {"authz", "auth"}, {"wsfn", "ws"}, {"evt", "evt"}} {
		body := map[string]any{
			"FunctionName": f.name, "Runtime": "provided.al2023", "Role": role, "Handler": f.handler,
			"Code": map[string]any{"ZipFile": zipB64}, "Description": "upgrade fixture " + f.name,
			"Timeout": 10, "MemorySize": 256,
			"Environment": map[string]any{"Variables": map[string]string{"GREETING": "hi"}},
		}
		if err := m.call("POST", "/2015-03-31/functions", body, nil); err != nil {
			return err
		}
		if err := m.call("POST", "/2015-03-31/functions/"+f.name+"/versions", map[string]any{"Description": "first"}, nil); err != nil {
			return err
		}
	}
	// hello 2: a new environment; live -> 2, split -> 1 with a quarter on 2.
	if err := m.call("PUT", "/2015-03-31/functions/hello/configuration", map[string]any{
		"Environment": map[string]any{"Variables": map[string]string{"GREETING": "hey", "MODE": "two"}}, "Timeout": 12,
	}, nil); err != nil {
		return err
	}
	if err := m.call("POST", "/2015-03-31/functions/hello/versions", map[string]any{"Description": "second"}, nil); err != nil {
		return err
	}
	if err := m.call("POST", "/2015-03-31/functions/hello/aliases", map[string]any{"Name": "live", "FunctionVersion": "2", "Description": "what prod serves"}, nil); err != nil {
		return err
	}
	if err := m.call("POST", "/2015-03-31/functions/hello/aliases", map[string]any{"Name": "old", "FunctionVersion": "1"}, nil); err != nil {
		return err
	}
	if err := m.call("POST", "/2015-03-31/functions/hello/aliases", map[string]any{"Name": "split", "FunctionVersion": "1",
		"RoutingConfig": map[string]any{"AdditionalVersionWeights": map[string]float64{"2": 0.25}}}, nil); err != nil {
		return err
	}
	if err := m.call("POST", "/2015-03-31/functions/authz/aliases", map[string]any{"Name": "live", "FunctionVersion": "1"}, nil); err != nil {
		return err
	}
	m.optional("PUT", "/2017-10-31/functions/hello/concurrency", map[string]any{"ReservedConcurrentExecutions": 7}, nil)
	m.optional("PUT", "/2019-09-25/functions/hello/event-invoke-config", map[string]any{"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 600}, nil)
	m.optional("POST", "/2015-03-31/functions/hello/policy", map[string]any{"StatementId": "apigw", "Action": "lambda:InvokeFunction",
		"Principal": "apigateway.amazonaws.com", "SourceArn": "arn:aws:execute-api:us-east-1:000000000000:*"}, nil)
	m.optional("POST", "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:hello", map[string]any{"Tags": map[string]string{"tier": "gold"}}, nil)
	return nil
}

// restDoc is the REST API's document; mock is what GET /mock answers, which
// the second deployment changes.
func restDoc(mock string) string {
	return `openapi: 3.0.1
info: {title: shop, version: "1.0", description: upgrade fixture}
x-amazon-apigateway-api-key-source: HEADER
x-amazon-apigateway-binary-media-types: [image/png]
x-amazon-apigateway-request-validators:
  all: {validateRequestBody: true, validateRequestParameters: true}
x-amazon-apigateway-gateway-responses:
  MISSING_AUTHENTICATION_TOKEN:
    statusCode: 404
    responseParameters: {gatewayresponse.header.X-Fixture: "'gone'"}
    responseTemplates: {application/json: '{"message":"no such route","type":"$context.error.responseType"}'}
  DEFAULT_4XX:
    responseParameters: {gatewayresponse.header.X-Fixture: "'4xx'"}
x-amazon-apigateway-policy:
  Version: "2012-10-17"
  Statement:
    - {Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*"}
    - {Effect: Deny, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*/GET/denied", Condition: {IpAddress: {"aws:SourceIp": ["127.0.0.0/8"]}}}
components:
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
    tok:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer:
        type: token
        authorizerUri: function:authz:live
        identitySource: method.request.header.Authorization
        authorizerResultTtlInSeconds: 300
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        age: {type: integer, minimum: 0}
paths:
  /hello:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: function:hello:${stageVariables.alias}
  /mock:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default:
            statusCode: "200"
            responseTemplates: {application/json: '{"deployment":"` + mock + `","stage":"$context.stage","colour":"$stageVariables.colour"}'}
  /greet:
    get:
      parameters: [{name: who, in: query}]
      x-amazon-apigateway-integration:
        type: aws
        httpMethod: POST
        uri: function:hello:${stageVariables.alias}
        requestTemplates: {application/json: '{"who":"$input.params(''who'')","stage":"$context.stage"}'}
        responses:
          default: {statusCode: "200", responseTemplates: {application/json: '{"said":$input.json(''$.body''),"to":"$input.params(''who'')"}'}}
  /keyed:
    get:
      security: [{api_key: []}]
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default: {statusCode: "200", responseTemplates: {application/json: '{"keyed":true}'}}
  /secure:
    get:
      security: [{tok: []}]
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default: {statusCode: "200", responseTemplates: {application/json: '{"principal":"$context.authorizer.principalId","who":"$context.authorizer.who"}'}}
  /denied:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default: {statusCode: "200"}
  /pets:
    post:
      x-amazon-apigateway-request-validator: all
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/Pet'}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default: {statusCode: "200", responseTemplates: {application/json: '{"created":"$input.path(''$.name'')"}'}}
`
}

type importAnswer struct {
	API struct {
		ID string `json:"id"`
	} `json:"api"`
}

type deployAnswer struct {
	Deployment struct {
		ID string `json:"id"`
	} `json:"deployment"`
}

func (m *maker) restAPI() (string, error) {
	var imp importAnswer
	if err := m.call("POST", "/portico/v1/apis/import?name=shop&protocol=REST", restDoc("one"), &imp); err != nil {
		return "", err
	}
	id := imp.API.ID
	var d1 deployAnswer
	if err := m.call("POST", "/portico/v1/apis/"+id+"/deployments", map[string]any{"description": "first", "stageName": "prod",
		"stageDescription": "production", "variables": map[string]string{"alias": "live", "colour": "red"}}, &d1); err != nil {
		return "", err
	}
	// What the first deployment answers, for the rollback.
	m.g.Rollback = upgradetest.Rollback{API: id, Stage: "prod", Deployment: d1.Deployment.ID}
	for _, e := range []upgradetest.Exchange{
		{Name: "rest mock under the first deployment", Method: "GET", Path: "/" + id + "/prod/mock"},
		{Name: "rest hello under the first deployment", Method: "GET", Path: "/" + id + "/prod/hello"},
	} {
		got, err := m.request(e)
		if err != nil {
			return "", err
		}
		m.g.Rollback.Requests = append(m.g.Rollback.Requests, got)
	}
	if err := m.call("PUT", "/portico/v1/apis/"+id+"/import?mode=overwrite", restDoc("two"), nil); err != nil {
		return "", err
	}
	var d2 deployAnswer
	if err := m.call("POST", "/portico/v1/apis/"+id+"/deployments", map[string]any{"description": "second", "stageName": "prod"}, &d2); err != nil {
		return "", err
	}
	// Stage settings, API Gateway's way: first a method setting with no
	// throttle (schema 1 stored 0/0 for it), then throttles, one a rate
	// with a burst of 0 (schema 3 leaves that burst out).
	m.optional("PATCH", "/restapis/"+id+"/stages/prod", map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/~1hello/GET/metrics/enabled", "value": "true"},
	}}, nil)
	m.optional("PATCH", "/restapis/"+id+"/stages/prod", map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/~1pets/POST/throttling/rateLimit", "value": "100"},
		{"op": "replace", "path": "/~1pets/POST/throttling/burstLimit", "value": "0"},
	}}, nil)
	m.optional("PATCH", "/restapis/"+id+"/stages/prod", map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "500"},
		{"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "250"},
		{"op": "replace", "path": "/~1mock/GET/throttling/rateLimit", "value": "100"},
		{"op": "replace", "path": "/~1mock/GET/metrics/enabled", "value": "true"},
		{"op": "replace", "path": "/tracingEnabled", "value": "false"},
	}}, nil)
	// beta: the second deployment, with a canary on the first taking every request.
	m.optional("POST", "/restapis/"+id+"/stages", map[string]any{"stageName": "beta", "deploymentId": d2.Deployment.ID,
		"description": "canary stage", "variables": map[string]string{"alias": "old", "colour": "blue"}}, nil)
	m.optional("PATCH", "/restapis/"+id+"/stages/beta", map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "100"},
		{"op": "replace", "path": "/canarySettings/deploymentId", "value": d1.Deployment.ID},
		{"op": "replace", "path": "/canarySettings/stageVariableOverrides/colour", "value": "green"},
	}}, nil)
	// The stage cache, on for GET /mock.
	m.optional("PATCH", "/restapis/"+id+"/stages/prod", map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
		{"op": "replace", "path": "/~1mock/GET/caching/enabled", "value": "true"},
		{"op": "replace", "path": "/~1mock/GET/caching/ttlInSeconds", "value": "120"},
	}}, nil)
	m.optional("PUT", "/portico/v1/stacks/shop", map[string]any{"name": "shop", "template": "Resources: {}\n",
		"resources": map[string]any{"ShopApi": map[string]any{"type": "AWS::Serverless::Api", "id": id}}}, nil)
	m.optional("PUT", "/portico/v1/apis/"+id+"/stages/prod/access-log", map[string]any{"format": "json", "destinationArn": "/dev/null"}, nil)
	m.optional("PUT", "/tags/arn:aws:apigateway:us-east-1::/restapis/"+id, map[string]any{"tags": map[string]string{"team": "upgrade"}}, nil)

	// An API key and a usage plan on prod.
	var key struct {
		ID string `json:"id"`
	}
	if err := m.call("POST", "/apikeys", map[string]any{"name": "fixture-key", "value": apiKey, "enabled": true, "description": "upgrade", "tags": map[string]string{"team": "upgrade"}}, &key); err != nil {
		return "", err
	}
	var plan struct {
		ID string `json:"id"`
	}
	if err := m.call("POST", "/usageplans", map[string]any{"name": "gold", "description": "fixture plan",
		"apiStages": []map[string]any{{"apiId": id, "stage": "prod", "throttle": map[string]any{"/keyed/GET": map[string]any{"rateLimit": 50, "burstLimit": 20}}}},
		"throttle":  map[string]any{"rateLimit": 100, "burstLimit": 200},
		"quota":     map[string]any{"limit": 10000, "period": "DAY"},
		"tags":      map[string]string{"team": "upgrade"}}, &plan); err != nil {
		return "", err
	}
	if err := m.call("POST", "/usageplans/"+plan.ID+"/keys", map[string]any{"keyId": key.ID, "keyType": "API_KEY"}, nil); err != nil {
		return "", err
	}
	m.planID, m.keyID = plan.ID, key.ID
	// A second plan on the same stage whose throttle is a rate with a burst
	// of 0 (schema 3 reads that burst as not set), with its own key.
	var key2 struct {
		ID string `json:"id"`
	}
	if err := m.call("POST", "/apikeys", map[string]any{"name": "fixture-key-2", "value": apiKey2, "enabled": true}, &key2); err != nil {
		return "", err
	}
	var plan2 struct {
		ID string `json:"id"`
	}
	if err := m.call("POST", "/usageplans", map[string]any{"name": "silver",
		"apiStages": []map[string]any{{"apiId": id, "stage": "prod"}},
		"throttle":  map[string]any{"rateLimit": 10, "burstLimit": 0},
		"quota":     map[string]any{"limit": 500, "period": "MONTH"}}, &plan2); err != nil {
		return "", err
	}
	if err := m.call("POST", "/usageplans/"+plan2.ID+"/keys", map[string]any{"keyId": key2.ID, "keyType": "API_KEY"}, nil); err != nil {
		return "", err
	}
	m.plan2ID = plan2.ID
	return id, nil
}

func (m *maker) httpAPI() (string, error) {
	doc := `openapi: 3.0.1
info: {title: edge, version: "2.0"}
components:
  securitySchemes:
    lam:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authorizer:
        type: request
        identitySource: $request.header.Authorization
        authorizerUri: function:authz:live
        authorizerResultTtlInSeconds: 0
paths:
  /private:
    get:
      security: [{lam: []}]
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: function:hello:live
        payloadFormatVersion: "2.0"
  /hello:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: function:hello:${stageVariables.alias}
        payloadFormatVersion: "2.0"
  /split:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: function:hello:old
        payloadFormatVersion: "1.0"
`
	var imp importAnswer
	if err := m.call("POST", "/portico/v1/apis/import?name=edge&protocol=HTTP", doc, &imp); err != nil {
		return "", err
	}
	id := imp.API.ID
	// CORS before the deployment, which serves it.
	m.optional("PATCH", "/v2/apis/"+id, map[string]any{"corsConfiguration": map[string]any{
		"allowOrigins": []string{"https://app.upgrade.test"}, "allowMethods": []string{"GET", "POST"},
		"allowHeaders": []string{"content-type", "x-trace"}, "maxAge": 600}}, nil)
	if err := m.call("POST", "/portico/v1/apis/"+id+"/deployments", map[string]any{"description": "first", "stageName": "prod",
		"variables": map[string]string{"alias": "live"}}, nil); err != nil {
		return "", err
	}
	m.optional("PATCH", "/v2/apis/"+id+"/stages/prod", map[string]any{
		"defaultRouteSettings": map[string]any{"throttlingRateLimit": 300, "throttlingBurstLimit": 150},
		"routeSettings":        map[string]any{"GET /hello": map[string]any{"throttlingRateLimit": 40, "throttlingBurstLimit": 0}},
		"description":          "http stage",
	}, nil)
	m.optional("POST", "/v2/tags/arn:aws:apigateway:us-east-1::/apis/"+id, map[string]any{"tags": map[string]string{"team": "upgrade"}}, nil)
	return id, nil
}

func (m *maker) webSocketAPI() (string, error) {
	integ := map[string]any{"type": "AWS_PROXY", "uri": "function:wsfn", "httpMethod": "POST"}
	api := map[string]any{"name": "chat", "protocol": "WEBSOCKET", "description": "fixture chat",
		"routeSelectionExpression": "$request.body.action",
		"routes": []map[string]any{
			{"routeKey": "$connect", "integration": integ},
			{"routeKey": "$default", "integration": integ, "routeResponseSelectionExpression": "$default"},
			{"routeKey": "ping", "integration": integ, "routeResponseSelectionExpression": "$default"},
		}}
	var out struct {
		ID string `json:"id"`
	}
	if err := m.call("POST", "/portico/v1/apis", api, &out); err != nil {
		return "", err
	}
	if err := m.call("POST", "/portico/v1/apis/"+out.ID+"/deployments", map[string]any{"description": "first", "stageName": "prod",
		"variables": map[string]string{"room": "lobby"}}, nil); err != nil {
		return "", err
	}
	return out.ID, nil
}

const domain = "api.upgrade.test"

func (m *maker) domain(rest, httpAPI string) {
	cert, key, err := selfSigned(domain)
	if err != nil {
		m.g.Skipped = append(m.g.Skipped, "a certificate for "+domain+": "+err.Error())
		return
	}
	if !m.optional("POST", "/domainnames", map[string]any{"domainName": domain, "tags": map[string]string{"team": "upgrade"},
		"certificateName": "fixture", "certificateBody": cert, "certificatePrivateKey": key}, nil) {
		return
	}
	if m.optional("POST", "/domainnames/"+domain+"/basepathmappings", map[string]any{"restApiId": rest, "stage": "prod", "basePath": "shop"}, nil) {
		m.hasDomain = true
	}
	if m.optional("POST", "/v2/domainnames/"+domain+"/apimappings", map[string]any{"apiId": httpAPI, "stage": "prod", "apiMappingKey": "edge"}, nil) {
		m.hasV2Mapping = true
	}
}

func (m *maker) requests(rest, httpAPI, ws string) error {
	r := "/" + rest
	list := []upgradetest.Exchange{
		{Name: "rest hello (alias live, version 2)", Method: "GET", Path: r + "/prod/hello"},
		{Name: "rest mock (second deployment)", Method: "GET", Path: r + "/prod/mock"},
		{Name: "rest mock on beta (canary: the first deployment)", Method: "GET", Path: r + "/beta/mock"},
		{Name: "rest hello on beta (canary, alias old)", Method: "GET", Path: r + "/beta/hello"},
		{Name: "rest keyed without a key", Method: "GET", Path: r + "/prod/keyed"},
		{Name: "rest keyed with a wrong key", Method: "GET", Path: r + "/prod/keyed", Headers: map[string]string{"x-api-key": "nope-nope-nope-nope-nope"}},
		{Name: "rest keyed 1", Method: "GET", Path: r + "/prod/keyed", Headers: map[string]string{"x-api-key": apiKey}},
		{Name: "rest keyed 2", Method: "GET", Path: r + "/prod/keyed", Headers: map[string]string{"x-api-key": apiKey}},
		{Name: "rest keyed 3", Method: "GET", Path: r + "/prod/keyed", Headers: map[string]string{"x-api-key": apiKey}},
		{Name: "rest keyed with the second plan's key (rate 10, burst 0)", Method: "GET", Path: r + "/prod/keyed", Headers: map[string]string{"x-api-key": apiKey2}},
		{Name: "rest secure without a token", Method: "GET", Path: r + "/prod/secure"},
		{Name: "rest secure denied", Method: "GET", Path: r + "/prod/secure", Headers: map[string]string{"Authorization": "deny"}},
		{Name: "rest secure allowed", Method: "GET", Path: r + "/prod/secure", Headers: map[string]string{"Authorization": "allow"}},
		{Name: "rest resource policy deny", Method: "GET", Path: r + "/prod/denied"},
		{Name: "rest pets valid", Method: "POST", Path: r + "/prod/pets", Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"name":"rex","age":3}`},
		{Name: "rest pets invalid body", Method: "POST", Path: r + "/prod/pets", Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"age":-1}`},
		{Name: "rest unknown route (gateway response)", Method: "GET", Path: r + "/prod/nowhere"},
		{Name: "rest unknown stage", Method: "GET", Path: r + "/nostage/mock"},
		{Name: "http hello (alias live)", Method: "GET", Path: "/" + httpAPI + "/prod/hello"},
		{Name: "http hello old (payload 1.0)", Method: "GET", Path: "/" + httpAPI + "/prod/split"},
		{Name: "http CORS preflight", Method: "OPTIONS", Path: "/" + httpAPI + "/prod/hello", Headers: map[string]string{
			"Origin": "https://app.upgrade.test", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
			Want: []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"}},
		{Name: "rest mock again (from the stage cache)", Method: "GET", Path: r + "/prod/mock"},
		{Name: "http private without a token", Method: "GET", Path: "/" + httpAPI + "/prod/private"},
		{Name: "http private denied", Method: "GET", Path: "/" + httpAPI + "/prod/private", Headers: map[string]string{"Authorization": "deny"}},
		{Name: "http private allowed", Method: "GET", Path: "/" + httpAPI + "/prod/private", Headers: map[string]string{"Authorization": "allow"}},
		{Name: "rest greet (AWS integration, mapping templates)", Method: "GET", Path: r + "/prod/greet?who=ann"},
		{Name: "http unknown route", Method: "GET", Path: "/" + httpAPI + "/prod/nowhere"},
		{Name: "invoke hello:live", Admin: true, Method: "POST", Path: "/2015-03-31/functions/hello:live/invocations", Body: `{}`},
		{Name: "invoke hello version 1", Admin: true, Method: "POST", Path: "/2015-03-31/functions/hello/invocations?Qualifier=1", Body: `{}`},
		{Name: "invoke hello $LATEST", Admin: true, Method: "POST", Path: "/2015-03-31/functions/hello/invocations", Body: `{}`},
		{Name: "invoke authz allow", Admin: true, Method: "POST", Path: "/2015-03-31/functions/authz:live/invocations",
			Body: `{"type":"TOKEN","authorizationToken":"allow","methodArn":"arn:aws:execute-api:us-east-1:000000000000:x/prod/GET/"}`},
		{Name: "invoke unknown function", Admin: true, Method: "POST", Path: "/2015-03-31/functions/nosuch/invocations", Body: `{}`},
		{Name: "websocket", Path: "/" + ws + "/prod", WebSocket: []string{`{"action":"ping"}`, `{"action":"other"}`, `not json`}},
	}
	if m.hasDomain {
		list = append(list, upgradetest.Exchange{Name: "custom domain mapping", Method: "GET", Path: "/shop/mock", Host: domain})
	}
	if m.hasV2Mapping {
		list = append(list, upgradetest.Exchange{Name: "custom domain api mapping", Method: "GET", Path: "/edge/split", Host: domain})
	}
	list = append(list, m.optionalRequests()...)
	for _, e := range list {
		got, err := m.request(e)
		if err != nil {
			return err
		}
		m.g.Requests = append(m.g.Requests, got)
	}
	// Usage counters are written through within a second or so; let them land.
	time.Sleep(2 * time.Second)
	return nil
}

func (m *maker) readbacks(rest, httpAPI, ws string) {
	for _, f := range []string{"hello", "authz", "wsfn", "evt"} {
		m.readback("get-function "+f, "/2015-03-31/functions/"+f)
		m.readback("list-versions "+f, "/2015-03-31/functions/"+f+"/versions")
		m.readback("list-aliases "+f, "/2015-03-31/functions/"+f+"/aliases")
	}
	m.readback("list-functions", "/2015-03-31/functions")
	m.readback("get-function hello:1", "/2015-03-31/functions/hello?Qualifier=1")
	m.readback("get-function-configuration hello:2", "/2015-03-31/functions/hello/configuration?Qualifier=2")
	m.readback("get-alias live", "/2015-03-31/functions/hello/aliases/live")
	m.readback("get-alias split", "/2015-03-31/functions/hello/aliases/split")
	m.readback("get-function-concurrency", "/2019-09-30/functions/hello/concurrency")
	m.readback("get-function-concurrency evt", "/2019-09-30/functions/evt/concurrency")
	m.readback("get-function-event-invoke-config", "/2019-09-25/functions/hello/event-invoke-config")
	m.readback("get-policy", "/2015-03-31/functions/hello/policy")
	m.readback("list-tags hello", "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:hello")
	for _, a := range []string{rest, httpAPI, ws} {
		p := "/portico/v1/apis/" + a
		m.readback("api "+a, p)
		m.readback("api deployments "+a, p+"/deployments")
		m.readback("api stages "+a, p+"/stages")
		m.readback("api stage prod history "+a, p+"/stages/prod/history")
	}
	m.readback("apis", "/portico/v1/apis")
	m.readback("export oas3", "/portico/v1/apis/"+rest+"/export?format=oas3")
	m.readback("deployment first", "/portico/v1/apis/"+rest+"/deployments/"+m.g.Rollback.Deployment)
	m.readback("get-rest-apis", "/restapis")
	m.readback("get-rest-api", "/restapis/"+rest)
	m.readback("get-stages", "/restapis/"+rest+"/stages")
	m.readback("get-stage prod", "/restapis/"+rest+"/stages/prod")
	m.readback("get-stage beta", "/restapis/"+rest+"/stages/beta")
	m.readback("get-deployments", "/restapis/"+rest+"/deployments")
	m.readback("get-resources", "/restapis/"+rest+"/resources?embed=methods")
	m.readback("get-authorizers", "/restapis/"+rest+"/authorizers")
	m.readback("get-models", "/restapis/"+rest+"/models")
	m.readback("get-request-validators", "/restapis/"+rest+"/requestvalidators")
	m.readback("get-gateway-responses", "/restapis/"+rest+"/gatewayresponses")
	m.readback("get-export prod oas30", "/restapis/"+rest+"/stages/prod/exports/oas30")
	m.readback("get-apis (v2)", "/v2/apis")
	for _, a := range []string{httpAPI, ws} {
		m.readback("v2 get-api "+a, "/v2/apis/"+a)
		m.readback("v2 get-stages "+a, "/v2/apis/"+a+"/stages")
		m.readback("v2 get-routes "+a, "/v2/apis/"+a+"/routes")
		m.readback("v2 get-integrations "+a, "/v2/apis/"+a+"/integrations")
		m.readback("v2 get-deployments "+a, "/v2/apis/"+a+"/deployments")
		m.readback("v2 get-authorizers "+a, "/v2/apis/"+a+"/authorizers")
	}
	m.readback("get-api-keys", "/apikeys?includeValues=true")
	m.readback("get-api-key", "/apikeys/"+m.keyID+"?includeValue=true")
	m.readback("get-usage-plans", "/usageplans")
	m.readback("get-usage-plan", "/usageplans/"+m.planID)
	m.readback("get-usage-plan-keys", "/usageplans/"+m.planID+"/keys")
	day := time.Now().UTC().Format(time.DateOnly)
	m.readback("get-usage", "/usageplans/"+m.planID+"/usage?startDate="+day+"&endDate="+day)
	m.readback("get-usage-plan silver", "/usageplans/"+m.plan2ID)
	m.readback("get-usage silver", "/usageplans/"+m.plan2ID+"/usage?startDate="+day+"&endDate="+day)
	m.readback("get-tags rest", "/tags/arn:aws:apigateway:us-east-1::/restapis/"+rest)
	m.readback("get-tags http", "/v2/tags/arn:aws:apigateway:us-east-1::/apis/"+httpAPI)
	m.readback("get-stacks", "/portico/v1/stacks")
	m.readback("get-stack shop", "/portico/v1/stacks/shop")
	m.readback("v2 get-api-mappings", "/v2/domainnames/"+domain+"/apimappings")
	m.readback("get-domain-names", "/domainnames")
	m.readback("get-domain-name", "/domainnames/"+domain)
	m.readback("get-base-path-mappings", "/domainnames/"+domain+"/basepathmappings")
	m.readback("v2 get-domain-names", "/v2/domainnames")
	m.optionalReadbacks()
}

// selfSigned returns a PEM certificate for name, good for ten years, and its key.
func selfSigned(name string) (certPEM, keyPEM string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), nil
}
