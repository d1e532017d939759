package usage_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
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
			for _, p := range []string{p1, p2} {
				if got := planKeyNames(t, gw, p); len(got) != 0 {
					t.Fatalf("plan %s after a refused import has keys %v", p, got)
				}
			}
		})
	}
}

// TestImportKeysIntoPlans: an import adds each row's key to the plans the row
// names, beside the keys the plans already have; a plan named twice on a line
// takes the key once, and one line may name plans of different stages.
// (Each plan is now read and written once per import, the clash check done
// within the file: see BenchmarkImportKeys.)
func TestImportKeysIntoPlans(t *testing.T) {
	_, _, gw, id := startKeyed(t, "dev", "prod")
	ctx := context.Background()
	dev := []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}
	prod := []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("prod")}}
	old := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("old")})
	pd := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("pd"), ApiStages: dev}, aws.ToString(old.Id))
	pp := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("pp"), ApiStages: prod})
	csv := "Name,Key,UsagePlanIds\n" +
		"a,a-value-0123456789abcdef," + pd + "\n" +
		"b,b-value-0123456789abcdef,\"" + pd + ";" + pd + "\"\n" +
		"c,c-value-0123456789abcdef,\"" + pd + "," + pp + "\"\n" +
		"d,d-value-0123456789abcdef,\n"
	if _, err := gw.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Format: types.ApiKeysFormatCsv, Body: []byte(csv)}); err != nil {
		t.Fatal(err)
	}
	if got, want := planKeyNames(t, gw, pd), []string{"a", "b", "c", "old"}; !slices.Equal(got, want) {
		t.Errorf("plan on dev has keys %v, want %v", got, want)
	}
	if got, want := planKeyNames(t, gw, pp), []string{"c"}; !slices.Equal(got, want) {
		t.Errorf("plan on prod has keys %v, want %v", got, want)
	}
	// The one-plan-per-stage rule still holds for what the import made.
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("e")})
	other := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("other"), ApiStages: prod}, aws.ToString(k.Id))
	_, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(other), PatchOperations: []types.PatchOperation{
		{Op: types.OpAdd, Path: aws.String("/apiStages"), Value: aws.String(id + ":dev")}}})
	if err != nil {
		t.Fatalf("adding dev to a plan whose key is in no dev plan: %v", err)
	}
	keys, err := gw.GetApiKeys(ctx, &apigateway.GetApiKeysInput{NameQuery: aws.String("c")})
	if err != nil || len(keys.Items) != 1 {
		t.Fatalf("get-api-keys c: %v %v", keys, err)
	}
	_, err = gw.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: aws.String(other), KeyId: keys.Items[0].Id, KeyType: aws.String("API_KEY")})
	wantAPIError(t, err, "ConflictException", "is already in usage plan")
}

// planKeyNames returns the names of a plan's keys, sorted.
func planKeyNames(t *testing.T, gw *apigateway.Client, planID string) []string {
	t.Helper()
	out, err := gw.GetUsagePlanKeys(context.Background(), &apigateway.GetUsagePlanKeysInput{UsagePlanId: aws.String(planID)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range out.Items {
		names = append(names, aws.ToString(k.Name))
	}
	slices.Sort(names)
	return names
}

// TestImportKeysFailOnWarnings: failonwarnings is taken, true or false in any
// case, and changes nothing (an import is all or nothing); any other value is
// 400, as the other yes/no parameters (keys29: "yes" was taken silently).
func TestImportKeysFailOnWarnings(t *testing.T) {
	env, _, gw, _ := startKeyed(t, "dev")
	ctx := context.Background()
	bad := "Key,Name\nfine-value-0123456789abc,a\nshort,b\n"
	for _, v := range []bool{true, false} {
		_, err := gw.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Format: types.ApiKeysFormatCsv, Body: []byte(bad), FailOnWarnings: v})
		wantAPIError(t, err, "BadRequestException", "line 3")
	}
	resp, err := http.Post(env.AdminURL+"/apikeys?mode=import&format=csv&failonwarnings=yes", "text/csv", strings.NewReader("Key,Name\nfine-value-0123456789abc,a\n"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "Invalid failonwarnings 'yes': use true or false") {
		t.Errorf("failonwarnings=yes: %d %s, want 400 saying to use true or false", resp.StatusCode, raw)
	}
	if imp, err := gw.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Format: types.ApiKeysFormatCsv,
		Body: []byte("Key,Name\nfine-value-0123456789abc,a\n"), FailOnWarnings: true}); err != nil || len(imp.Ids) != 1 {
		t.Fatalf("a good file with failonwarnings=true: %v %v", imp, err)
	}
	keys, err := gw.GetApiKeys(ctx, &apigateway.GetApiKeysInput{})
	if err != nil || len(keys.Items) != 1 {
		t.Fatalf("keys after the imports: %v %v, want the good file's one", keys, err)
	}
}
