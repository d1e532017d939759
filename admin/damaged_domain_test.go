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

// TestDamagedVersionAliasAndUsageMessages: a damaged version or alias record,
// or a damaged usage count, was answered only "restore portico.db from a
// backup", with the key's internal NUL separator shown (conn\u0000live),
// although a DELETE removes each.
func TestDamagedVersionAliasAndUsageMessages(t *testing.T) {
	for rec, want := range map[store.RecordError][]string{
		{Bucket: "versions", Key: "conn\x000000000001"}: {"versions/conn:0000000001 ",
			"DELETE /2015-03-31/functions/conn?Qualifier=1 ", "once no alias names the version", "DELETE /2015-03-31/functions/conn/aliases/ALIAS"},
		{Bucket: "aliases", Key: "conn\x00live"}:        {"aliases/conn:live ", "DELETE /2015-03-31/functions/conn/aliases/live "},
		{Bucket: "usage_days", Key: "p1/k1/2026-12-07"}: {"DELETE /usageplans/p1 ", "removes the plan with its counts"},
		{Bucket: "usage_counts", Key: "p1/k1"}:          {"DELETE /usageplans/p1 "},
		{Bucket: "functions", Key: "conn"}:              {"(function conn;", "DELETE /2015-03-31/functions/conn "},
	} {
		got := damagedMessage(&rec)
		if strings.Contains(got, "\x00") {
			t.Errorf("%s: %q shows the key's NUL", rec.Bucket, got)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s/%q: %q, want it to say %q", rec.Bucket, rec.Key, got, w)
			}
		}
	}
}
