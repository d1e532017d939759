package deploy

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// imageAdmin is an admin API with one Image function, "fn", whose $LATEST was
// pinned to the image its tag named then: it records the UpdateFunctionCode
// and images/resolve bodies it is sent.
type imageAdmin struct {
	mu       sync.Mutex
	codes    []map[string]any // UpdateFunctionCode bodies
	resolves []map[string]any // images/resolve bodies
	local    map[string]string
}

const (
	oldPin = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	newPin = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func (a *imageAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var body map[string]any
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		_ = json.Unmarshal(b, &body)
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/2015-03-31/functions/fn":
		_, _ = io.WriteString(w, `{"Configuration":{"FunctionName":"fn","PackageType":"Image","MemorySize":128,"Timeout":3},
			"Code":{"RepositoryType":"ECR","ImageUri":"app:live","ResolvedImageUri":"app@`+oldPin+`"}}`)
	case r.Method == http.MethodPut && r.URL.Path == "/2015-03-31/functions/fn/code":
		a.codes = append(a.codes, body)
		_, _ = io.WriteString(w, `{"FunctionName":"fn"}`)
	case r.Method == http.MethodPut && r.URL.Path == "/2015-03-31/functions/fn/configuration":
		_, _ = io.WriteString(w, `{"FunctionName":"fn"}`)
	case r.Method == http.MethodPost && r.URL.Path == "/portico/v1/images/resolve":
		a.resolves = append(a.resolves, body)
		uri, _ := body["ImageUri"].(string)
		id, ok := a.local[uri]
		if !ok {
			if body["Local"] == true {
				w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"Type":"User","message":"image is not on the Docker daemon's host"}`)
				return
			}
			id = newPin // pulled
		}
		_, _ = io.WriteString(w, `{"ImageUri":"`+uri+`","ResolvedImage":"`+id+`"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"not here"}`)
	}
}

// TestImageRollbackRestoresTheDigest: a failed deploy puts an Image
// function's $LATEST back on the image it ran, by its digest
// (ResolvedImageUri, REPOSITORY@sha256:...), never by its tag, which names
// the new image by then: UpdateFunctionCode with the tag would leave $LATEST
// on the new image.
func TestImageRollbackRestoresTheDigest(t *testing.T) {
	a := &imageAdmin{}
	srv := httptest.NewServer(a)
	defer srv.Close()
	h := &HTTPTarget{C: client.New(srv.URL, "")}
	saved, err := h.SaveFunction(t.Context(), "fn")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.RestoreFunction(t.Context(), "fn", saved, saved.RevisionID); err != nil {
		t.Fatal(err)
	}
	if len(a.codes) != 1 || a.codes[0]["ImageUri"] != "app@"+oldPin {
		t.Fatalf("UpdateFunctionCode bodies %v, want ImageUri app@%s", a.codes, oldPin)
	}
	// The function runs the template's repository by digest: the next
	// deploy still compares its pin with what the tag names.
	if !digestOf("app@"+oldPin, "app:live") || digestOf("other@"+oldPin, "app:live") || digestOf("app@"+oldPin, "app@"+oldPin) {
		t.Error("digestOf")
	}
}

// TestDryRunResolvesImagesWithoutPulling: with LocalImages (deploy
// --dry-run), ResolveImage asks the server to resolve from its host's images
// alone, and an image the host does not have is ErrWouldPull, which the plan
// reports as "would pull", not as a failure to resolve.
func TestDryRunResolvesImagesWithoutPulling(t *testing.T) {
	a := &imageAdmin{local: map[string]string{"app:here": oldPin}}
	srv := httptest.NewServer(a)
	defer srv.Close()
	h := &HTTPTarget{C: client.New(srv.URL, ""), LocalImages: true}
	if id, err := h.ResolveImage(t.Context(), "app:here"); err != nil || id != oldPin {
		t.Fatalf("ResolveImage(app:here) = %q, %v; want %s", id, err, oldPin)
	}
	if _, err := h.ResolveImage(t.Context(), "app:absent"); !errors.Is(err, ErrWouldPull) {
		t.Fatalf("ResolveImage(app:absent) = %v, want ErrWouldPull", err)
	}
	for _, b := range a.resolves {
		if b["Local"] != true {
			t.Errorf("images/resolve body %v, want Local true", b)
		}
	}
	// The plan's warning says so.
	f := newFake()
	f.imageErr = ErrWouldPull
	d := &Desired{Functions: map[string]*Function{"Fn": {Name: "fn", ImageURI: "app:absent"}}}
	rec := &Record{Resources: map[string]*Resource{"Fn": {Kind: KindFunction, PhysicalID: "fn"}}}
	obs := Observed{Functions: map[string]bool{"fn": true}, Images: map[string]ImageState{}}
	observeImages(t.Context(), f, d, rec, &obs)
	if len(obs.Warnings) != 1 || !strings.Contains(obs.Warnings[0], "would pull image app:absent") {
		t.Fatalf("warnings %q, want one saying the deploy would pull app:absent", obs.Warnings)
	}
}
