package routeselect

import (
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

func TestParse(t *testing.T) {
	good := []string{"", "$request.body.action", "${request.body.action}", "$request.body.a.b.c", "$request.body.route-key_2",
		// API Gateway's selection expression language: static text, several
		// variables, \$ for a literal $ (apigateway-websocket-api-selection-expressions).
		"action", "\\$default", "${request.body.service}/${request.body.action}", "${request.body.version}-beta", "v1.$request.body.action"}
	for _, e := range good {
		if _, err := Parse(e); err != nil {
			t.Errorf("%q: %v", e, err)
		}
	}
	bad := []string{"$request.body.", "$default", "${request.header.x}", "a{b", "${request.body.a}[0]", "$request.body..a", "$request.header.x", "${request.body.action", "$request.body.a b",
		"$request.body." + strings.Repeat("a.", 40) + "a", "$request.body.a[0]"}
	for _, e := range bad {
		if _, err := Parse(e); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%q: err = %v, want ErrInvalid", e, err)
		}
	}
}

func TestSelect(t *testing.T) {
	body := []byte(`{ "service" : "chat", "action" : "join", "data" : { "room" : "room1234" } }`)
	cases := []struct{ expr, want string }{
		// The examples of API Gateway's route selection expression table
		// (websocket-api-develop-routes).
		{"$request.body.action", "join"},
		{"${request.body.action}", "join"},
		{"${request.body.service}/${request.body.action}", "chat/join"},
		{"${request.body.action}-${request.body.invalidPath}", "join-"},
		{"action", "action"},
		{"\\$default", "$default"},
		{"$request.body.data.room", "room1234"},
		{"v1.$request.body.action", "v1.join"},
		{"${request.body.data}", `{"room":"room1234"}`},
	}
	for _, c := range cases {
		sel, err := Parse(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if got, ok := sel.Select(body); !ok || got != c.want {
			t.Errorf("%q selects %q, %v; want %q", c.expr, got, ok, c.want)
		}
		if _, ok := sel.Select([]byte("not json")); ok {
			t.Errorf("%q selects from a non-JSON body", c.expr)
		}
	}
}

// TestStatic: an expression without variables has its value whatever the
// body; one with variables has none.
func TestStatic(t *testing.T) {
	for expr, want := range map[string]string{"\\$default": "$default", "action": "action", "v1.\\$x": "v1.$x"} {
		sel, err := Parse(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if got, ok := sel.Static(); !ok || got != want {
			t.Errorf("%q: Static() = %q, %v; want %q", expr, got, ok, want)
		}
	}
	for _, expr := range []string{"$request.body.action", "v1.${request.body.action}", ""} {
		sel, err := Parse(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if got, ok := sel.Static(); ok {
			t.Errorf("%q: Static() = %q, true; want false", expr, got)
		}
	}
}

// BenchmarkSelect measures selecting a route key from a chat message, with the
// default expression and with nested and several-variable ones.
func BenchmarkSelect(b *testing.B) {
	body := []byte(`{"action":"sendmessage","meta":{"route":"x"},"data":"hello, how are you doing today?"}`)
	for _, expr := range []string{"$request.body.action", "$request.body.meta.route", "${request.body.action}/${request.body.meta.route}"} {
		sel, err := Parse(expr)
		if err != nil {
			continue // an expression the parser under test does not take
		}
		b.Run(expr, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, ok := sel.Select(body); !ok {
					b.Fatal("not selected")
				}
			}
		})
	}
}
