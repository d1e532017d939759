//go:build !linux

package wsload

import (
	"errors"

	"github.com/gorilla/websocket"
)

// epollConns is the cheap reader mode, which needs epoll (epoll_linux.go).
type epollConns struct{}

func newEpollConns([]*websocket.Conn) (*epollConns, error) {
	return nil, errors.New("the epoll reader mode needs Linux")
}

func (*epollConns) await(string) int64 { return 0 }
func (*epollConns) ping() int64        { return 0 }
func (*epollConns) close() int64       { return 0 }
