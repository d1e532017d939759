package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway/edge"
)

// This file holds `portico tls init` (the development CA) and `portico domain ...`
// (custom domain names and their mappings, clients of the admin API).

func newTLSCmd() *cobra.Command {
	tlsCmd := &cobra.Command{
		Use:   "tls",
		Short: "TLS for the gateway: a development certificate authority",
	}
	var dataDir, tlsListen string
	var starting, reset, ifNeeded bool
	initCmd := &cobra.Command{
		Use:   "init [NAME...]",
		Short: "Make a local CA and a gateway certificate for localhost and the names given",
		Long: `Make (or reuse) a development certificate authority in DATA-DIR/tls and sign a
certificate for localhost, 127.0.0.1, ::1, *.execute-api.localhost and the names
given. 'portico serve' then listens for HTTPS and wss on --tls-listen (:8443) with
it, and custom domain names without a certificate of their own are signed by the
same CA. Trust ca.pem in your browser and tools (printed below). Run it again to
add names, or to renew the certificate; the CA stays the same. --reset drops the
names that earlier runs added (the certificate covers the defaults and the names
given only). A NAME is a host name (api.example.test), a wildcard with one
leading label (*.example.test) or an IP address.

If the CA's key (ca-key.pem) is lost or the CA no longer loads, move ca.pem
away and run it again: it makes a new CA (trust the new ca.pem again) and a
certificate signed by it.

--if-needed issues a certificate only when there is none, it has expired or
expires within 30 days, or a NAME given is not in it (make run passes it, so
that a server it starts never meets an expired development certificate).

The instructions printed name the server's HTTPS port: --tls-listen
(PORTICO_TLS_LISTEN, as 'portico serve' reads it). --starting says that the
server starts next (make run runs 'portico tls init --starting' before 'portico
dev'), so there is nothing to restart.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The client flags are hidden here, but -o json is still read.
			if f := cmd.Flag("output"); f != nil && f.Value.String() == "json" {
				return fmt.Errorf("portico tls init prints text (what it made and how to trust it), not JSON: leave -o json out")
			}
			if dataDir == "" {
				dataDir = os.Getenv("PORTICO_DATA_DIR")
			}
			if dataDir == "" {
				dataDir = app.Defaults().DataDir
			}
			if tlsListen == "" {
				tlsListen = os.Getenv("PORTICO_TLS_LISTEN")
			}
			if tlsListen == "" {
				tlsListen = app.Defaults().TLSListen
			}
			_, statErr := os.Stat(filepath.Join(edge.DevCADir(dataDir), edge.DevCertFile))
			replacing := statErr == nil
			f, err := edge.InitDevCAWith(edge.DevCADir(dataDir), edge.DevInit{Names: args, Reset: reset, IfNeeded: ifNeeded}, time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !f.Issued {
				fmt.Fprintf(out, "development certificate %s is good until %s (for %v); nothing to do\n",
					f.Cert, f.NotAfter.UTC().Format(time.DateOnly), f.Names)
				return nil
			}
			if len(f.Dropped) > 0 {
				fmt.Fprintf(out, "dropped from the earlier certificate: %v\n", f.Dropped)
			}
			what := "reused the development CA"
			if f.NewCA {
				what = "made a development CA"
			}
			ca, _ := filepath.Abs(f.CACert)
			fmt.Fprintf(out, "%s: %s\n", what, ca)
			fmt.Fprintf(out, "gateway certificate: %s (key %s)\n  for %v\n  valid until %s\n\n", f.Cert, f.Key, f.Names, f.NotAfter.UTC().Format(time.DateOnly))
			fmt.Fprint(out, tlsServeHint(tlsListen, starting, replacing, f.ReplacedExpired))
			port := "8443"
			if _, p, err := net.SplitHostPort(tlsListen); err == nil && p != "" && p != "0" {
				port = p
			}
			fmt.Fprintf(out, `
Trust the CA where you call from:
  curl:      curl --cacert %[1]s https://localhost:%[3]s/...
  Go, AWS CLI: SSL_CERT_FILE=%[1]s  /  AWS_CA_BUNDLE=%[1]s
  Debian:    sudo cp %[1]s /usr/local/share/ca-certificates/portico-dev-ca.crt && sudo update-ca-certificates
  macOS:     sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %[1]s
  Chromium/Chrome (Linux): certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n portico-dev -i %[1]s
  Firefox:   Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import
The CA's key (%[2]s) can sign for any name: keep it to yourself.
`, ca, f.CAKey, port)
			return nil
		},
	}
	initCmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory (env PORTICO_DATA_DIR; default ./portico-data)")
	initCmd.Flags().StringVar(&tlsListen, "tls-listen", "", "the server's TLS listen address, which the instructions name (env PORTICO_TLS_LISTEN; default "+app.Defaults().TLSListen+")")
	initCmd.Flags().BoolVar(&reset, "reset", false, "drop the names earlier runs added: the certificate covers the defaults and the NAMEs given only")
	initCmd.Flags().BoolVar(&ifNeeded, "if-needed", false, "issue a certificate only when there is none, it expires within 30 days, or a NAME given is not in it")
	initCmd.Flags().BoolVar(&starting, "starting", false, "the server starts next (make run): say that it will serve HTTPS, not to restart it")
	tlsCmd.AddCommand(initCmd)
	return tlsCmd
}

// tlsServeHint says when the certificate is served: by the server about to
// start (starting); by a running server as soon as it is written, when it
// replaces one (a server watches the files of the certificate it started
// with); or, when it is the first, by a server started now (one running
// already started with its TLS listener off). A server run with --tls-cert
// serves that, never this one. expired: the certificate replaced had
// expired, so a server started since has its TLS listener off.
func tlsServeHint(tlsListen string, starting, replacing, expired bool) string {
	if tlsListen == "off" {
		return "The server's TLS listener is off (--tls-listen off): set --tls-listen (PORTICO_TLS_LISTEN) to serve HTTPS and wss with this certificate.\n"
	}
	if starting {
		return fmt.Sprintf("The server starting now serves HTTPS and wss with it on %s.\n", tlsListen)
	}
	if replacing && expired {
		return fmt.Sprintf("The certificate this replaces had expired: a 'portico serve' (or 'portico dev', make run) started with it has its TLS listener off; restart it to serve HTTPS and wss with this one on --tls-listen (%s). "+
			"One started before it expired, without --tls-cert, picks this one up as it is written.\n", tlsListen) + tlsCertKeptHint
	}
	if replacing {
		return fmt.Sprintf("A running 'portico serve' (or 'portico dev', make run) without --tls-cert picks it up as it is written, no restart needed: it serves HTTPS and wss with it on --tls-listen (%s). "+
			"(One whose certificate had expired when it started has its TLS listener off: restart it.)\n", tlsListen) + tlsCertKeptHint
	}
	return fmt.Sprintf("Restart 'portico serve' (or 'portico dev', make run) if it runs without --tls-cert: it started without a certificate, its TLS listener off; it serves HTTPS and wss with this one on --tls-listen (%s).\n", tlsListen) + tlsCertKeptHint
}

// tlsCertKeptHint is what the development certificate does for a server run
// with --tls-cert: nothing on the gateway's own names, restarted or not.
const tlsCertKeptHint = "A server run with --tls-cert keeps serving that certificate, after a restart too: this CA then signs only its custom domains that have no certificate of their own, those created from now on without a restart.\n"

// truststoreURI is the truststoreUri of --truststore v: a path, made an
// escaped file URI (the server decodes its percent-escapes), or a URI as
// `domain get` prints it (file:///abs/ca.pem, or another scheme the server
// judges), passed on as it is.
func truststoreURI(v string) (string, error) {
	if rest, ok := strings.CutPrefix(v, "file:/"); ok && !strings.HasPrefix(rest, "/") {
		v = "file:///" + rest // file:/abs/ca.pem, the URI's short form
	}
	if rest, ok := strings.CutPrefix(v, "file://"); ok {
		if !strings.HasPrefix(rest, "/") && !strings.HasPrefix(rest, "localhost/") {
			return "", fmt.Errorf("--truststore %q: a file URI holds an absolute path (file:///abs/ca.pem); or give the file's path, relative or not", v)
		}
		return v, nil
	}
	if scheme, _, ok := strings.Cut(v, "://"); ok && scheme != "" && !strings.ContainsAny(scheme, `/\.`) {
		return v, nil
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// domainJSON is the part of apigatewayv2's DomainName the domain commands show.
type domainJSON struct {
	DomainName string `json:"domainName"`
	Configs    []struct {
		CertificateArn string `json:"certificateArn"`
		Status         string `json:"domainNameStatus"`
		StatusMessage  string `json:"domainNameStatusMessage"`
	} `json:"domainNameConfigurations"`
	MTLS *struct {
		TruststoreURI string `json:"truststoreUri"`
	} `json:"mutualTlsAuthentication"`
}

// domainTable prints domain names: their status, certificate and mutual
// TLS, then the message of each whose status has one (why it is not served).
func domainTable(w io.Writer, ds ...domainJSON) error {
	rows := [][]string{}
	var notes []string
	for _, d := range ds {
		cert, status, mtls := "-", "", "-"
		if len(d.Configs) > 0 {
			if d.Configs[0].CertificateArn != "" {
				cert = d.Configs[0].CertificateArn
			}
			status = d.Configs[0].Status
			if m := d.Configs[0].StatusMessage; m != "" {
				notes = append(notes, d.DomainName+": "+m)
			}
		}
		if d.MTLS != nil {
			mtls = d.MTLS.TruststoreURI
		}
		rows = append(rows, []string{d.DomainName, status, cert, mtls})
	}
	if err := table(w, []string{"DOMAIN", "STATUS", "CERTIFICATE", "MUTUAL TLS"}, rows); err != nil {
		return err
	}
	for _, n := range notes {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

func newDomainCmd(g *globalFlags) *cobra.Command {
	d := &cobra.Command{
		Use:   "domain",
		Short: "Custom domain names and their API mappings",
		Long: `Custom domain names serve API stages at https://NAME/BASE-PATH/... over the TLS
listener, routed by SNI and Host. A domain has its own certificate (--cert/--key) or
one signed by the development CA (portico tls init); --truststore turns on mutual TLS.

  portico domain create api.example.com --cert api.pem --key api-key.pem
  portico domain map api.example.com ID prod            # the whole domain
  portico domain map api.example.com ID2 prod --path v2 # https://api.example.com/v2/...
  portico domain create '*.example.com'                 # wildcard, development CA
  portico domain mappings api.example.com
  portico domain unmap api.example.com v2

The admin API speaks API Gateway's shapes too: aws apigateway create-domain-name,
create-base-path-mapping and aws apigatewayv2 create-api-mapping with --endpoint-url.`,
	}
	var certFile, keyFile, truststore string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a custom domain name",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"domainName": args[0]}
			if (certFile == "") != (keyFile == "") {
				return fmt.Errorf("--cert and --key go together")
			}
			if certFile != "" {
				cert, err := os.ReadFile(certFile) //nolint:gosec // the user's own file
				if err != nil {
					return err
				}
				key, err := os.ReadFile(keyFile) //nolint:gosec // the user's own file
				if err != nil {
					return err
				}
				body["certificateBody"], body["certificatePrivateKey"] = string(cert), string(key)
			}
			if truststore != "" {
				uri, err := truststoreURI(truststore)
				if err != nil {
					return err
				}
				body["mutualTlsAuthentication"] = map[string]string{"truststoreUri": uri}
			}
			return g.run(cmd, http.MethodPost, "/domainnames", nil, body, nil, func(w io.Writer, raw []byte) error {
				var d struct {
					Name string `json:"domainName"`
				}
				if json.Unmarshal(raw, &d) != nil || d.Name == "" {
					d.Name = args[0]
				}
				_, _ = fmt.Fprintf(w, "created domain name %s\n", d.Name) // as stored: lower case, no trailing dot
				return nil
			})
		},
	}
	create.Flags().StringVar(&certFile, "cert", "", "certificate chain (PEM); default: signed by the development CA")
	create.Flags().StringVar(&keyFile, "key", "", "key of --cert (PEM)")
	create.Flags().StringVar(&truststore, "truststore", "", "CA bundle (PEM) for mutual TLS, a path or a file:///abs URI: clients must present a certificate it signed (read by the server)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List custom domain names",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Items []domainJSON `json:"items"`
			}
			if done, err := g.fetch(cmd, http.MethodGet, "/v2/domainnames", nil, nil, nil, &out); done || err != nil {
				return err
			}
			return domainTable(cmd.OutOrStdout(), out.Items...)
		},
	}
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a custom domain name",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d domainJSON
			if done, err := g.fetch(cmd, http.MethodGet, "/v2/domainnames/"+url.PathEscape(args[0]), nil, nil, nil, &d); done || err != nil {
				return err
			}
			return domainTable(cmd.OutOrStdout(), d)
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a custom domain name and its mappings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := g.do(cmd, http.MethodDelete, "/v2/domainnames/"+url.PathEscape(args[0]), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted domain name %s\n", args[0])
			return nil
		},
	}
	mappings := &cobra.Command{
		Use:   "mappings NAME",
		Short: "List a domain's API mappings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Items []struct {
					APIID string `json:"apiId"`
					ID    string `json:"apiMappingId"`
					Key   string `json:"apiMappingKey"`
					Stage string `json:"stage"`
				} `json:"items"`
			}
			if done, err := g.fetch(cmd, http.MethodGet, "/v2/domainnames/"+url.PathEscape(args[0])+"/apimappings", nil, nil, nil, &out); done || err != nil {
				return err
			}
			rows := [][]string{}
			for _, m := range out.Items {
				key := m.Key
				if key == "" {
					key = "(none)" // the whole domain, as unmap names it
				}
				rows = append(rows, []string{key, m.APIID, m.Stage, m.ID})
			}
			return table(cmd.OutOrStdout(), []string{"BASE PATH", "API", "STAGE", "MAPPING ID"}, rows)
		},
	}

	var basePath string
	mapCmd := &cobra.Command{
		Use:   "map NAME API-ID STAGE",
		Short: "Map a base path of a domain (--path, default the whole domain) to an API stage",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			scheme, host := "https", edge.CanonicalDomainName(args[0])
			if c, err := g.client(); err == nil {
				if websocketAPI(cmd.Context(), c, args[1]) {
					scheme = "wss" // clients connect with wss://; @connections is https://NAME/BASE-PATH/@connections
				}
				if port := tlsPort(cmd.Context(), c); port != "" && port != "443" {
					host = net.JoinHostPort(host, port) // the domain is served on the TLS listener's port
				}
			}
			return g.run(cmd, http.MethodPost, "/v2/domainnames/"+url.PathEscape(args[0])+"/apimappings", nil,
				map[string]string{"apiId": args[1], "stage": args[2], "apiMappingKey": basePath}, nil,
				func(w io.Writer, raw []byte) error {
					// The key as stored ("/v3" is v3), not as typed.
					var m struct {
						Key string `json:"apiMappingKey"`
					}
					if err := json.Unmarshal(raw, &m); err != nil {
						return err
					}
					_, err := fmt.Fprintf(w, "%s://%s/%s -> api %s stage %s\n", scheme, host, m.Key, args[1], args[2])
					return err
				})
		},
	}
	mapCmd.Flags().StringVar(&basePath, "path", "", "base path (API mapping key), e.g. v2 or orders/v2; empty maps the whole domain")
	unmap := &cobra.Command{
		Use:   "unmap NAME [BASE-PATH]",
		Short: "Remove the mapping at a base path (no BASE-PATH, or '(none)': the whole-domain mapping)",
		Long: "Remove the mapping at a base path. Without BASE-PATH, or with '(none)' (quoted in the shell), it removes the\n" +
			"mapping of the whole domain; a base path spelled none (no parentheses) is a mapping of its own, at /none.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := "(none)"
			if len(args) == 2 && args[1] != "" {
				key = args[1]
			}
			if _, err := g.do(cmd, http.MethodDelete, "/domainnames/"+url.PathEscape(args[0])+"/basepathmappings/"+url.PathEscape(key), nil, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "unmapped %s from %s\n", key, args[0])
			return nil
		},
	}
	d.AddCommand(create, list, get, del, mapCmd, mappings, unmap)
	return d
}

// tlsPort is the port of the server's gateway TLS listener, as GET
// /portico/v1/stats reports it; "" when TLS is off or the server does not say.
func tlsPort(ctx context.Context, c *client.Client) string {
	resp, err := c.Do(ctx, http.MethodGet, "/portico/v1/stats", nil, nil, nil)
	if err != nil {
		return ""
	}
	var st struct {
		Gateway struct {
			TLSAddr string `json:"tlsAddr"`
		} `json:"gateway"`
	}
	if json.Unmarshal(resp.Body, &st) != nil {
		return ""
	}
	_, port, err := net.SplitHostPort(st.Gateway.TLSAddr)
	if err != nil {
		return ""
	}
	return port
}
