package main

import (
	"strings"
	"testing"
)

// TestMethodSettingsNames: a method-settings key reads as --method names it,
// and --method names it back; the root resource's "~1/GET" is "/GET", where it
// read "//GET" and --method could not name it (r-stages26 #2).
func TestMethodSettingsNames(t *testing.T) {
	for key, name := range map[string]string{
		"~1/GET":            "/GET",
		"~1pets/GET":        "/pets/GET",
		"~1pets~1{id}/POST": "/pets/{id}/POST",
		"~1a~0b/GET":        "/a~b/GET",
		"*/*":               "*/*",
	} {
		if got := methodSettingsName(key); got != name {
			t.Errorf("methodSettingsName(%q) = %q, want %q", key, got, name)
		}
		if key == "*/*" {
			continue
		}
		if got, err := methodSettingsPath(name); err != nil || got != "/"+key {
			t.Errorf("methodSettingsPath(%q) = %q, %v, want %q", name, got, err, "/"+key)
		}
	}
	for _, bad := range []string{"GET", "/pets/", "pets/GET", "/pets", "/pets/{id}", "/pets/GETS"} {
		if got, err := methodSettingsPath(bad); err == nil {
			t.Errorf("methodSettingsPath(%q) = %q, want an error", bad, got)
		}
	}
	// The method forgotten: the answer says so in --method's terms, not
	// as a patch path for a root resource method "PETS" (r-stages28 #3).
	if _, err := methodSettingsPath("/pets"); err == nil || err.Error() != `--method "/pets": "pets" is not an HTTP method; end it with the method (GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS or ANY), e.g. /pets/GET` {
		t.Errorf("methodSettingsPath(/pets): %v", err)
	}
	// A wildcard method is */* alone, not a resource "/pets/*" (verify28a).
	for _, wild := range []string{"/pets/*", "/*/GET"} {
		if _, err := methodSettingsPath(wild); err == nil || !strings.Contains(err.Error(), "the only wildcard is */*") {
			t.Errorf("methodSettingsPath(%s): %v", wild, err)
		}
	}
	if got, err := methodSettingsPath("/pets/any"); err != nil || got != "/~1pets/ANY" {
		t.Errorf("methodSettingsPath(/pets/any) = %q, %v", got, err)
	}
}
