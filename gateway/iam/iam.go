// Package iam holds the IAM principals Portico manages: users, their access keys
// and their inline identity policies, the subset of AWS IAM that SigV4-signed
// callers of AWS_IAM routes need. It persists them in the bbolt store (buckets
// iam.users and iam.keys) and keeps an in-memory index by access key id that
// the gateway reads per request without locking.
//
// Secret access keys are sealed with AES-256-GCM under a key kept outside the
// data directory (Sealer), so a copy of the data directory alone does not reveal
// them. SigV4 verification needs the secret itself, so it is decrypted into
// memory at start; it is never logged and never returned after CreateAccessKey.
package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/auth/policy"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

const (
	usersBucket = "iam.users"
	keysBucket  = "iam.keys"
)

// Limits, as AWS IAM has them.
const (
	// MaxAccessKeys is the number of access keys a user may have.
	MaxAccessKeys = 2
	// MaxPolicySize bounds an inline policy document (IAM: 2,048 characters per
	// user for all inline policies is the real quota; Portico allows each
	// document 10,240).
	MaxPolicySize = 10240
)

// Status of an access key.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// User is an IAM user.
type User struct {
	UserName   string    `json:"userName"`
	UserID     string    `json:"userId"`
	ARN        string    `json:"arn"`
	Path       string    `json:"path"`
	CreateDate time.Time `json:"createDate"`
	// Policies are the inline policy documents by name, as sent.
	Policies map[string]string `json:"policies,omitempty"`
}

// AccessKey is an access key's metadata (never its secret).
type AccessKey struct {
	AccessKeyID string    `json:"accessKeyId"`
	UserName    string    `json:"userName"`
	Status      string    `json:"status"`
	CreateDate  time.Time `json:"createDate"`
}

// keyDoc is an access key as stored: its metadata and its sealed secret.
type keyDoc struct {
	AccessKey
	Sealed []byte `json:"sealedSecret"`
}

// Principal is what the gateway needs of an access key's owner to verify a
// signature and evaluate policies. Read-only; shared between requests.
type Principal struct {
	AccessKeyID string
	// Secret is the secret access key (never log it).
	Secret   string
	Active   bool
	UserName string
	UserID   string
	ARN      string
	// Policies are the user's inline policies, parsed.
	Policies []*policy.Policy
	// Unparsed names the user's stored policies that this build's parser
	// refuses (stored by an older, laxer one). While there are any, Evaluate
	// denies everything: dropping one alone could let the others allow what
	// it denied.
	Unparsed []string
}

// Evaluate combines the principal's policies for req: an explicit deny in any
// wins, then an allow in any. A principal with a policy that no longer parses
// (Unparsed) is denied explicitly.
func (p *Principal) Evaluate(req policy.Request) policy.Decision {
	if len(p.Unparsed) > 0 {
		return policy.ExplicitDeny
	}
	d := policy.NoMatch
	for _, pol := range p.Policies {
		switch pol.Evaluate(req) {
		case policy.ExplicitDeny:
			return policy.ExplicitDeny
		case policy.Allowed:
			d = policy.Allowed
		}
	}
	return d
}

// Service manages IAM principals. Safe for concurrent use: writes are
// serialised; Lookup reads an immutable index.
type Service struct {
	st     *store.Store
	sealer *Sealer
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex // serialises writes and index rebuilds
	index atomic.Pointer[map[string]*Principal]
}

