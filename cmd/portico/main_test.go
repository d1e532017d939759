package main

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// TestMain removes the sample functions the tests built once they are done.
// Two settings keep the package's end-to-end tests off what they do not
// test: the CLI they drive stores function code in its Deflate zips
// uncompressed (client.ZipLevel flate.NoCompression), as deflating took most
// of the package's time under -race, zipping the hello sample's 8 MB binary
// in each deploy (20 s a zip at the default level, 3.5 s at BestSpeed, on a
// loaded 2-core machine), and the server's inflating it again; a deploy test
// of the hello sample took 20% less CPU stored than at BestSpeed. And no call of the CLI gives up on the
// server before client.UploadWait (client.MinWait): a CI machine loaded
// enough took more than the default minute to store a 12 MB upload.
func TestMain(m *testing.M) {
	client.ZipLevel = flate.NoCompression
	client.MinWait = client.UploadWait
	apptest.Main(m)
}

// runRoot runs the portico command with args, its standard output going to out
// and its standard error to errOut.
func runRoot(out, errOut io.Writer, args ...string) error {
	root := newRoot()
	root.SetOut(out)
	root.SetErr(errOut)
	root.SetArgs(args)
	return root.ExecuteContext(context.Background())
}

func TestUnknownSubcommandsFail(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"nonsense"}, {"fn", "nonsense"}, {"api", "deploi"}, {"stage", "nope"}, {"alias", "sett"}} {
		var out bytes.Buffer
		err := runRoot(&out, &out, args...)
		if err == nil || !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("portico %s: %v, want an unknown-command error", strings.Join(args, " "), err)
		}
	}
	for _, args := range [][]string{{"fn"}, {"fn", "--help"}, {"--help"}} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil || !strings.Contains(out.String(), "Usage:") {
			t.Errorf("portico %s: %v, want the help", strings.Join(args, " "), err)
		}
	}
}

// TestTyposGetSuggestions: an unknown subcommand or flag names the closest
// one, and a flag error points at the command's --help.
func TestTyposGetSuggestions(t *testing.T) {
	t.Parallel()
	for args, want := range map[string][]string{
		"fn crate x":                {`unknown command "crate" for "portico fn" (did you mean create?)`, "run 'portico fn --help'"},
		"invok hello":               {`unknown command "invok" for "portico" (did you mean invoke?)`},
		"fn create x --dri y":       {"unknown flag: --dri (did you mean --dir?)", "\nsee 'portico fn create --help'"},
		"logs hello --since 1h":     {"unknown flag: --since", "\nsee 'portico logs --help'"},
		"fn create x --timeout abc": {`invalid argument "abc" for "--timeout"`, "\nsee 'portico fn create --help'"},
	} {
		var out bytes.Buffer
		err := runRoot(&out, &out, strings.Fields(args)...)
		if err == nil {
			t.Errorf("portico %s: no error", args)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("portico %s: %q, want %q in it", args, err, w)
			}
		}
	}
}

// TestRootHelpInvokeExample: the payload of the root help's invoke example
// reaches the hello sample's name (its queryStringParameters.name).
func TestRootHelpInvokeExample(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile(`portico invoke hello:live --payload '([^']*)'`).FindStringSubmatch(newRoot().Long)
	if m == nil {
		t.Fatal("the root help has no invoke example of hello:live")
	}
	var req events.APIGatewayProxyRequest // what the hello sample takes
	if err := json.Unmarshal([]byte(m[1]), &req); err != nil || req.QueryStringParameters["name"] != "you" {
		t.Errorf("the example's payload %s gives the hello sample the name %q (%v), want \"you\"", m[1], req.QueryStringParameters["name"], err)
	}
}

// TestFlagValueNames: pflag shows the back-quoted word of a flag's usage as
// its value's name (--tls-cert FILE), so a back-quoted command in a usage
// (`portico tls init`) would read as the value to give. Every back-quoted
// word in a usage is a value name: upper case, one word.
func TestFlagValueNames(t *testing.T) {
	t.Parallel()
	valueName := regexp.MustCompile(`^[A-Z][A-Z0-9_=-]*$`)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if strings.Contains(f.Usage, "`") && !valueName.MatchString(name) {
				t.Errorf("%s --%s: value name %q from its usage %q", c.CommandPath(), f.Name, name, f.Usage)
			}
		}
		c.LocalFlags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
	var out bytes.Buffer
	if err := runRoot(&out, &out, "serve", "--help"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "--tls-cert FILE") {
		t.Errorf("serve --help:\n%s", out.String())
	}
}

// TestServerCommandsHideClientFlags: serve, dev and tls start or set up a
// server, not talk to one; their help lists none of the client flags
// (--endpoint, --token, -o), which do nothing there. A client command's help
// still lists them.
func TestServerCommandsHideClientFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"serve", "--help"}, {"dev", "--help"}, {"tls", "init", "--help"}, {"tls", "--help"}} {
		var out bytes.Buffer
		if err := runRoot(&out, &out, args...); err != nil {
			t.Fatalf("portico %s: %v", strings.Join(args, " "), err)
		}
		for _, f := range []string{"--endpoint", "--token", "--output"} {
			if strings.Contains(out.String(), f) {
				t.Errorf("portico %s lists %s:\n%s", strings.Join(args, " "), f, out.String())
			}
		}
	}
	var out bytes.Buffer
	if err := runRoot(&out, &out, "fn", "list", "--help"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"--endpoint", "--token", "--output"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("portico fn list --help does not list %s:\n%s", f, out.String())
		}
	}
}
