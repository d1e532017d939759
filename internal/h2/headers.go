package h2

import (
	"errors"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// headerBlock is a header block (a HEADERS frame and its CONTINUATION frames)
// decoded: what x/net/http2's MetaHeadersFrame is, with the same checks, but
// decoded into the connection's reusable field list (valid until the next
// block) instead of new allocations per block.
type headerBlock struct {
	StreamID    uint32
	endStream   bool
	hasPriority bool
	Priority    http2.PriorityParam
	// Fields are the block's fields, pseudo-header fields first, names and
	// values valid.
	Fields []hpack.HeaderField
	// Truncated says the header-list limit was reached and Fields is
	// incomplete (the decoder's state is still good).
	Truncated bool
}

// StreamEnded reports whether the HEADERS frame ended the stream.
func (b *headerBlock) StreamEnded() bool { return b.endStream }

// HasPriority reports whether the HEADERS frame had priority fields.
func (b *headerBlock) HasPriority() bool { return b.hasPriority }

// PseudoFields are the pseudo-header fields.
func (b *headerBlock) PseudoFields() []hpack.HeaderField {
	for i, hf := range b.Fields {
		if !hf.IsPseudo() {
			return b.Fields[:i]
		}
	}
	return b.Fields
}

// RegularFields are the other fields.
func (b *headerBlock) RegularFields() []hpack.HeaderField {
	for i, hf := range b.Fields {
		if !hf.IsPseudo() {
			return b.Fields[i:]
		}
	}
	return nil
}

// headerDecoder decodes a connection's header blocks (the reader's only).
type headerDecoder struct {
	dec     *hpack.Decoder
	block   headerBlock
	remain  uint32 // header-list bytes left before truncation
	regular bool   // a regular field was seen
	invalid error
}

func newHeaderDecoder(maxList uint32) *headerDecoder {
	d := &headerDecoder{}
	d.dec = hpack.NewDecoder(4096, d.emit)
	d.dec.SetMaxStringLength(int(maxList))
	d.remain = maxList
	return d
}

// emit takes one decoded field, as x/net/http2's Framer does: values and
// names valid, pseudo-header fields first, the list's size bounded.
func (d *headerDecoder) emit(hf hpack.HeaderField) {
	if !httpguts.ValidHeaderFieldValue(hf.Value) {
		d.invalid = errInvalidHeaderValue
	}
	if strings.HasPrefix(hf.Name, ":") {
		if d.regular {
			d.invalid = errPseudoAfterRegular
		}
	} else {
		d.regular = true
		if !validWireName(hf.Name) {
			d.invalid = errInvalidHeaderName
		}
	}
	if d.invalid != nil {
		d.dec.SetEmitEnabled(false)
		return
	}
	size := hf.Size()
	if size > d.remain {
		d.dec.SetEmitEnabled(false)
		d.block.Truncated = true
		d.remain = 0
		return
	}
	d.remain -= size
	d.block.Fields = append(d.block.Fields, hf)
}

// maxBlockFactor bounds a header block's bytes as sent (HEADERS and
// CONTINUATION fragments together) to this many times the header-list limit:
// a block within it is decoded whole, and a list over the limit refused on
// its stream alone (431); a longer one ends the connection.
const maxBlockFactor = 4

// maxEmptyContinuations is how many empty CONTINUATION frames (without
// END_HEADERS) a header block may have before the connection ends with
// ENHANCE_YOUR_CALM.
const maxEmptyContinuations = 16

var (
	errInvalidHeaderValue = errors.New("h2: invalid header field value")
	errInvalidHeaderName  = errors.New("h2: invalid header field name")
	errPseudoAfterRegular = errors.New("h2: pseudo-header field after a regular one")
	errBadPseudo          = errors.New("h2: unknown, duplicate or response pseudo-header field")
)

// validWireName reports whether name is a valid HTTP/2 field name: a token,
// in lower case.
func validWireName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		if !httpguts.IsTokenRune(rune(b)) || 'A' <= b && b <= 'Z' {
			return false
		}
	}
	return true
}

// readHeaderBlock decodes the block that hf begins, reading its CONTINUATION
// frames from fr (whose frame-order check keeps them contiguous). A block
// over maxBlockFactor times the limit, one that goes on after an invalid field, or one with more
// than maxEmptyContinuations empty CONTINUATION frames, ends the connection;
// an invalid field or pseudo-header field is a stream error.
func (d *headerDecoder) readHeaderBlock(fr *http2.Framer, hf *http2.HeadersFrame, maxList uint32) (*headerBlock, error) {
	b := &d.block
	b.StreamID, b.endStream, b.hasPriority, b.Priority = hf.StreamID, hf.StreamEnded(), hf.HasPriority(), hf.Priority
	b.Fields, b.Truncated = b.Fields[:0], false
	if cap(b.Fields) > 64 {
		b.Fields = nil
	}
	d.remain, d.regular, d.invalid = maxList, false, nil
	d.dec.SetEmitEnabled(true)
	frag, ended := hf.HeaderBlockFragment(), hf.HeadersEnded()
	empty := 0
	// A block over the list limit is still decoded to its end, its fields
	// no longer kept, so that the decoder's state stays good and the stream
	// alone is refused (431): up to maxBlockFactor times the limit in
	// bytes as sent. Past that, or anything after an invalid field, is not
	// decoded: the connection ends (a CONTINUATION flood).
	left := int64(maxBlockFactor) * int64(maxList)
	for {
		if left -= int64(len(frag)); left < 0 || d.invalid != nil {
			return nil, http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if _, err := d.dec.Write(frag); err != nil {
			return nil, http2.ConnectionError(http2.ErrCodeCompression)
		}
		if ended {
			break
		}
		f, err := fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		cf := f.(*http2.ContinuationFrame) // the framer's order check
		frag, ended = cf.HeaderBlockFragment(), cf.HeadersEnded()
		if len(frag) == 0 && !ended {
			// Empty CONTINUATION frames carry nothing: a run of them is a
			// flood (CVE-2024-27316), not a header block.
			if empty++; empty > maxEmptyContinuations {
				return nil, http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
			}
		}
	}
	if err := d.dec.Close(); err != nil {
		return nil, http2.ConnectionError(http2.ErrCodeCompression)
	}
	if d.invalid != nil {
		return nil, http2.StreamError{StreamID: b.StreamID, Code: http2.ErrCodeProtocol, Cause: d.invalid}
	}
	pseudo := b.PseudoFields()
	for i, f := range pseudo {
		switch f.Name {
		case ":method", ":path", ":scheme", ":authority", ":protocol":
		default:
			return nil, http2.StreamError{StreamID: b.StreamID, Code: http2.ErrCodeProtocol, Cause: errBadPseudo}
		}
		for _, g := range pseudo[:i] {
			if g.Name == f.Name {
				return nil, http2.StreamError{StreamID: b.StreamID, Code: http2.ErrCodeProtocol, Cause: errBadPseudo}
			}
		}
	}
	return b, nil
}
