package functions

import (
	"strings"
	"testing"
)

// TestEnvSizeIsJSONText: the 4 KB limit on environment variables measures
// them as Lambda does, as the JSON text of their map ({"NAME":"value",...}),
// so the quotes, colons, commas, braces and escapes count, not the names and
// values alone: a set whose names and values make 4093 bytes is over it.
func TestEnvSizeIsJSONText(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		size int
		ok   bool
	}{
		{"at the limit", map[string]string{"BIG": strings.Repeat("x", 4086)}, 4096, true},
		{"one byte over", map[string]string{"BIG": strings.Repeat("x", 4087)}, 4097, false},
		{"names and values under 4096, JSON over", map[string]string{"BIG": strings.Repeat("x", 4090)}, 4100, false},
		{"two variables", map[string]string{"AA": "1", "BB": "2"}, len(`{"AA":"1","BB":"2"}`), true},
		{"escapes count", map[string]string{"QQ": `"\` + "\n<&>"}, len(`{"QQ":"\"\\\n<&>"}`), true},
		{"non-ASCII counts its UTF-8 bytes", map[string]string{"NA": "é日"}, len(`{"NA":"é日"}`), true},
		{"U+2028 and U+2029 count their UTF-8 bytes too", map[string]string{"LS": "a\u2028b\u2029"}, len(`{"LS":"a\u2028b\u2029"}`) - 6, true},
		{"U+2028 at the limit", map[string]string{"BIG": strings.Repeat("x", 4083) + "\u2028"}, 4096, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := envSize(tc.env); got != tc.size {
				t.Errorf("envSize = %d, want %d", got, tc.size)
			}
			err := validateEnv(tc.env)
			if tc.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "exceeded the 4KB limit")) {
				t.Errorf("validateEnv = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestEnvUserAWSLambdaNamesTaken: Lambda reserves a fixed list of names, not
// the AWS_LAMBDA_ prefix: the wrapper's and other AWS_LAMBDA_* names
// a user sets are taken, as Lambda takes them.
func TestEnvUserAWSLambdaNamesTaken(t *testing.T) {
	for _, name := range []string{"AWS_LAMBDA_EXEC_WRAPPER", "AWS_LAMBDA_DOTNET_PREJIT", "AWS_LAMBDA_FOO", "AWS_XRAY_CONTEXT_MISSING", "TZ"} {
		if err := validateEnv(map[string]string{name: "x"}); err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
}
