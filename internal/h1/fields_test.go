package h1

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// writeSubsetRef is what writeFields must produce: net/http's WriteSubset
// with the http.TrailerPrefix keys added to ex, and the control characters
// other than tabs that WriteSubset leaves in a value (NUL, DEL, ...) made
// spaces, as it makes CR and LF.
func writeSubsetRef(h http.Header, ex map[string]bool) []byte {
	all := map[string]bool{}
	for k, v := range ex {
		all[k] = v
	}
	clean := http.Header{}
	for k, vv := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			all[k] = true
		}
		for _, v := range vv {
			b := []byte(v) // byte by byte: strings.Map would change invalid UTF-8
			for i, c := range b {
				if (c < ' ' && c != '\t') || c == 0x7f {
					b[i] = ' '
				}
			}
			clean[k] = append(clean[k], string(b))
		}
		if vv != nil && len(vv) == 0 {
			clean[k] = vv
		}
	}
	var b bytes.Buffer
	_ = clean.WriteSubset(&b, all)
	return b.Bytes()
}

func TestWriteFieldsSameAsWriteSubset(t *testing.T) {
	many := http.Header{}
	for i := range 40 {
		many["X-Field-"+strconv.Itoa(39-i)] = []string{"v" + strconv.Itoa(i)}
	}
	cases := []http.Header{
		{},
		{"Content-Type": {"application/json"}, "Content-Length": {"20"}, "X-Amzn-Requestid": {"a"}, "X-Amz-Apigw-Id": {"b"}},
		{"B": {"2", "3"}, "A": {"1"}, "Connection": {"close"}, "Transfer-Encoding": {"chunked"}},
		{"X-Spaces": {"  padded\t", "\tx", "y ", " "}, "X-Nl": {"a\r\nb", "c\nd", "e\rf", "\r\n"}, "X-Empty": {""}, "X-None": {}},
		{"X-Ctl": {"a\x00b", "c\x7fd", "\x1be", "f\x00", "\x00", "g\th"}},
		{"Bad Name": {"v"}, "Bad:Name": {"v"}, "": {"v"}, "Ok": {"v"}, "lower-case": {"v"}},
		{"Trailer:X-Sum": {"1"}, "Trailer": {"X-Sum"}, "Z": {"z"}},
		many,
	}
	for i, h := range cases {
		for _, ex := range []map[string]bool{excluded, excluded304} {
			o := &outBuf{}
			prefixed := writeFields(o, h, len(ex) == len(excluded304), nil)
			if want := writeSubsetRef(h, ex); !bytes.Equal(o.hdr, want) {
				t.Errorf("case %d: writeFields wrote\n%q\nWriteSubset writes\n%q", i, o.hdr, want)
			}
			_, hasPrefixed := h["Trailer:X-Sum"]
			if prefixed != hasPrefixed {
				t.Errorf("case %d: prefixed = %v", i, prefixed)
			}
		}
	}
}

func FuzzWriteFields(f *testing.F) {
	f.Add("Content-Type", "text/plain", "X-A", " a\r\nb ", "Trailer:X", "1")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		h := http.Header{}
		h[k1] = append(h[k1], v1)
		h[k2] = append(h[k2], v2)
		h[k3] = append(h[k3], v3)
		o := &outBuf{}
		writeFields(o, h, false, nil)
		if want := writeSubsetRef(h, excluded); !bytes.Equal(o.hdr, want) {
			t.Fatalf("writeFields wrote %q, WriteSubset writes %q", o.hdr, want)
		}
	})
}

// BenchmarkWriteFields compares writeFields with what it replaced
// (http.Header.WriteSubset) on the header of the gateway's MOCK answer.
func BenchmarkWriteFields(b *testing.B) {
	h := http.Header{"Content-Type": {"application/json"}, "Content-Length": {"20"},
		"X-Amzn-Requestid": {"a571954e-14f7-44e7-91ff-3a43d81a8001"}, "X-Amz-Apigw-Id": {"+V34sN6io+JuqQ=="}, "Date": {"Tue, 01 Dec 2026 03:16:54 GMT"}}
	o := &outBuf{hdr: make([]byte, 0, 512)}
	b.Run("WriteSubset", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o.hdr = o.hdr[:0]
			_ = h.WriteSubset(o, excluded)
		}
	})
	b.Run("writeFields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o.hdr = o.hdr[:0]
			writeFields(o, h, false, nil)
		}
	})
}
