package main

import (
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// controlEscaper writes what a server sent (a function's log, its output) to
// a terminal with control characters made visible: ESC and the other C0 and
// C1 controls (but \n and \t), DEL and bytes that are not UTF-8 are written
// as \xNN or \uNNNN, so a function cannot move the user's cursor, retitle
// their window or rewrite what they read. It keeps a UTF-8 sequence split
// across writes until its end arrives; Flush writes what is left.
type controlEscaper struct {
	w    io.Writer
	tail []byte // the start of a UTF-8 sequence cut by the end of a write
	buf  []byte
}

func newControlEscaper(w io.Writer) *controlEscaper { return &controlEscaper{w: w} }

// Write escapes p and writes it; it reports len(p) when the write succeeded.
func (e *controlEscaper) Write(p []byte) (int, error) {
	data := p
	if len(e.tail) > 0 {
		data = append(e.tail, p...)
		e.tail = nil
	}
	e.buf = e.buf[:0]
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 && !utf8.FullRune(data) {
			e.tail = append([]byte(nil), data...) // wait for the rest
			break
		}
		switch {
		case r == utf8.RuneError && size == 1:
			e.buf = fmt.Appendf(e.buf, `\x%02x`, data[0])
		case r == '\n' || r == '\t':
			e.buf = append(e.buf, byte(r))
		case r < 0x80 && unicode.IsControl(r):
			e.buf = fmt.Appendf(e.buf, `\x%02x`, r)
		case unicode.IsControl(r):
			e.buf = fmt.Appendf(e.buf, `\u%04x`, r)
		default:
			e.buf = append(e.buf, data[:size]...)
		}
		data = data[size:]
	}
	if _, err := e.w.Write(e.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes, escaped, an unfinished UTF-8 sequence the last write ended in.
func (e *controlEscaper) Flush() error {
	if len(e.tail) == 0 {
		return nil
	}
	e.buf = e.buf[:0]
	for _, b := range e.tail {
		e.buf = fmt.Appendf(e.buf, `\x%02x`, b)
	}
	e.tail = nil
	_, err := e.w.Write(e.buf)
	return err
}

// printServerText writes text a server sent to w, control characters
// escaped unless raw.
func printServerText(w io.Writer, text []byte, raw bool) error {
	if raw {
		_, err := w.Write(text)
		return err
	}
	e := newControlEscaper(w)
	if _, err := e.Write(text); err != nil {
		return err
	}
	return e.Flush()
}
