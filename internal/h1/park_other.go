//go:build !linux

package h1

import (
	"net/http"
	"time"
)

// Park is not available off Linux: NewPark returns nil.
type Park struct{}

// NewPark returns nil off Linux.
func NewPark(http.ResponseWriter) *Park { return nil }

// Init reports false off Linux.
func (*Park) Init(http.ResponseWriter) bool { return false }

// Wait reports true.
func (*Park) Wait() bool { return true }

// Wake does nothing.
func (*Park) Wake() {}

// Ready reports false.
func (*Park) Ready() bool { return false }

// Answered does nothing.
func (*Park) Answered() {}

// AnsweredWithin does nothing.
func (*Park) AnsweredWithin(time.Duration) {}

func (c *conn) wakeAnswered() {}

func (*Park) end() {}
