package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefusesATemplateOverTheQuota: an 11 MB template was parsed for
// minutes (superlinear in its size, deaf to Ctrl-C) before anything else
// happened. One over CloudFormation's 1 MB quota is refused at once, naming
// the limit; one just under it loads.
func TestLoadRefusesATemplateOverTheQuota(t *testing.T) {
	dir := t.TempDir()
	head := "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n" +
		"    Properties: {Runtime: provided.al2023, Handler: bootstrap, InlineCode: x}\nMetadata:\n"
	template := func(size int) string {
		var b strings.Builder
		b.WriteString(head)
		for i := 0; b.Len() < size-100; i++ {
			fmt.Fprintf(&b, "  K%06d: %s\n", i, strings.Repeat("v", 80))
		}
		return b.String()
	}
	big := filepath.Join(dir, "big.yaml")
	text := template(MaxTemplateBytes + 200)
	if err := os.WriteFile(big, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(big, Options{Stack: "s"})
	if err == nil || !strings.Contains(err.Error(), "at most 1048576 are accepted") {
		t.Fatalf("Load of a %d-byte template: %v, want it refused naming the limit", len(text), err)
	}
	ok := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(ok, []byte(template(MaxTemplateBytes-200)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ok, Options{Stack: "s"}); err != nil {
		t.Fatalf("Load of a template under the limit: %v", err)
	}
}
