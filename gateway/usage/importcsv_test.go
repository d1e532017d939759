package usage_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestImportKeysConflictsNameTheCSVLine: import-api-keys refusals named the
// id of a key that was never created (409 "API Key zajt... is already in
// usage plan ..."; that id is a 404); they name the CSV line now, and a
// duplicate value in one file both its lines. Nothing is created.
func TestImportKeysConflictsNameTheCSVLine(t *testing.T) {
	_, _, gw, id := startKeyed(t, "dev")
	ctx := context.Background()
	stages := []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}
	p1 := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p1"), ApiStages: stages})
	p2 := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p2"), ApiStages: stages})
	existing := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("old"), Value: aws.String("existing-value-0123456789")})
	for _, tc := range []struct {
		name, csv, code string
		want            []string
	}{
		{"two plans on one stage", "Key,Name,UsagePlanIds\nfine-value-0123456789abc,a,\nclash-value-0123456789ab,b,\"" + p1 + ";" + p2 + "\"\n",
			"ConflictException", []string{"line 3", p1, p2, id + ":dev"}},
		{"duplicate value", "Key,Name\nfine-value-0123456789abc,a\nother-value-0123456789ab,b\nfine-value-0123456789abc,c\n",
			"ConflictException", []string{"lines 2 and 4"}},
		{"value of an existing key", "Key,Name\nfine-value-0123456789abc,a\nexisting-value-0123456789,b\n",
			"ConflictException", []string{"line 3"}},
		{"unknown plan", "Key,Name,UsagePlanIds\nfine-value-0123456789abc,a,nosuch\n",
			"NotFoundException", []string{"nosuch", "line 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gw.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Format: types.ApiKeysFormatCsv, Body: []byte(tc.csv)})
			for _, w := range tc.want {
				wantAPIError(t, err, tc.code, w)
			}
			keys, err := gw.GetApiKeys(ctx, &apigateway.GetApiKeysInput{})
			if err != nil {
				t.Fatal(err)
			}
			if len(keys.Items) != 1 || aws.ToString(keys.Items[0].Id) != aws.ToString(existing.Id) {
				t.Fatalf("keys after a refused import: %d, want only the existing one", len(keys.Items))
			}
		})
	}
}
