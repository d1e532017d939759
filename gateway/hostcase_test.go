package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestHostBasedURLsIgnoreCase: the host of a host-based stage URL is a host
// name, and host names are case-insensitive; API ids are lowercase. A fully
// qualified name's trailing dot is the same name, as for custom domains, and
// the event's domainName is without it.
func TestHostBasedURLsIgnoreCase(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	rest := e.deploy(proxyAPI(apis.ProtocolREST), "dev")
	for _, host := range []string{
		rest + ".execute-api.localhost",
		strings.ToUpper(rest) + ".execute-api.localhost",
		rest + ".EXECUTE-API.localhost",
		strings.ToUpper(rest[:3]) + rest[3:] + ".Execute-Api.Localhost:8080",
		rest + ".execute-api.localhost.",
		strings.ToUpper(rest) + ".execute-api.localhost.:8080",
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+e.srv.Addr()+"/dev/pets", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Host %s: %d %s", host, resp.StatusCode, b)
			continue
		}
		if got := str2(e.lastEvent(), "requestContext", "apiId"); got != rest {
			t.Errorf("Host %s: the event's apiId %q, want %q", host, got, rest)
		}
		if got := str2(e.lastEvent(), "requestContext", "domainName"); strings.HasSuffix(got, ".") || !strings.EqualFold(got, rest+".execute-api.localhost") {
			t.Errorf("Host %s: the event's domainName %q", host, got)
		}
	}
	// Not a host-based URL: a name one label short, another domain.
	for _, host := range []string{"execute-api.localhost", rest + ".execute-api.local", rest + "x.execute-api.localhost", rest + ".execute-api.localhost.."} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+e.srv.Addr()+"/dev/pets", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("Host %s was served", host)
		}
	}
}
