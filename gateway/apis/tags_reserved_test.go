package apis

import (
	"strings"
	"testing"
)

// TestMergeTagsReservedKeys: TagResource judges the aws: prefix on the keys it
// is given, not on a key an older build stored, which untag-resource removes;
// it refused every call naming the stored key (r-httpapi27 finding 7).
func TestMergeTagsReservedKeys(t *testing.T) {
	got, err := MergeTags(map[string]string{"aws:x": "1"}, map[string]string{"ok": "1"}, nil)
	if err != nil || got["ok"] != "1" || got["aws:x"] != "1" {
		t.Fatalf("tag beside a stored aws: key: %v, %v", got, err)
	}
	if _, err := MergeTags(nil, map[string]string{"aws:y": "1"}, nil); err == nil || !strings.Contains(err.Error(), `tag key "aws:y": keys starting with aws: are reserved`) {
		t.Fatalf("aws: key given: err = %v", err)
	}
	if got, err := MergeTags(map[string]string{"aws:x": "1"}, nil, []string{"aws:x"}); err != nil || got != nil {
		t.Fatalf("untag the stored key: %v, %v", got, err)
	}
}
