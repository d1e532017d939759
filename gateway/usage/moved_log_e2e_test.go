package usage_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestQuotaWhileDataDirMovedLogsOnce: with the data directory moved, each
// request a key's quota cannot count (503) is logged once at error level,
// by the gateway that answered it; it was logged twice, the usage counter's
// failed reservation write logging it too (the store says once that the
// directory moved, at error level, and refuses each write after).
func TestQuotaWhileDataDirMovedLogsOnce(t *testing.T) {
	var logs testkit.LockedBuffer
	c := &controls{}
	env := apptest.Start(t, apptest.Options{LogWriter: &logs, Populate: []any{&c.th, &c.us, &c.apis}})
	c.freeze()
	gw := sdk(env, "x")
	id := importKeyed(t, env.Client(), "dev")
	base := env.GatewayURL + "/" + id + "/dev/pets"
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("m"), Enabled: true})
	const quota = 10000
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("moved"),
		Quota:     &types.QuotaSettings{Limit: quota, Period: types.QuotaPeriodTypeDay},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, *k.Id)
	if status, _, body := call(t, base, *k.Value); status != http.StatusOK {
		t.Fatalf("before the move: %d %s", status, body)
	}
	moved := env.DataDir + ".moved"
	if err := os.Rename(env.DataDir, moved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Rename(moved, env.DataDir) })
	for admitted := 1; ; admitted++ {
		status, _, body := call(t, base, *k.Value)
		if status == http.StatusOK && admitted < quota {
			continue
		}
		if status != http.StatusServiceUnavailable {
			t.Fatalf("past the reservation (%d admitted): %d %s; want 503", admitted, status, body)
		}
		break
	}
	seen := len(logs.String()) // the store's one line saying the directory moved
	for range 3 {
		if status, _, body := call(t, base, *k.Value); status != http.StatusServiceUnavailable {
			t.Fatalf("a refused request: %d %s; want 503", status, body)
		}
	}
	var errorLines []string
	for l := range strings.Lines(logs.String()[seen:]) {
		if strings.Contains(l, "level=ERROR") {
			errorLines = append(errorLines, l)
		}
	}
	if len(errorLines) != 3 {
		t.Errorf("3 refused requests logged %d lines at error level, want one each:\n%s", len(errorLines), strings.Join(errorLines, ""))
	}
}
