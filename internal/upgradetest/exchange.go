package upgradetest

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"
)

// Send sends e's request to the server at base (http://host:port) and returns
// e with the answer filled in. A request's own Host (a custom domain) is sent
// as its Host header.
func Send(ctx context.Context, c *http.Client, base string, e Exchange) (Exchange, error) {
	return SendWith(ctx, c, base, e, Signer{})
}

// Signer holds what requests need beyond their recorded headers: the IAM
// key and the issuer that sign those marked Auth, and the roots that verify
// the TLS listener's certificates for those marked TLS.
type Signer struct {
	IAM     *IAMUser
	JWT     *Issuer
	RootCAs *x509.CertPool
}

// SendWith is Send signing e as its Auth says (with a signature or token made
// now) and, for a TLS request (base is then the TLS listener's URL), sending
// e's Host as the TLS server name.
func SendWith(ctx context.Context, c *http.Client, base string, e Exchange, s Signer) (Exchange, error) {
	if e.WebSocket != nil {
		return sendWebSocket(ctx, base, e)
	}
	req, err := http.NewRequestWithContext(ctx, e.Method, base+e.Path, strings.NewReader(e.Body))
	if err != nil {
		return e, err
	}
	for k, v := range e.Headers {
		req.Header.Set(k, v)
	}
	if e.Host != "" {
		req.Host = e.Host
	}
	if err := s.sign(req, e); err != nil {
		return e, fmt.Errorf("%s %s: %w", e.Method, e.Path, err)
	}
	if e.TLS {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.RootCAs, ServerName: e.Host, MinVersion: tls.VersionTLS12}}
		defer tr.CloseIdleConnections()
		c = &http.Client{Transport: tr, Timeout: c.Timeout}
	}
	resp, err := c.Do(req)
	if err != nil {
		return e, fmt.Errorf("%s %s: %w", e.Method, e.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return e, fmt.Errorf("%s %s: %w", e.Method, e.Path, err)
	}
	e.Status, e.Answer = resp.StatusCode, Decode(raw)
	e.Header = nil
	for _, h := range e.Want {
		if e.Header == nil {
			e.Header = map[string]string{}
		}
		e.Header[h] = resp.Header.Get(h)
	}
	return e, nil
}

func (s Signer) sign(req *http.Request, e Exchange) error {
	switch e.Auth {
	case "":
		return nil
	case "sigv4":
		if s.IAM == nil {
			return errors.New("no IAM key to sign with")
		}
		sum := sha256.Sum256([]byte(e.Body))
		return v4.NewSigner().SignHTTP(req.Context(), aws.Credentials{AccessKeyID: s.IAM.AccessKeyID, SecretAccessKey: s.IAM.SecretAccessKey},
			req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now())
	case "jwt":
		if s.JWT == nil {
			return errors.New("no issuer to mint a token")
		}
		tok, err := s.JWT.Token(time.Now(), "upgrade-tester")
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
	return fmt.Errorf("unknown Auth %q", e.Auth)
}

// Decode returns raw as a JSON value when it is JSON, else as a string.
func Decode(raw []byte) any {
	var v any
	if len(raw) > 0 && json.Unmarshal(raw, &v) == nil {
		return v
	}
	return string(raw)
}

func sendWebSocket(ctx context.Context, base string, e Exchange) (Exchange, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	h := http.Header{}
	for k, v := range e.Headers {
		h.Set(k, v)
	}
	conn, resp, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+e.Path, h)
	if resp != nil {
		e.Status = resp.StatusCode
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		e.Answer = Decode(raw)
	}
	if err != nil {
		if resp != nil {
			return e, nil // a refused handshake is an answer
		}
		return e, fmt.Errorf("dial %s: %w", e.Path, err)
	}
	defer func() { _ = conn.Close() }()
	e.Frames = nil
	for _, m := range e.WebSocket {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			return e, fmt.Errorf("%s: send %q: %w", e.Path, m, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, got, err := conn.ReadMessage()
		if err != nil {
			return e, fmt.Errorf("%s: the answer to %q: %w", e.Path, m, err)
		}
		e.Frames = append(e.Frames, string(got))
	}
	_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	return e, nil
}
