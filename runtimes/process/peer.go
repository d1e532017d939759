package process

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/runtimes"
)

var _ runtimes.PeerVerifier = (*sandbox)(nil)

var _ runtimes.PeakMemoryReader = (*sandbox)(nil)

// OwnsConn implements runtimes.PeerVerifier: the connection's socket must be held
// by one of the sandbox's processes. Where the sandbox has a cgroup of its own,
// those are the processes in it (every process the bootstrap starts is created
// in it, whatever its process group or session: `timeout`, setsid and
// dumb-init wrappers, orphaned helpers); without one, the bootstrap and its
// descendants still in its process group. The socket is found by one sock_diag
// query for the connection's addresses (remote, and the Runtime API endpoint
// it was made to), so the cost does not grow with the number of sockets on the
// host; its holders are looked for among the sandbox's own processes only.
func (s *sandbox) OwnsConn(remote net.Addr) bool {
	src, ok := remote.(*net.TCPAddr)
	if !ok || s.apiAddr == nil {
		return false
	}
	inode, err := socketInode(src, s.apiAddr)
	if err != nil || inode == 0 {
		return false
	}
	target := "socket:[" + strconv.FormatUint(uint64(inode), 10) + "]"
	if s.cg != nil {
		return cgroupHolds(s.cg.dir, target)
	}
	leader := s.cmd.Process.Pid
	// The bootstrap, then its descendants that stayed in its process group,
	// breadth first.
	queue := []int{leader}
	seen := map[int]bool{leader: true}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if pid != leader {
			if pgid, err := unix.Getpgid(pid); err != nil || pgid != leader {
				continue
			}
		}
		if holds(pid, target) {
			return true
		}
		for _, c := range children(pid) {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	return false
}

// cgroupHolds reports whether a process in the cgroup dir has an open fd
// whose link is target. A cgroup that is gone holds nothing.
func cgroupHolds(dir, target string) bool {
	raw, err := os.ReadFile(dir + "/cgroup.procs")
	if err != nil {
		return false
	}
	for _, f := range strings.Fields(string(raw)) {
		if pid, err := strconv.Atoi(f); err == nil && holds(pid, target) {
			return true
		}
	}
	return false
}

// children lists pid's child processes (/proc/PID/task/TID/children).
func children(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		raw, err := os.ReadFile(dir + "/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(raw)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
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

// errNoSocket is socketInode's answer when no socket has the addresses.
var errNoSocket = errors.New("no such socket")

// socketInode returns the inode of the TCP socket whose local address is src and
// whose peer is dst, by a sock_diag (NETLINK_SOCK_DIAG) lookup of that exact
// 4-tuple. A socket in TIME_WAIT has inode 0.
func socketInode(src, dst *net.TCPAddr) (uint32, error) {
	family := uint8(unix.AF_INET6)
	srcIP, dstIP := src.IP.To16(), dst.IP.To16()
	if s4, d4 := src.IP.To4(), dst.IP.To4(); s4 != nil && d4 != nil {
		family, srcIP, dstIP = unix.AF_INET, s4, d4
	}
	if srcIP == nil || dstIP == nil {
		return 0, errNoSocket
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, err
	}
	defer func() { _ = unix.Close(fd) }()

	// struct nlmsghdr (16 bytes), then struct inet_diag_req_v2 (56 bytes).
	const reqLen = unix.NLMSG_HDRLEN + 56
	var req [reqLen]byte
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], reqLen)
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1) // sequence
	r := req[unix.NLMSG_HDRLEN:]
	r[0] = family
	r[1] = unix.IPPROTO_TCP
	ne.PutUint32(r[4:], 0xffffffff) // every TCP state
	// struct inet_diag_sockid: ports and addresses in network byte order.
	binary.BigEndian.PutUint16(r[8:], uint16(src.Port))  //nolint:gosec // G115: a port fits
	binary.BigEndian.PutUint16(r[10:], uint16(dst.Port)) //nolint:gosec // G115: a port fits
	copy(r[12:28], srcIP)
	copy(r[28:44], dstIP)
	ne.PutUint32(r[48:], 0xffffffff) // INET_DIAG_NOCOOKIE
	ne.PutUint32(r[52:], 0xffffffff)
	if err := unix.Sendto(fd, req[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	var buf [1024]byte
	n, _, err := unix.Recvfrom(fd, buf[:], 0)
	if err != nil {
		return 0, err
	}
	if n < unix.NLMSG_HDRLEN {
		return 0, errNoSocket
	}
	switch ne.Uint16(buf[4:]) {
	case unix.NLMSG_ERROR: // not found (ENOENT), or refused
		return 0, errNoSocket
	case unix.SOCK_DIAG_BY_FAMILY:
		// struct inet_diag_msg: family, state, timer, retrans (4), sockid (48),
		// expires, rqueue, wqueue, uid (16), inode.
		const inodeAt = unix.NLMSG_HDRLEN + 4 + 48 + 16
		if n < inodeAt+4 {
			return 0, errNoSocket
		}
		return ne.Uint32(buf[inodeAt:]), nil
	}
	return 0, errNoSocket
}
