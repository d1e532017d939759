package ctrbase

import (
	"errors"
	"io/fs"
	"testing"
)

// TestResolveUser checks the rule a sandbox's user follows: the image's USER
// resolved as the engines resolve it, never uid 0 or gid 0.
func TestResolveUser(t *testing.T) {
	files := map[string]string{
		"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\n" +
			"# a comment\n" +
			"app:x:1000:1000::/home/app:/bin/sh\n" +
			"wheelie:x:1001:0::/:/bin/sh\n" +
			"toor:x:0:0::/:/bin/sh\n" +
			"broken:x::\n",
		"/etc/group": "root:x:0:\nwheel:x:10:app\nstaff:x:50:\n",
	}
	withFiles := func(path string) ([]byte, error) {
		if s, ok := files[path]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	noFiles := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	readFails := func(string) ([]byte, error) { return nil, errors.New("daemon gone") }
	for _, tc := range []struct {
		name, spec string
		read       func(string) ([]byte, error)
		want       User
		wantErr    error // nil: no error
		anyErr     bool  // any error will do
	}{
		{"no USER", "", readFails, DefaultUser, nil, false},
		{"uid 0", "0", readFails, DefaultUser, nil, false},
		{"uid 0 with a group", "0:1000", readFails, DefaultUser, nil, false},
		{"root by name", "root", withFiles, DefaultUser, nil, false},
		{"root by name with a group", "root:staff", withFiles, DefaultUser, nil, false},
		// root needs no passwd entry to be replaced (docs/runtimes.md's
		// table): a FROM scratch image with USER root runs (r-rt27 #6).
		{"root by name, no passwd", "root", noFiles, DefaultUser, nil, false},
		{"root by name with a group, no files", "root:staff", noFiles, DefaultUser, nil, false},
		{"name resolving to uid 0", "toor", withFiles, DefaultUser, nil, false},
		{"uid and gid", "1234:5678", readFails, User{1234, 5678}, nil, false},
		{"uid and gid 0", "1234:0", readFails, User{1234, SandboxGID}, nil, false},
		{"uid in passwd", "1000", withFiles, User{1000, 1000}, nil, false},
		{"uid not in passwd", "4242", withFiles, User{4242, SandboxGID}, nil, false},
		{"uid without passwd", "4242", noFiles, User{4242, SandboxGID}, nil, false},
		{"name", "app", withFiles, User{1000, 1000}, nil, false},
		{"name whose group is 0", "wheelie", withFiles, User{1001, SandboxGID}, nil, false},
		{"name and group name", "app:staff", withFiles, User{1000, 50}, nil, false},
		{"uid and group name", "4242:wheel", withFiles, User{4242, 10}, nil, false},
		{"name and gid", "app:77", withFiles, User{1000, 77}, nil, false},
		{"unknown name", "nobody", withFiles, User{}, ErrUserUnknown, false},
		{"name without passwd", "app", noFiles, User{}, ErrUserUnknown, false},
		{"unknown group", "app:nogroup", withFiles, User{}, ErrUserUnknown, false},
		{"unreadable passwd", "app", readFails, User{}, nil, true},
		{"empty group", "app:", withFiles, User{}, nil, true},
		{"three parts", "1:2:3", withFiles, User{}, nil, true},
		{"uid too large", "4294967296", withFiles, User{}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveUser(tc.spec, tc.read)
			wantErr := tc.anyErr || tc.wantErr != nil
			switch {
			case !wantErr && err != nil:
				t.Fatalf("ResolveUser(%q) = %v", tc.spec, err)
			case wantErr && err == nil, tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("ResolveUser(%q) = %v, %v; want an error (%v)", tc.spec, got, err, tc.wantErr)
			case !wantErr && got != tc.want:
				t.Fatalf("ResolveUser(%q) = %v, want %v", tc.spec, got, tc.want)
			}
		})
	}
}

func TestNonRoot(t *testing.T) {
	for in, want := range map[User]User{
		{0, 0}:       DefaultUser,
		{0, 1000}:    DefaultUser,
		{1000, 0}:    {1000, SandboxGID},
		{1000, 1000}: {1000, 1000},
	} {
		if got := NonRoot(in); got != want {
			t.Errorf("NonRoot(%v) = %v, want %v", in, got, want)
		}
	}
	if DefaultUser.String() != "993:990" {
		t.Errorf("DefaultUser = %s", DefaultUser)
	}
}