// New loads the principals in st, unsealing their secrets with sealer.
func New(ctx context.Context, st *store.Store, sealer *Sealer, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: st, sealer: sealer, log: log, now: time.Now}
	if err := s.rebuild(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SetClock replaces the clock of creation dates (for tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Lookup returns the principal of an access key id.
func (s *Service) Lookup(accessKeyID string) (*Principal, bool) {
	idx := s.index.Load()
	if idx == nil {
		return nil, false
	}
	p, ok := (*idx)[accessKeyID]
	return p, ok
}

// rebuild reads every user and key and swaps the index.
func (s *Service) rebuild(ctx context.Context) error {
	users := map[string]*User{}
	var keys []keyDoc
	err := s.st.View(ctx, func(tx *store.Tx) error {
		// A record that does not decode is left out, which denies rather
		// than opens: a key is admitted only through a sound key record of
		// a sound user.
		if err := tx.ForEach(usersBucket, "", func(key string, raw []byte) error {
			var u User
			if err := json.Unmarshal(raw, &u); err != nil {
				s.damaged(usersBucket, key, err)
				return nil
			}
			users[u.UserName] = &u
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEach(keysBucket, "", func(key string, raw []byte) error {
			var k keyDoc
			if err := json.Unmarshal(raw, &k); err != nil {
				s.damaged(keysBucket, key, err)
				return nil
			}
			keys = append(keys, k)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("iam: load: %w", err)
	}
	parsed := map[string][]*policy.Policy{}
	unparsed := map[string][]string{}
	for name, u := range users {
		for _, pn := range sortedKeys(u.Policies) {
			p, err := policy.Parse([]byte(u.Policies[pn]), policy.Identity)
			if err != nil {
				// Validated when put; a document that no longer parses (a
				// newer build refusing what an older, laxer one took, such as
				// a misspelt Condition it ignored) cannot be enforced as
				// written. Dropping it alone could widen what the user's other
				// policies allow, so the user is denied everything until it is
				// replaced or deleted.
				s.log.Error("iam: user policy does not parse; the user is denied everything until it is replaced or deleted",
					"user", name, "policy", pn, "err", err)
				unparsed[name] = append(unparsed[name], pn)
				continue
			}
			parsed[name] = append(parsed[name], p)
		}
	}
	idx := make(map[string]*Principal, len(keys))
	for _, k := range keys {
		u, ok := users[k.UserName]
		if !ok {
			continue
		}
		secret, err := s.sealer.Open(k.Sealed, k.AccessKeyID)
		if err != nil {
			return fmt.Errorf("iam: access key %s: %w", k.AccessKeyID, err)
		}
		idx[k.AccessKeyID] = &Principal{AccessKeyID: k.AccessKeyID, Secret: secret, Active: k.Status == StatusActive,
			UserName: u.UserName, UserID: u.UserID, ARN: u.ARN, Policies: parsed[u.UserName], Unparsed: unparsed[u.UserName]}
	}
	s.index.Store(&idx)
	return nil
}

// damaged logs the stored user or access key record bucket/key that does not
// decode: it is left out of the index (requests signed with its keys are
// refused), with what removes it.
func (s *Service) damaged(bucket, key string, err error) {
	del := "aws iam delete-access-key --access-key-id " + key + " --user-name USER (the user it was made for)"
	if bucket == usersBucket {
		del = "aws iam delete-user --user-name " + key + " (once its access keys are deleted)"
	}
	s.log.Error("iam: a stored record is damaged (it does not decode): it is left out, and requests signed with its access keys are refused; delete it, or restore portico.db from a backup (docs/operations.md#backups)",
		"record", bucket+"/"+key, "delete", del, "err", err)
}

// update runs fn in a transaction and rebuilds the index after it commits.
func (s *Service) update(ctx context.Context, fn func(*store.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.st.Update(ctx, fn); err != nil {
		return err
	}
	return s.rebuild(ctx)
}

var (
	userNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	policyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	pathRE       = regexp.MustCompile(`^/([\x21-\x7e]*/)?$`)
)

// Errors in IAM's terms: the admin surface maps Type to the error code.
func noSuchUser(name string) error {
	return &errdefs.Kinded{Kind: errdefs.ErrNotFound, Type: "NoSuchEntity", Message: fmt.Sprintf("The user with name %s cannot be found.", name)}
}

func validation(format string, args ...any) error {
	return &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "ValidationError", Message: fmt.Sprintf(format, args...)}
}

// CreateUser creates a user; path defaults to "/".
func (s *Service) CreateUser(ctx context.Context, name, path string) (*User, error) {
	if !userNameRE.MatchString(name) {
		return nil, validation("1 validation error detected: Value '%s' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", trunc(name))
	}
	if path == "" {
		path = "/"
	}
	if !pathRE.MatchString(path) || len(path) > 512 {
		return nil, validation("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	u := &User{UserName: name, UserID: "AIDA" + randomID(17), Path: path, CreateDate: s.now().UTC().Truncate(time.Second),
		ARN: "arn:aws:iam::" + functions.AccountID + ":user" + path + name}
	err := s.update(ctx, func(tx *store.Tx) error {
		if err := s.existsFold(tx, name); err != nil {
			return err
		}
		return tx.Put(usersBucket, name, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// existsFold refuses a name that exists in any case (IAM user names are unique
// case-insensitively).
func (s *Service) existsFold(tx *store.Tx, name string) error {
	return tx.ForEach(usersBucket, "", func(k string, _ []byte) error {
		if strings.EqualFold(k, name) {
			return &errdefs.Kinded{Kind: errdefs.ErrConflict, Type: "EntityAlreadyExists", Message: fmt.Sprintf("User with name %s already exists.", name)}
		}
		return nil
	})
}

// GetUser returns a user.
func (s *Service) GetUser(ctx context.Context, name string) (*User, error) {
	var u User
	err := s.st.View(ctx, func(tx *store.Tx) error { return getUser(tx, name, &u) })
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func getUser(tx *store.Tx, name string, u *User) error {
	if err := tx.Get(usersBucket, name, u); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return noSuchUser(name)
		}
		return err
	}
	return nil
}

// ListUsers lists the users whose path starts with pathPrefix ("" for all), by
// name.
func (s *Service) ListUsers(ctx context.Context, pathPrefix string) ([]User, error) {
	var out []User
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(usersBucket, "", func(_ string, raw []byte) error {
			var u User
			if err := json.Unmarshal(raw, &u); err != nil {
				return err
			}
			if strings.HasPrefix(u.Path, pathPrefix) {
				out = append(out, u)
			}
			return nil
		})
	})
	return out, err
}

// DeleteUser deletes a user that has no access keys and no policies left, as
// IAM requires.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	return s.update(ctx, func(tx *store.Tx) error {
		u, keys, err := userAndKeys(tx, name)
		if isDamaged(err, usersBucket, name) {
			// Deleted without reading it (its inline policies go with it),
			// once no access key names it: a key left behind would sign
			// again for a user created later with the name.
			if keys, err = userKeys(tx, name); err != nil {
				return err
			}
			u = User{}
		} else if err != nil {
			return err
		}
		if len(keys) > 0 {
			return &errdefs.Kinded{Kind: errdefs.ErrConflict, Type: "DeleteConflict", Message: "Cannot delete entity, must delete access keys first."}
		}
		if len(u.Policies) > 0 {
			return &errdefs.Kinded{Kind: errdefs.ErrConflict, Type: "DeleteConflict", Message: "Cannot delete entity, must delete policies first."}
		}
		return tx.Delete(usersBucket, name)
	})
}

// userAndKeys reads a user and its access keys.
func userAndKeys(tx *store.Tx, name string) (User, []AccessKey, error) {
	var u User
	if err := getUser(tx, name, &u); err != nil {
		return u, nil, err
	}
	keys, err := userKeys(tx, name)
	return u, keys, err
}

func userKeys(tx *store.Tx, user string) ([]AccessKey, error) {
	var out []AccessKey
	err := tx.ForEach(keysBucket, "", func(_ string, raw []byte) error {
		var k keyDoc
		if err := json.Unmarshal(raw, &k); err != nil {
			return err
		}
		if k.UserName == user {
			out = append(out, k.AccessKey)
		}
		return nil
	})
	return out, err
}

// CreateAccessKey creates an access key for a user and returns it with its
// secret, the only time the secret is returned.
func (s *Service) CreateAccessKey(ctx context.Context, user string) (*AccessKey, string, error) {
	k := keyDoc{AccessKey: AccessKey{AccessKeyID: "AKIA" + randomID(16), UserName: user, Status: StatusActive,
		CreateDate: s.now().UTC().Truncate(time.Second)}}
	secret := randomSecret()
	sealed, err := s.sealer.Seal(secret, k.AccessKeyID)
	if err != nil {
		return nil, "", err
	}
	k.Sealed = sealed
	err = s.update(ctx, func(tx *store.Tx) error {
		_, keys, err := userAndKeys(tx, user)
		if err != nil {
			return err
		}
		if len(keys) >= MaxAccessKeys {
			return &errdefs.Kinded{Kind: errdefs.ErrConflict, Type: "LimitExceeded", Message: fmt.Sprintf("Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeys)}
		}
		return tx.Put(keysBucket, k.AccessKeyID, k)
	})
	if err != nil {
		return nil, "", err
	}
	return &k.AccessKey, secret, nil
}

// ListAccessKeys lists a user's access keys (without secrets).
func (s *Service) ListAccessKeys(ctx context.Context, user string) ([]AccessKey, error) {
	var out []AccessKey
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		_, out, err = userAndKeys(tx, user)
		return err
	})
	return out, err
}

// UpdateAccessKey sets an access key's status (Active or Inactive).
func (s *Service) UpdateAccessKey(ctx context.Context, user, id, status string) error {
	if status != StatusActive && status != StatusInactive {
		return validation("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", trunc(status))
	}
	return s.update(ctx, func(tx *store.Tx) error {
		k, err := userKey(tx, user, id)
		if err != nil {
			return err
		}
		k.Status = status
		return tx.Put(keysBucket, id, k)
	})
}

func userKey(tx *store.Tx, user, id string) (*keyDoc, error) {
	var u User
	if err := getUser(tx, user, &u); err != nil && !isDamaged(err, usersBucket, user) {
		return nil, err // (a damaged user's keys are still found, to be deleted)
	}
	var k keyDoc
	err := tx.Get(keysBucket, id, &k)
	if isDamaged(err, keysBucket, id) {
		return nil, err // DeleteAccessKey removes it without reading it
	}
	if err != nil || k.UserName != user {
		return nil, &errdefs.Kinded{Kind: errdefs.ErrNotFound, Type: "NoSuchEntity", Message: fmt.Sprintf("The Access Key with id %s cannot be found.", trunc(id))}
	}
	return &k, nil
}

// DeleteAccessKey deletes a user's access key; requests signed with it fail
// from then on.
func (s *Service) DeleteAccessKey(ctx context.Context, user, id string) error {
	return s.update(ctx, func(tx *store.Tx) error {
		if _, err := userKey(tx, user, id); err != nil && !isDamaged(err, keysBucket, id) {
			return err
		}
		return tx.Delete(keysBucket, id)
	})
}

// PutUserPolicy adds or replaces a user's inline policy. The document must parse
// as an identity policy Portico can evaluate (else MalformedPolicyDocument).
func (s *Service) PutUserPolicy(ctx context.Context, user, name, doc string) error {
	if !policyNameRE.MatchString(name) {
		return validation("1 validation error detected: Value '%s' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", trunc(name))
	}
	if len(doc) > MaxPolicySize {
		return &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "LimitExceeded", Message: fmt.Sprintf("Maximum policy size of %d bytes exceeded for user %s", MaxPolicySize, user)}
	}
	if _, err := policy.Parse([]byte(doc), policy.Identity); err != nil {
		return &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "MalformedPolicyDocument", Message: "The policy document is not valid: " + err.Error()}
	}
	return s.update(ctx, func(tx *store.Tx) error {
		var u User
		if err := getUser(tx, user, &u); err != nil {
			return err
		}
		if u.Policies == nil {
			u.Policies = map[string]string{}
		}
		u.Policies[name] = doc
		return tx.Put(usersBucket, user, &u)
	})
}

// GetUserPolicy returns a user's inline policy document.
func (s *Service) GetUserPolicy(ctx context.Context, user, name string) (string, error) {
	u, err := s.GetUser(ctx, user)
	if err != nil {
		return "", err
	}
	doc, ok := u.Policies[name]
	if !ok {
		return "", &errdefs.Kinded{Kind: errdefs.ErrNotFound, Type: "NoSuchEntity", Message: fmt.Sprintf("The user policy with name %s cannot be found.", trunc(name))}
	}
	return doc, nil
}

// ListUserPolicies lists the names of a user's inline policies, sorted.
func (s *Service) ListUserPolicies(ctx context.Context, user string) ([]string, error) {
	u, err := s.GetUser(ctx, user)
	if err != nil {
		return nil, err
	}
	return sortedKeys(u.Policies), nil
}

// DeleteUserPolicy deletes a user's inline policy.
func (s *Service) DeleteUserPolicy(ctx context.Context, user, name string) error {
	return s.update(ctx, func(tx *store.Tx) error {
		var u User
		if err := getUser(tx, user, &u); err != nil {
			return err
		}
		if _, ok := u.Policies[name]; !ok {
			return &errdefs.Kinded{Kind: errdefs.ErrNotFound, Type: "NoSuchEntity", Message: fmt.Sprintf("The user policy with name %s cannot be found.", trunc(name))}
		}
		delete(u.Policies, name)
		return tx.Put(usersBucket, user, &u)
	})
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func trunc(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

// randomID returns n characters of [A-Z2-7], as AWS's key and user ids.
func randomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomSecret returns a 40-character secret access key.
func randomSecret() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Config configures the IAM service.
type Config struct {
	// KeyFile holds the 32-byte key that seals secret access keys. Empty: the
	// file "<data dir>.iam-key" beside the data directory (not inside it, so
	// that a copy of the data directory does not carry it). Created if missing.
	KeyFile string
}

// Params are the service's fx dependencies.
type Params struct {
	fx.In

	Config Config
	Store  *store.Store
	Log    *slog.Logger
}

// NewFromParams builds the service for fx.
func NewFromParams(p Params) (*Service, error) {
	keyFile := p.Config.KeyFile
	if keyFile == "" {
		keyFile = DefaultKeyFile(p.Store.Dir())
	}
	sealer, err := openSealer(keyFile, false)
	if errors.Is(err, ErrNoKeyFile) {
		// A new key only for a store that holds no secret sealed with
		// another: a store restored without its key file is refused before
		// a key is made, so that copying the right one back is not skipped
		// (cp -n) for the one made in its place.
		n, cerr := sealedKeys(context.Background(), p.Store)
		if cerr != nil {
			return nil, fmt.Errorf("iam: %w", cerr)
		}
		if n > 0 {
			return nil, fmt.Errorf("iam: the IAM key file %s does not exist, but the store holds %d access key(s) whose secrets were sealed "+
				"with it: put back the key file that goes with this store (kept apart from its backups, docs/operations.md#backups), "+
				"or name where it is with --iam-key-file; no new key file was made", keyFile, n)
		}
		sealer, err = OpenSealer(keyFile)
	}
	if err != nil {
		return nil, err
	}
	return New(context.Background(), p.Store, sealer, p.Log.With("component", "iam"))
}

// sealedKeys counts the access keys st holds, each with a sealed secret.
func sealedKeys(ctx context.Context, st *store.Store) (int, error) {
	n := 0
	err := st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(keysBucket, "", func(string, []byte) error {
			n++
			return nil
		})
	})
	return n, err
}

// DefaultKeyFile is the key file used when none is configured: beside the data
// directory, "<dir>.iam-key".
func DefaultKeyFile(dataDir string) string {
	return strings.TrimRight(dataDir, "/") + ".iam-key"
}

// Module provides *Service.
var Module = fx.Module("iam", fx.Provide(NewFromParams))

// Secret returns an active access key's secret, or false when the key is
// unknown or inactive (connections.Principals).
func (s *Service) Secret(accessKeyID string) (string, bool) {
	p, ok := s.Lookup(accessKeyID)
	if !ok || !p.Active {
		return "", false
	}
	return p.Secret, true
}

// AllowManageConnections reports whether the key's holder may call
// execute-api:ManageConnections on resource, an @connections ARN
// (connections.Principals).
func (s *Service) AllowManageConnections(_ context.Context, accessKeyID, resource string) (bool, error) {
	p, ok := s.Lookup(accessKeyID)
	if !ok || !p.Active {
		return false, nil
	}
	return p.Evaluate(policy.Request{Action: policy.ActionManageConnections, Resource: resource, Principal: p.ARN,
		Account: functions.AccountID}) == policy.Allowed, nil
}

// isDamaged reports whether err is the read of bucket/key's own stored record
// that does not decode.
func isDamaged(err error, bucket, key string) bool {
	var d *store.RecordError
	return errors.As(err, &d) && d.Bucket == bucket && d.Key == key
}
