package ctrbase

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	goruntime "runtime"
	"time"
)

// BaseImageRepo is the repository of the Zip base image the runtimes import.
const BaseImageRepo = "portico/zip-base"

// BaseEntrypoint, BaseWorkdir and BaseEnv are the Zip base image's configuration:
// the code's bootstrap is the entrypoint, as in Lambda's provided runtimes.
var (
	BaseEntrypoint = []string{"/var/task/bootstrap"}
	BaseWorkdir    = "/var/task"
	BaseEnv        = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin", "LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime"}
)

// caBundles are host files copied into the Zip base image when present, so that
// static binaries can make TLS calls (Go looks at the first).
var caBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}

// BaseRootfs returns the file system of the Zip base image as an uncompressed
// tar: the directories of a Lambda environment, passwd and group files, the pause
// program and the host's CA bundle.
func BaseRootfs() ([]byte, error) {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return w.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime})
	}
	file := func(name string, data []byte) error {
		if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := w.Write(data)
		return err
	}
	for _, d := range []string{"dev", "proc", "sys", "etc", "etc/ssl", "etc/ssl/certs", "opt", "var", "var/task", "var/runtime", "var/lang", "usr", "usr/bin", "usr/local", "usr/local/bin", "bin"} {
		if err := dir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return nil, err
	}
	if err := file("etc/passwd", []byte("root:x:0:0:root:/root:/sbin/nologin\nsbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n")); err != nil {
		return nil, err
	}
	if err := file("etc/group", []byte("root:x:0:\nsbx_user1051:x:990:\nnogroup:x:65534:\n")); err != nil {
		return nil, err
	}
	if pause := PauseProgram(); pause != nil {
		if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: PausePath[1:], Mode: 0o755, Size: int64(len(pause)), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := w.Write(pause); err != nil {
			return nil, err
		}
	}
	for _, p := range caBundles {
		if b, err := os.ReadFile(p); err == nil {
			if err := file("etc/ssl/certs/ca-certificates.crt", b); err != nil {
				return nil, err
			}
			break
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BaseArchive is the Zip base image as a `docker save` archive, and its tag (a
// digest of its content), for runtimes that import images from archives.
func BaseArchive() ([]byte, string, error) {
	layer, err := BaseRootfs()
	if err != nil {
		return nil, "", err
	}
	layerSum := sha256.Sum256(layer)
	layerHex := hex.EncodeToString(layerSum[:])
	config, err := json.Marshal(map[string]any{
		"architecture": goruntime.GOARCH,
		"os":           "linux",
		"config": map[string]any{
			"Entrypoint": BaseEntrypoint,
			"Env":        BaseEnv,
			"WorkingDir": BaseWorkdir,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerHex}},
	})
	if err != nil {
		return nil, "", err
	}
	cfgSum := sha256.Sum256(config)
	cfgHex := hex.EncodeToString(cfgSum[:])
	tag := cfgHex[:12]
	manifest, err := json.Marshal([]map[string]any{{
		"Config": cfgHex + ".json", "RepoTags": []string{BaseImageRepo + ":" + tag}, "Layers": []string{layerHex + "/layer.tar"},
	}})
	if err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	w := tar.NewWriter(&out)
	for _, f := range []struct {
		name string
		data []byte
	}{{layerHex + "/layer.tar", layer}, {cfgHex + ".json", config}, {"manifest.json", manifest}} {
		if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, "", err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return out.Bytes(), tag, nil
}
