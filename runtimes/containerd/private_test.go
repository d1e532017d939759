package containerd

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

type noImages struct{}

func (noImages) SaveImage(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("no such image")
}

// TestPrivateImageAdvice: a pull failure on containerd says how to bring in an
// image a registry serves only with credentials on this runtime, which pulls
// without any: not `docker login` alone (r-rt22 #2), but a pull into its
// namespace with ctr's --user, or through Docker where a daemon answers.
func TestPrivateImageAdvice(t *testing.T) {
	name := "127.0.0.1:31650/priv/fn:1"
	for _, tc := range []struct {
		desc   string
		images ImageSource
		want   []string
		not    []string
	}{
		{"no Docker daemon", nil,
			[]string{"pulls without credentials", "`ctr -n portico images pull --user USER " + name + "`"},
			[]string{"after `docker login`", "docker pull"}},
		{"a Docker daemon to copy from", noImages{},
			[]string{"`ctr -n portico images pull --user USER " + name + "`", "`docker login` and `docker pull " + name + "`"},
			[]string{"after `docker login`"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := &Runtime{cfg: Config{Namespace: "portico", Images: tc.images}}
			msg := ctrbase.ImageUnavailable(name, errors.New("401 Unauthorized"), "load it", r.privateAdvice(name)).Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(msg, n) {
					t.Errorf("message says %q, which does not help on containerd:\n%s", n, msg)
				}
			}
		})
	}
}
