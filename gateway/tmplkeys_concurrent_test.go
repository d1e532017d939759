package gateway

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestTemplateOverrideKeysConcurrent: requests whose request template names
// headers from the body ($context.requestOverride.header[$k], $k from the
// body's keySet()) each reach the backend with their own header names while
// other requests render at the same time. The header names pointed into the
// render's reused memory, and under load a request's backend saw another
// client's names. (TestBodyKeysStoredInContextOutliveTheRender in
// gateway/mapping checks the same deterministically.)
func TestTemplateOverrideKeysConcurrent(t *testing.T) {
	backend, _ := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Tenant-") {
				names = append(names, k+"="+r.Header.Get(k))
			}
		}
		sort.Strings(names)
		_, _ = io.WriteString(w, strings.Join(names, ","))
	})
	e := newEnv(t)
	id := e.deploy(&apis.API{Name: "keys", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/fwd", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "POST", URI: backend.URL,
			RequestTemplates: map[string]string{"application/json": `#set($hs = $input.path('$.fwd'))#foreach($k in $hs.keySet())#set($context.requestOverride.header[$k] = $hs.get($k))#end{"id": "$input.path('$.id')"}`}}},
	}}}, "dev", nil)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				tenant := fmt.Sprintf("T%02d%03d", w, i)
				body := fmt.Sprintf(`{"id": %q, "fwd": {"X-Tenant-%s": "tenant-%s"}, "pad": %q}`, tenant, tenant, tenant, strings.Repeat(tenant, i%7))
				req, _ := http.NewRequest("POST", e.srv.URL+"/"+id+"/dev/fwd", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					continue
				}
				got, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if want := "X-Tenant-" + tenant + "=tenant-" + tenant; resp.StatusCode != 200 || string(got) != want {
					errs <- fmt.Sprintf("%s: %d %s, want %s", tenant, resp.StatusCode, got, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for msg := range errs {
		if n++; n <= 5 {
			t.Error(msg)
		}
	}
	if n > 5 {
		t.Errorf("... and %d more", n-5)
	}
}
