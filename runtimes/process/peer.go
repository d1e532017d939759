package process

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

var _ interface{ OwnsConn(net.Addr) bool } = (*sandbox)(nil)

// OwnsConn implements runtimes.PeerVerifier: the connection's socket (found by its
// address in /proc/net/tcp) must be held by a process of this sandbox's process
// group.
func (s *sandbox) OwnsConn(remote net.Addr) bool {
	ta, ok := remote.(*net.TCPAddr)
	if !ok {
		return false
	}
	inodes := socketInodes(ta)
	if len(inodes) == 0 {
		return false
	}
	leader := s.cmd.Process.Pid
	for _, inode := range inodes {
		if holds(leader, "socket:["+inode+"]") {
			return true
		}
	}
	// A child of the bootstrap: any process in the sandbox's group.
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == leader {
			continue
		}
		if pgid, err := pgidOf(pid); err != nil || pgid != leader {
			continue
		}
		for _, inode := range inodes {
			if holds(pid, "socket:["+inode+"]") {
				return true
			}
		}
	}
	return false
}

// holds reports whether pid has an open fd whose link is target.
func holds(pid int, target string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(dir + "/" + fd.Name()); err == nil && l == target {
			return true
		}
	}
	return false
}

func pgidOf(pid int) (int, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if i < 0 || len(f) < 3 {
		return 0, fmt.Errorf("malformed stat")
	}
	return strconv.Atoi(f[2])
}

// socketInodes finds the inodes of the live TCP sockets whose local address is a
// (sockets in TIME_WAIT have inode 0 and are skipped).
func socketInodes(a *net.TCPAddr) []string {
	var out []string
	want := procAddr(a)
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
			if (strings.EqualFold(fields[1], want) || strings.EqualFold(fields[1], procAddr6(a))) && fields[9] != "0" {
				out = append(out, fields[9])
			}
		}
		_ = f.Close()
	}
	return out
}

// procAddr renders an IPv4 address as /proc/net/tcp does: the address as a
// little-endian 32-bit hex word, then the port.
func procAddr(a *net.TCPAddr) string {
	ip := a.IP.To4()
	if ip == nil {
		return ""
	}
	b := []byte{ip[3], ip[2], ip[1], ip[0]}
	return fmt.Sprintf("%s:%04X", strings.ToUpper(hex.EncodeToString(b)), a.Port)
}

// procAddr6 renders an address as /proc/net/tcp6 does (four little-endian words).
func procAddr6(a *net.TCPAddr) string {
	ip := a.IP.To16()
	if ip == nil {
		return ""
	}
	var b []byte
	for w := 0; w < 4; w++ {
		b = append(b, ip[w*4+3], ip[w*4+2], ip[w*4+1], ip[w*4])
	}
	return fmt.Sprintf("%s:%04X", strings.ToUpper(hex.EncodeToString(b)), a.Port)
}
