package h1

import (
	"bytes"
	"context"
	"net/http"
	"sync"
)

// The client's spelling of header names (Options.WireNames). net/http's
// request header canonicalizes names ("x-api-key" becomes "X-Api-Key"); a
// server that must repeat a name as the client sent it asks WireNames. The
// fast path knows the spellings from its own parse (a name's substring of
// the head it already holds); a request read by net/http's reader has its
// head copied as it is read and its names picked out of the copy. Nothing is
// allocated for a request whose names are all canonical.

// namesKey is the context key of a request's spellings.
type namesKey struct{}

// namesCtx is a request's context with the client's spellings of its header
// names: the names the client spelled otherwise than canonically, as spelled,
// each the first spelling of a key of the request's header.
type namesCtx struct {
	context.Context
	names []string
	small [2]string // names' room, when they are few
}

// Value implements context.Context.
func (c *namesCtx) Value(key any) any {
	if key == (namesKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// add appends a spelling.
func (c *namesCtx) add(name string) {
	if c.names == nil {
		c.names = c.small[:0]
	}
	c.names = append(c.names, name)
}

// WireNames returns the client's spellings of the header names of the request
// whose context is ctx, when its server has Options.WireNames on: for each key
// of the request's header that the client spelled otherwise than
// canonically, its first spelling on the wire ("x-api-key" for X-Api-Key).
// Keys spelled canonically, and Host (which is not in the header), are not
// listed; nil when every name was canonical. The slice is shared: do not
// modify it.
func WireNames(ctx context.Context) []string {
	if c, ok := ctx.Value(namesKey{}).(*namesCtx); ok {
		return c.names
	}
	return nil
}

// fastNames returns the spellings of a request parsed by parseRequest from
// head, whose fields are spans, for the keys of header (nil when all are
// canonical, or not in header: Host, a chunked request's framing fields).
func fastNames(head string, spans []fieldSpan, header http.Header) *namesCtx {
	var nc *namesCtx
	for j := range spans {
		f := &spans[j]
		if f.name == "" {
			continue
		}
		if _, ok := header[f.name]; !ok {
			continue
		}
		first := true
		for i := range spans[:j] {
			p := &spans[i]
			k := p.name
			if k == "" {
				k = head[p.k0:p.k1]
			}
			if k == f.name {
				first = false
				break
			}
		}
		if !first {
			continue
		}
		if nc == nil {
			nc = &namesCtx{}
		}
		nc.add(head[f.k0:f.k1])
	}
	return nc
}

// headPool holds the buffers that the heads of requests read by net/http's
// reader are copied to.
var headPool = sync.Pool{New: func() any { b := make([]byte, 0, readBufferSize); return &b }}

// maxPooledHead is the largest head buffer put back in the pool.
const maxPooledHead = 64 << 10

// headNames returns the spellings in head, a request head (request line,
// fields, the empty line) that net/http's reader accepted, for the keys of
// header (the request's, Host removed). Continuation lines (obs-fold) carry
// no name; lines end in LF or CRLF. Nothing is allocated but the spellings,
// unless the head has more than 16 distinct keys.
func headNames(head []byte, header map[string][]string) *namesCtx {
	_, rest, _ := bytes.Cut(head, []byte("\n")) // the request line
	var nc *namesCtx
	var few [16][]byte // the first name of each key met, while few
	met := few[:0]
	var seen map[string]bool // the canonical keys met, once there are many
	var small [64]byte
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' || line[0] == '\r' {
			continue // a continuation, or the end
		}
		k, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue // not reached: net/http accepted the head
		}
		var key []byte
		if len(k) <= len(small) {
			key = canonicalInto(small[:len(k)], k)
		} else {
			key = []byte(http.CanonicalHeaderKey(string(k)))
		}
		if _, ok := header[string(key)]; !ok {
			continue // Host, or a framing field net/http removed
		}
		// Tokens have the same canonical form exactly when they are equal
		// but for ASCII case.
		dup := false
		if seen == nil {
			for _, m := range met {
				if len(m) == len(k) && bytes.EqualFold(m, k) {
					dup = true
					break
				}
			}
			if !dup && len(met) < cap(met) {
				met = append(met, k)
			} else if !dup {
				seen = make(map[string]bool, 2*len(met))
				for _, m := range met {
					seen[http.CanonicalHeaderKey(string(m))] = true
				}
				seen[string(key)] = true
			}
		} else if seen[string(key)] {
			dup = true
		} else {
			seen[string(key)] = true
		}
		if dup || bytes.Equal(key, k) {
			continue // a later spelling, or canonical
		}
		if nc == nil {
			nc = &namesCtx{}
		}
		nc.add(string(k))
	}
	return nc
}
