package apis

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/portico-dev/portico/store"
)

// Tag limits, as API Gateway's.
const (
	MaxTags        = 50
	MaxTagKey      = 128
	MaxTagValue    = 256
	reservedTagKey = "aws:"
)

// ValidateTags checks resource tags against API Gateway's limits.
func ValidateTags(tags map[string]string) error {
	return validateTags(tags, nil)
}

// validateTags is ValidateTags with the aws: prefix judged only on the keys
// in given (all of tags' when given is nil): a key an older build stored
// stays until it is untagged.
func validateTags(tags, given map[string]string) error {
	if len(tags) > MaxTags {
		return invalid("a resource has at most %d tags, got %d", MaxTags, len(tags))
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		switch {
		case k == "" || len(k) > MaxTagKey:
			return invalid("tag key %q must be 1..%d characters", truncate(k, 140), MaxTagKey)
		case strings.HasPrefix(strings.ToLower(k), reservedTagKey) && (given == nil || hasKey(given, k)):
			return invalid("tag key %q: keys starting with aws: are reserved", truncate(k, 140))
		case len(tags[k]) > MaxTagValue:
			return invalid("tag %q: the value is longer than %d characters", truncate(k, 140), MaxTagValue)
		}
	}
	return nil
}

// MergeTags returns tags with set added and unset removed, validated (nil for
// none): what every TagResource and UntagResource does to a resource's tags.
func MergeTags(tags, set map[string]string, unset []string) (map[string]string, error) {
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, set)
	for _, k := range unset {
		delete(out, k)
	}
	if set == nil {
		set = map[string]string{}
	}
	if err := validateTags(out, set); err != nil {
		return nil, err
	}
	return nilIfEmpty(out), nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// TagAPI adds the tags in set to API id and removes those named in unset, in
// one transaction.
func (s *Service) TagAPI(ctx context.Context, id string, set map[string]string, unset []string) (*API, error) {
	return s.Modify(ctx, id, func(a *API) error {
		t, err := MergeTags(a.Tags, set, unset)
		a.Tags = t
		return err
	})
}

// TagStage adds the tags in set to a stage and removes those named in unset,
// in one transaction.
func (s *Service) TagStage(ctx context.Context, apiID, name string, set map[string]string, unset []string) (*Stage, error) {
	return s.updateStage(ctx, apiID, name, false, func(_ *store.Tx, st *Stage) error {
		t, err := MergeTags(st.Tags, set, unset)
		if err != nil {
			return err
		}
		st.Tags = t
		return nil
	})
}
