package admin

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/store"
)

// TestDamagedDomainMessage: a request that meets a damaged domain name or API
// mapping record is told the DELETE that removes it (edge.DamagedDelete), as
// for a damaged key or plan, not only to restore a backup.
func TestDamagedDomainMessage(t *testing.T) {
	for rec, want := range map[store.RecordError]string{
		{Bucket: "domainnames", Key: "a.example.com"}:    "DELETE /domainnames/a.example.com",
		{Bucket: "apimappings", Key: "a.example.com/v1"}: "DELETE /domainnames/a.example.com/basepathmappings/v1",
		{Bucket: "apimappings", Key: "a.example.com/"}:   "DELETE /domainnames/a.example.com/basepathmappings/(none)",
	} {
		if got := damagedMessage(&rec); !strings.Contains(got, want) {
			t.Errorf("%s/%s: %q, want it to name %q", rec.Bucket, rec.Key, got, want)
		}
	}
}
