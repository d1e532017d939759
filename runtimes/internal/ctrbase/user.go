package ctrbase

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
)

// SandboxUID and SandboxGID are the user and group a sandbox runs as when its
// image names no other user than root: Lambda's own, sbx_user1051 (uid 993,
// gid 990), which the Zip base image's passwd and group files name.
const (
	SandboxUID = 993
	SandboxGID = 990
)

// User is the numeric user and group a sandbox's process runs as. It has no
// supplementary groups.
type User struct {
	UID, GID uint32
}

// DefaultUser is SandboxUID:SandboxGID.
var DefaultUser = User{UID: SandboxUID, GID: SandboxGID}

// String is the "uid:gid" form the engines take.
func (u User) String() string { return fmt.Sprintf("%d:%d", u.UID, u.GID) }

// NonRoot applies the rule to the user an image's USER resolved to: uid 0
// becomes DefaultUser, and gid 0 (given, or implied by a user whose passwd
// entry has none or names group 0) becomes SandboxGID. A sandbox never runs as
// root or in the root group.
func NonRoot(u User) User {
	if u.UID == 0 {
		return DefaultUser
	}
	if u.GID == 0 {
		u.GID = SandboxGID
	}
	return u
}

// ErrUserUnknown is the error of an image whose USER names a user or group
// that its /etc/passwd or /etc/group does not hold.
var ErrUserUnknown = errors.New("not in the image's passwd or group file")

// UserUnknown is the error of a sandbox whose image (ref, as the function
// names it) has a USER that its passwd or group file does not hold (err says
// which, wrapping ErrUserUnknown): the caller's to fix, in the same words on
// every runtime.
func UserUnknown(ref, function string, err error) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
		fmt.Sprintf("image %s cannot run as function %s: %v; use a numeric USER (uid or uid:gid), "+
			"or add the user to the image's /etc/passwd (and its group to /etc/group)", ref, function, err))
}

// ResolveUser resolves an image's USER ("name", "uid", "name:group",
// "uid:gid", or empty) as Docker and containerd do, reading the image's
// /etc/passwd and /etc/group through read (which returns an error wrapping
// fs.ErrNotExist for a missing file) only where it must, and applies NonRoot.
// An empty USER is root, and so DefaultUser, as is uid 0 whatever its group
// (with no file read), and the name root when the passwd file does not
// hold it (or there is none). A name the files do not hold is
// an error wrapping ErrUserUnknown, as it fails the engines' own start; a
// USER that does not parse is an error too.
func ResolveUser(spec string, read func(path string) ([]byte, error)) (User, error) {
	if spec == "" {
		return DefaultUser, nil
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" || (hasGroup && (groupPart == "" || strings.Contains(groupPart, ":"))) {
		return User{}, fmt.Errorf("USER %q does not parse", spec)
	}
	uid, numeric, err := parseID(userPart)
	if err != nil {
		return User{}, fmt.Errorf("USER %q: %w", spec, err)
	}
	if numeric && uid == 0 {
		return DefaultUser, nil // no need to read anything: it is root
	}
	var gid uint32
	gidKnown := false
	if hasGroup {
		if g, ok, err := parseID(groupPart); err != nil {
			return User{}, fmt.Errorf("USER %q: %w", spec, err)
		} else if ok {
			gid, gidKnown = g, true
		}
	}
	if numeric && gidKnown {
		return NonRoot(User{UID: uid, GID: gid}), nil
	}
	// A name to look up, or a uid whose group its passwd entry gives.
	passwd, err := read("/etc/passwd")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return User{}, fmt.Errorf("reading the image's /etc/passwd: %w", err)
	}
	entry, found := lookupPasswd(passwd, userPart, numeric, uid)
	switch {
	case found:
		uid = entry.UID
		if !hasGroup {
			gid = entry.GID
		}
	case userPart == "root":
		// root is uid 0 whether or not the image has a passwd file to say
		// so (a FROM scratch image has none): the sandbox user, whatever
		// the group.
		return DefaultUser, nil
	case !numeric:
		return User{}, fmt.Errorf("USER %q: user %q: %w", spec, userPart, ErrUserUnknown)
	}
	if hasGroup && !gidKnown {
		group, err := read("/etc/group")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return User{}, fmt.Errorf("reading the image's /etc/group: %w", err)
		}
		g, ok := lookupGroup(group, groupPart)
		if !ok {
			return User{}, fmt.Errorf("USER %q: group %q: %w", spec, groupPart, ErrUserUnknown)
		}
		gid = g
	}
	return NonRoot(User{UID: uid, GID: gid}), nil
}

// parseID parses a numeric uid or gid; numeric is false for a name.
func parseID(s string) (id uint32, numeric bool, _ error) {
	if s[0] < '0' || s[0] > '9' {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 31) // runc's limit: at most MaxInt32
	if err != nil {
		return 0, false, fmt.Errorf("id %q is not a number up to 2147483647", s)
	}
	return uint32(n), true, nil
}

// lookupPasswd finds the passwd entry of a name, or of a uid when numeric.
func lookupPasswd(passwd []byte, name string, numeric bool, uid uint32) (User, bool) {
	sc := bufio.NewScanner(bytes.NewReader(passwd))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		u, uok, _ := parseID(nonEmpty(f[2]))
		g, gok, _ := parseID(nonEmpty(f[3]))
		if !uok || !gok {
			continue
		}
		if (numeric && u == uid) || (!numeric && f[0] == name) {
			return User{UID: u, GID: g}, true
		}
	}
	return User{}, false
}

// lookupGroup finds the gid of a group name.
func lookupGroup(group []byte, name string) (uint32, bool) {
	sc := bufio.NewScanner(bytes.NewReader(group))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || f[0] != name {
			continue
		}
		if g, ok, _ := parseID(nonEmpty(f[2])); ok {
			return g, true
		}
	}
	return 0, false
}

// nonEmpty keeps parseID from indexing an empty field.
func nonEmpty(s string) string {
	if s == "" {
		return "x"
	}
	return s
}
