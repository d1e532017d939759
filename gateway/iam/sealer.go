package iam

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// keySize is the sealing key's size (AES-256).
const keySize = 32

// Sealer encrypts secret access keys with AES-256-GCM, each bound to its access
// key id (the additional data), so that a sealed secret cannot be moved to
// another key. Safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
	path string // the key file, when read from one: errors name it
}

// NewSealer returns a Sealer with a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("iam: sealing key must be %d bytes, not %d", keySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// OpenSealer reads the sealing key from path, creating the file (mode 0600, with
// a fresh random key) when it does not exist.
func OpenSealer(path string) (*Sealer, error) {
	return openSealer(path, true)
}

// ErrNoKeyFile is the error of a key file that does not exist where the
// caller will not have it created.
var ErrNoKeyFile = errors.New("iam: the key file does not exist")

// openSealer is OpenSealer; a missing file is an error wrapping
// fs.ErrNotExist unless create.
func openSealer(path string, create bool) (*Sealer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, fmt.Errorf("%w: %s", ErrNoKeyFile, path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, keySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("iam: key file %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return openSealer(path, false) // another process created it first
		}
		if err != nil {
			return nil, fmt.Errorf("iam: create key file %s: %w", path, err)
		}
		_, err = f.Write(key)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("iam: write key file %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("iam: read key file %s: %w", path, err)
	}
	s, err := NewSealer(key)
	if err != nil {
		return nil, fmt.Errorf("iam: key file %s: %w", path, err)
	}
	s.path = path
	return s, nil
}

// Seal encrypts secret for the access key id: nonce || ciphertext.
func (s *Sealer) Seal(secret, accessKeyID string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte(accessKeyID)), nil
}

// Open decrypts what Seal returned for the same access key id. A different key
// file (or a tampered value) fails.
func (s *Sealer) Open(sealed []byte, accessKeyID string) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed secret is too short")
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(accessKeyID))
	if err != nil {
		if s.path != "" {
			return "", fmt.Errorf("cannot unseal the secret with the key in %s: it is not the IAM key file the secret was sealed with "+
				"(was it replaced, or made anew when the data directory was restored without it?): put back the key file that goes with this store "+
				"(kept apart from its backups, docs/operations.md#backups), or name it with --iam-key-file", s.path)
		}
		return "", errors.New("cannot unseal the secret: was the IAM key file (--iam-key-file) replaced?")
	}
	return string(out), nil
}
