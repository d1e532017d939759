package apptest

import "testing"

func TestStartedAddrs(t *testing.T) {
	out := "time=2026-12-01T04:06:35.414Z level=WARN msg=\"something else\" admin=nope\n" +
		"time=2026-12-01T04:06:35.414Z level=INFO msg=\"portico started\" in=231ms admin=127.0.0.1:40481 gateway=127.0.0.1:42647 tls=\"\" data-dir=/tmp/x\n"
	got, ok := startedAddrs(out)
	if want := (Addrs{Admin: "127.0.0.1:40481", Gateway: "127.0.0.1:42647"}); !ok || got != want {
		t.Fatalf("startedAddrs = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := startedAddrs("level=INFO msg=\"gateway listening\"\n"); ok {
		t.Fatal("found a start line where there is none")
	}
}
