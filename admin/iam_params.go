package admin

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
)

// iamParams are the parameters each IAM action takes besides Action and
// Version: those of IAM's API that Portico honours. Any other parameter is
// refused (checkIAMParams), not accepted and ignored: IAM's CreateUser takes
// PermissionsBoundary and Tags, which Portico does not keep, and a
// PermissionsBoundary accepted and ignored would let the user do more than
// its creator meant.
var iamParams = map[string][]string{
	"CreateUser":       {"UserName", "Path"},
	"GetUser":          {"UserName"},
	"ListUsers":        {"PathPrefix", "Marker", "MaxItems"},
	"DeleteUser":       {"UserName"},
	"CreateAccessKey":  {"UserName"},
	"ListAccessKeys":   {"UserName", "Marker", "MaxItems"},
	"UpdateAccessKey":  {"UserName", "AccessKeyId", "Status"},
	"DeleteAccessKey":  {"UserName", "AccessKeyId"},
	"PutUserPolicy":    {"UserName", "PolicyName", "PolicyDocument"},
	"GetUserPolicy":    {"UserName", "PolicyName"},
	"ListUserPolicies": {"UserName", "Marker", "MaxItems"},
	"DeleteUserPolicy": {"UserName", "PolicyName"},
}

// checkIAMParams refuses a parameter of f that action does not take, with
// IAM's InvalidInput saying what to do instead.
func checkIAMParams(action string, f url.Values) error {
	var names []string
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k == "Action" || k == "Version" || slices.Contains(iamParams[action], k) {
			continue
		}
		var msg string
		switch {
		case k == "PermissionsBoundary":
			msg = "Portico does not support permissions boundaries: it would not evaluate one, so the user could do more than the boundary allows. " +
				"Create the user without PermissionsBoundary and attach the limits as the user's own inline policies (PutUserPolicy); a Deny there overrides any Allow."
		case k == "Tags" || strings.HasPrefix(k, "Tags."):
			msg = "Portico keeps no tags on IAM users: create the user without Tags."
		default:
			msg = fmt.Sprintf("Portico's %s does not take the parameter %s: remove it. It takes %s.", action, truncateStr(k, 64), strings.Join(iamParams[action], ", "))
		}
		return &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "InvalidInput", Message: msg}
	}
	return nil
}

// IAM's page sizes: MaxItems defaults to 100 and may be 1..1000.
const (
	iamDefaultMaxItems = 100
	iamMaxMaxItems     = 1000
)

// iamMarkerPrefix starts every decoded Marker Portico answers, so that a
// Marker it did not answer is told apart.
const iamMarkerPrefix = "portico/iam/"

// iamPage is the page of keys (sorted ascending, distinct) that f's Marker and
// MaxItems ask for, as the half-open range [from, to) of keys, and the Marker
// of the next page ("" when this page is the last). A Marker holds the last key
// it answered, not an offset: the next page starts after that key, so keys
// deleted or added between pages neither repeat nor skip the keys after it.
// list names the listing, so that one list's Marker is not taken by another.
func iamPage(f url.Values, list string, keys []string) (from, to int, marker string, err error) {
	maxItems := iamDefaultMaxItems
	if v := f.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return 0, 0, "", iamValidation("Value '%s' at 'maxItems' failed to satisfy constraint: Member must be an integer from 1 to %d", truncateStr(v, 32), iamMaxMaxItems)
		case n < 1:
			return 0, 0, "", iamValidation("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
		case n > iamMaxMaxItems:
			return 0, 0, "", iamValidation("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to %d", n, iamMaxMaxItems)
		}
		maxItems = n
	}
	if m, ok := f["Marker"]; ok {
		raw, derr := base64.RawURLEncoding.DecodeString(m[0])
		after, found := strings.CutPrefix(string(raw), iamMarkerPrefix+list+"/")
		if derr != nil || !found {
			return 0, 0, "", &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "ValidationError",
				Message: fmt.Sprintf("Invalid Marker '%s': send the Marker of the previous page's %s answer unchanged, or no Marker for the first page.", truncateStr(m[0], 64), list)}
		}
		from = sort.Search(len(keys), func(i int) bool { return keys[i] > after })
	}
	to = min(len(keys), from+maxItems)
	if to < len(keys) {
		marker = base64.RawURLEncoding.EncodeToString([]byte(iamMarkerPrefix + list + "/" + keys[to-1]))
	}
	return from, to, marker, nil
}

func iamValidation(format string, args ...any) error {
	return &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "ValidationError", Message: "1 validation error detected: " + fmt.Sprintf(format, args...)}
}
