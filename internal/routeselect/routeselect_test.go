package routeselect

import (
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

func TestParse(t *testing.T) {
	good := []string{"", "$request.body.action", "${request.body.action}", "$request.body.a.b.c", "$request.body.route-key_2"}
	for _, e := range good {
		if _, err := Parse(e); err != nil {
			t.Errorf("%q: %v", e, err)
		}
	}
	bad := []string{"action", "$request.body.", "$request.body..a", "$request.header.x", "${request.body.action", "$request.body.a b",
		"$request.body." + strings.Repeat("a.", 40) + "a", "$request.body.a[0]"}
	for _, e := range bad {
		if _, err := Parse(e); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%q: err = %v, want ErrInvalid", e, err)
		}
	}
}
