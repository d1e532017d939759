package process

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

// BenchmarkPeerLookup finds the socket of one loopback connection among 2,000
// others, the way the peer check did before (a scan of /proc/net/tcp) and does
// now (one sock_diag query). Finding the socket's holder is common to both.
func BenchmarkPeerLookup(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer func() { _ = c.Close() }()
		}
	}()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range 1000 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	src := conns[len(conns)/2].LocalAddr().(*net.TCPAddr)
	dst := ln.Addr().(*net.TCPAddr)
	b.Run("proc-net-tcp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(procNetTCPInodes(src)) != 1 {
				b.Fatal("not found")
			}
		}
	})
	b.Run("sock_diag", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if inode, err := socketInode(src, dst); err != nil || inode == 0 {
				b.Fatal("not found", err)
			}
		}
	})
}

// procNetTCPInodes is the lookup the peer check used before sock_diag, kept
// here as the benchmark's baseline.
func procNetTCPInodes(a *net.TCPAddr) []string {
	var out []string
	ip := a.IP.To4()
	want := fmt.Sprintf("%s:%04X", strings.ToUpper(hex.EncodeToString([]byte{ip[3], ip[2], ip[1], ip[0]})), a.Port)
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[0] == "sl" {
				continue
			}
			if strings.EqualFold(fields[1], want) && fields[9] != "0" {
				out = append(out, fields[9])
			}
		}
		_ = f.Close()
	}
	return out
}
