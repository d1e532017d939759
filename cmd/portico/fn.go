package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/shifts"
)

// fnFlags are the flags of `fn create` and `fn update`.
type fnFlags struct {
	zip, dir, image string
	timeout, memory int
	env             []string
	concurrency     concurrencyFlag
	description     string
	publish         bool
}

func (f *fnFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.zip, "zip", "", "Zip package: an archive with an executable bootstrap at its root")
	fl.StringVar(&f.dir, "dir", "", "directory to zip as the package (keeps file modes; needs an executable bootstrap)")
	fl.StringVar(&f.image, "image", "", "image reference, for Image functions (docker and containerd runtimes)")
	fl.IntVar(&f.timeout, "timeout", 0, "timeout in seconds (default 3, max 900)")
	fl.IntVar(&f.memory, "memory", 0, "memory in MB (default 128)")
	fl.StringArrayVar(&f.env, "env", nil, "environment variable K=V (repeatable; on update K= removes K)")
	fl.Var(&f.concurrency, "concurrency", "reserved concurrency: how many invocations of the function may run at once, 0 or more (0 stops it), or none to remove the reservation (on update); none is set unless given")
	fl.StringVar(&f.description, "description", "", "description")
	fl.BoolVar(&f.publish, "publish", false, "publish a version as well")
}

// code returns the package the flags name: zip bytes or an image reference.
// Zipping a directory says so on progress (stderr).
func (f *fnFlags) code(progress io.Writer) (zipFile []byte, image string, given bool, err error) {
	n := 0
	for _, s := range []string{f.zip, f.dir, f.image} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, "", false, nil
	case n > 1:
		return nil, "", false, fmt.Errorf("give one of --zip, --dir or --image")
	case f.zip != "":
		if st, err := os.Stat(f.zip); err == nil && st.IsDir() {
			return nil, "", false, fmt.Errorf("--zip %s is a directory: give it as --dir %s (it is zipped for you), or give --zip an archive", f.zip, f.zip)
		}
		b, err := os.ReadFile(f.zip)
		return b, "", true, err
	case f.dir != "":
		st, err := os.Stat(f.dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, "", false, fmt.Errorf("--dir %s: no such directory: give the directory that holds the package's bootstrap", f.dir)
		case err == nil && !st.IsDir():
			return nil, "", false, fmt.Errorf("--dir %s is a file, not a directory: give the directory that holds bootstrap (--dir %s), or --zip for an archive", f.dir, filepath.Dir(f.dir))
		}
		if err := checkBootstrap(f.dir); err != nil {
			return nil, "", false, err
		}
		b, err := zipDirTo(progress)(f.dir)
		return b, "", true, err
	}
	return nil, f.image, true, nil
}

// checkBootstrap refuses a --dir that the server would refuse once zipped
// (no executable bootstrap at the package's root), naming the directory and
// the fix there rather than the zip the user never made.
func checkBootstrap(dir string) error {
	boot := filepath.Join(dir, "bootstrap")
	st, err := os.Stat(boot)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--dir %s has no bootstrap file: build your handler as %s (a Go one: CGO_ENABLED=0 GOOS=linux go build -o %s . in its source directory; --dir uploads all it holds, so a directory of its own keeps the package to bootstrap), or give --dir the directory that holds bootstrap", dir, boot, boot)
	case err != nil:
		return fmt.Errorf("--dir %s: %w", dir, err)
	case st.IsDir():
		return fmt.Errorf("--dir %s: %s is a directory: the package's bootstrap must be the executable file that starts the function", dir, boot)
	case st.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("--dir %s: %s is not executable (mode %04o): run `chmod +x %s` and run the command again", dir, boot, st.Mode().Perm(), boot)
	}
	return nil
}

// sizes puts the Timeout and MemorySize the flags give into a function's
// configuration; a value given that cannot be one is refused.
func (f *fnFlags) sizes(cmd *cobra.Command, conf map[string]any) error {
	if cmd.Flags().Changed("timeout") {
		if f.timeout < 1 {
			return fmt.Errorf("--timeout %d: give the timeout in seconds, from 1 to 900", f.timeout)
		}
		conf["Timeout"] = f.timeout
	}
	if cmd.Flags().Changed("memory") {
		if f.memory < 1 {
			return fmt.Errorf("--memory %d: give the memory in MB, from 128 to 10240", f.memory)
		}
		conf["MemorySize"] = f.memory
	}
	return nil
}

// concurrencyFlag is --concurrency: a number of concurrent invocations, or
// none (the function back in the unreserved pool, DeleteFunctionConcurrency).
type concurrencyFlag struct {
	n    int
	none bool
}

func (c *concurrencyFlag) String() string {
	if c.none {
		return "none"
	}
	return strconv.Itoa(c.n)
}

// Set takes N or none; a negative N is taken here and refused by reserved,
// which says what to give instead.
func (c *concurrencyFlag) Set(s string) error {
	if strings.EqualFold(s, "none") {
		c.n, c.none = 0, true
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("give the reserved concurrency, 0 or more, or none to remove the reservation")
	}
	c.n, c.none = n, false
	return nil
}

func (c *concurrencyFlag) Type() string { return "N|none" }

// reserveAction is what --concurrency asks of the function's reserved
// concurrency.
type reserveAction int

const (
	reserveUnchanged reserveAction = iota // --concurrency not given
	reserveSet                            // --concurrency N
	reserveRemove                         // --concurrency none
)

// reserved returns the reserved concurrency the flags give, and what to do
// with it: --concurrency unset changes nothing, none removes the reservation,
// a negative one is refused, saying how to remove one.
func (f *fnFlags) reserved(cmd *cobra.Command) (n int, what reserveAction, err error) {
	if !cmd.Flags().Changed("concurrency") {
		return 0, reserveUnchanged, nil
	}
	if f.concurrency.none {
		return 0, reserveRemove, nil
	}
	if f.concurrency.n < 0 {
		return 0, reserveUnchanged, fmt.Errorf("--concurrency %d: give the reserved concurrency, 0 or more (0 stops every invocation of the function), or --concurrency none to remove the reservation (the function then draws on the unreserved pool)", f.concurrency.n)
	}
	return f.concurrency.n, reserveSet, nil
}

// fetchPages gets every page of a Lambda list (MaxItems, Marker, NextMarker)
// and returns the items under key. With --output json it prints them as one
// list under key and reports done.
func (g *globalFlags) fetchPages(cmd *cobra.Command, path, key string) (items []json.RawMessage, done bool, err error) {
	c, err := g.client()
	if err != nil {
		return nil, true, err
	}
	marker := ""
	for {
		q := url.Values{"MaxItems": {"1000"}}
		if marker != "" {
			q.Set("Marker", marker)
		}
		resp, err := c.Do(cmd.Context(), http.MethodGet, path, q, nil, nil)
		if err != nil {
			return nil, true, err
		}
		var page map[string]json.RawMessage
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return nil, true, err
		}
		var got []json.RawMessage
		if raw, ok := page[key]; ok {
			if err := json.Unmarshal(raw, &got); err != nil {
				return nil, true, err
			}
		}
		items = append(items, got...)
		marker = ""
		if err := json.Unmarshal(page["NextMarker"], &marker); err != nil || marker == "" {
			break
		}
	}
	if g.json() {
		raw, _ := json.Marshal(map[string]any{key: items})
		return nil, true, printJSON(cmd.OutOrStdout(), raw)
	}
	return items, false, nil
}

func parseEnv(kvs []string) (map[string]string, error) {
	return parseKVs(kvs, "--env %q: use KEY=VALUE")
}

func newFnCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "fn", Short: "Manage functions: create, update, get, list, delete, publish, versions"}
	cmd.AddCommand(fnCreate(g), fnUpdate(g), fnGet(g), fnList(g), fnDelete(g), fnPublish(g), fnVersions(g))
	return cmd
}

func fnCreate(g *globalFlags) *cobra.Command {
	f := &fnFlags{}
	cmd := &cobra.Command{
		Use:   "create NAME (--zip FILE | --dir DIR | --image REF)",
		Short: "Create a function",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.uploadClient(cmd)
			if err != nil {
				return err
			}
			if f.zip == "" && f.dir == "" && f.image == "" {
				return fmt.Errorf("give the code: --zip FILE, --dir DIR or --image REF")
			}
			// A cheap look before the package is zipped and sent: a name
			// that is taken is refused without the upload. The create's
			// 409 below stays the guard (a create may land in between;
			// a caller allowed to create but not to read goes on).
			if _, _, err := c.GetFunctionConfiguration(cmd.Context(), args[0]); err == nil {
				return fmt.Errorf("function %s already exists; nothing was uploaded: change it with `portico fn update %s` (the same flags), or create it under another name", args[0], args[0])
			}
			zipFile, image, _, err := f.code(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			env, err := parseEnv(f.env)
			if err != nil {
				return err
			}
			reserved, reserve, err := f.reserved(cmd)
			if err != nil {
				return err
			}
			in := map[string]any{"FunctionName": args[0], "Publish": f.publish}
			if image != "" {
				in["PackageType"] = "Image"
				in["Code"] = map[string]any{"ImageUri": image}
			} else {
				in["PackageType"] = "Zip"
				in["Runtime"], in["Handler"] = client.ZipRuntime, client.ZipHandler
				in["Code"] = map[string]any{"ZipFile": zipFile}
			}
			if err := f.sizes(cmd, in); err != nil {
				return err
			}
			if len(env) > 0 {
				in["Environment"] = map[string]any{"Variables": env}
			}
			if f.description != "" {
				in["Description"] = f.description
			}
			fc, resp, err := c.CreateFunction(cmd.Context(), in)
			if client.IsConflict(err) {
				return fmt.Errorf("%w: change it with `portico fn update %s` (the same flags), or create it under another name", err, args[0])
			}
			if err != nil {
				return err
			}
			if reserve == reserveSet {
				if err := c.PutConcurrency(cmd.Context(), args[0], reserved); err != nil {
					return fmt.Errorf("function created, but setting its concurrency failed: %w", err)
				}
			}
			return g.show(cmd, resp.Body, func(w io.Writer, _ []byte) error { return printConfig(w, fc) })
		},
	}
	f.register(cmd)
	return cmd
}

func fnUpdate(g *globalFlags) *cobra.Command {
	f := &fnFlags{}
	cmd := &cobra.Command{
		Use:   "update NAME [--zip FILE | --dir DIR | --image REF] [--timeout --memory --env K=V --concurrency N|none --description D]",
		Short: "Update a function's code and/or configuration ($LATEST)",
		Long: `Update $LATEST: the code when --zip, --dir or --image is given, the configuration when
--timeout, --memory, --env or --description is given. --env merges into the current
variables; --env K= removes K. Publish with --publish or 'portico fn publish'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.uploadClient(cmd)
			if err != nil {
				return err
			}
			ctx, name := cmd.Context(), args[0]
			zipFile, image, codeGiven, err := f.code(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			env, err := parseEnv(f.env)
			if err != nil {
				return err
			}
			reserved, reserve, err := f.reserved(cmd)
			if err != nil {
				return err
			}
			patch := map[string]any{}
			if err := f.sizes(cmd, patch); err != nil {
				return err
			}
			if cmd.Flags().Changed("description") {
				patch["Description"] = f.description
			}
			if !codeGiven && len(patch) == 0 && len(env) == 0 && reserve == reserveUnchanged && !f.publish {
				return fmt.Errorf("nothing to update: give code (--zip, --dir, --image) or settings (--timeout, --memory, --env, --description, --concurrency)")
			}
			var fc *client.FunctionConfiguration
			var resp *client.Response
			if codeGiven {
				if fc, resp, err = c.UpdateFunctionCode(ctx, name, zipFile, image); err != nil {
					return err
				}
			}
			if len(env) > 0 {
				if fc, resp, err = updateEnv(ctx, c, name, patch, env); err != nil {
					return err
				}
			} else if len(patch) > 0 {
				if fc, resp, err = c.UpdateFunctionConfiguration(ctx, name, patch); err != nil {
					return err
				}
			}
			switch reserve {
			case reserveSet:
				if err := c.PutConcurrency(ctx, name, reserved); err != nil {
					return err
				}
			case reserveRemove:
				if err := c.DeleteConcurrency(ctx, name); err != nil {
					return err
				}
			}
			if f.publish {
				if fc, resp, err = c.PublishVersion(ctx, name, ""); err != nil {
					return err
				}
			}
			if fc == nil {
				if fc, resp, err = c.GetFunctionConfiguration(ctx, name); err != nil {
					return err
				}
			}
			return g.show(cmd, resp.Body, func(w io.Writer, _ []byte) error { return printConfig(w, fc) })
		},
	}
	f.register(cmd)
	return cmd
}

// envAttempts bounds how often updateEnv reads, merges and writes again
// when other updates keep landing between its read and its write.
const envAttempts = 30

// updateEnv merges env (an empty value removes the variable) into the
// variables $LATEST has and writes them with the rest of patch. The write
// carries the RevisionId that was read, so an update that landed in between
// is never overwritten: the server answers 412 and the merge is done again on
// what is there now, up to envAttempts times.
func updateEnv(ctx context.Context, c *client.Client, name string, patch map[string]any, env map[string]string) (*client.FunctionConfiguration, *client.Response, error) {
	for attempt := 1; ; attempt++ {
		cur, _, err := c.GetFunctionConfiguration(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		vars := map[string]string{}
		if cur.Environment != nil {
			maps.Copy(vars, cur.Environment.Variables)
		}
		for k, v := range env {
			if v == "" {
				delete(vars, k)
			} else {
				vars[k] = v
			}
		}
		patch["Environment"] = map[string]any{"Variables": vars}
		patch["RevisionId"] = cur.RevisionID
		fc, resp, err := c.UpdateFunctionConfiguration(ctx, name, patch)
		if !client.IsPreconditionFailed(err) {
			return fc, resp, err
		}
		if attempt == envAttempts {
			return nil, nil, fmt.Errorf("function %s: nothing was changed: its configuration changed under each of %d attempts "+
				"to merge --env into it (other updates are running at the same time); run the command again: %w", name, attempt, err)
		}
		// Let the update that won go by before reading again; the jitter
		// keeps the losers from colliding again in step.
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Duration(5+rand.IntN(20)) * time.Millisecond): //nolint:gosec // G404: jitter, not a secret
		}
	}
}

func fnGet(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME[:QUALIFIER]",
		Short: "Show a function's configuration ($LATEST, a version or an alias's version)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Configuration client.FunctionConfiguration
				Code          struct {
					RepositoryType, Location string
					ImageURI                 string `json:"ImageUri"`
				}
				Concurrency *struct{ ReservedConcurrentExecutions *int }
			}
			if done, err := g.fetch(cmd, http.MethodGet, client.FunctionPath(args[0], ""), nil, nil, nil, &out); done || err != nil {
				return g.unknownFunction(cmd, args[0], err)
			}
			if err := printConfig(cmd.OutOrStdout(), &out.Configuration); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out.Code.ImageURI != "" {
				fmt.Fprintf(w, "Image:         %s\n", out.Code.ImageURI)
			}
			if out.Concurrency != nil && out.Concurrency.ReservedConcurrentExecutions != nil {
				fmt.Fprintf(w, "Concurrency:   %d reserved\n", *out.Concurrency.ReservedConcurrentExecutions)
			}
			return nil
		},
	}
}

func fnList(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List functions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, done, err := g.fetchPages(cmd, "/2015-03-31/functions", "Functions")
			if done || err != nil {
				return err
			}
			rows := [][]string{}
			for _, raw := range all {
				var fc client.FunctionConfiguration
				if err := json.Unmarshal(raw, &fc); err != nil {
					return err
				}
				rows = append(rows, []string{fc.FunctionName, fc.PackageType, strconv.Itoa(fc.MemorySize),
					strconv.Itoa(fc.Timeout) + "s", fc.LastModified, fc.Description})
			}
			if len(rows) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no functions yet: create one with `portico fn create NAME --dir DIR`")
				return nil
			}
			return table(cmd.OutOrStdout(), []string{"NAME", "PACKAGE", "MEMORY", "TIMEOUT", "LAST MODIFIED", "DESCRIPTION"}, rows)
		},
	}
}

func fnDelete(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME[:VERSION]",
		Short: "Delete a function with all its versions and aliases, or one version",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.unknownFunction(cmd, args[0], g.remove(cmd, client.FunctionPath(args[0], ""), "deleted "+args[0]))
		},
	}
}

func fnPublish(g *globalFlags) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "publish NAME",
		Short: "Publish $LATEST as a new immutable version (or return the latest if unchanged)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			// The versions there before: publishing an unchanged $LATEST
			// returns the latest version (as Lambda does), which the
			// human output says rather than "published". -o json prints
			// Lambda's answer alone.
			before := map[string]bool{}
			if !g.json() {
				if items, _, err := g.fetchPages(cmd, client.FunctionPath(args[0], "/versions"), "Versions"); err == nil {
					for _, raw := range items {
						var v struct{ Version string }
						if json.Unmarshal(raw, &v) == nil {
							before[v.Version] = true
						}
					}
				}
			}
			fc, resp, err := c.PublishVersion(cmd.Context(), args[0], description)
			if err != nil {
				return err
			}
			if before[fc.Version] {
				return g.show(cmd, resp.Body, say("%s version %s already has $LATEST's code and configuration: nothing new to publish (CodeSha256 %s)", fc.FunctionName, fc.Version, fc.CodeSha256))
			}
			return g.show(cmd, resp.Body, say("published %s version %s (CodeSha256 %s)", fc.FunctionName, fc.Version, fc.CodeSha256))
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "version description")
	return cmd
}

func fnVersions(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "versions NAME",
		Short: "List a function's versions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			all, done, err := g.fetchPages(cmd, client.FunctionPath(args[0], "/versions"), "Versions")
			if done || err != nil {
				return g.unknownFunction(cmd, args[0], err)
			}
			rows := [][]string{}
			for _, raw := range all {
				var fc client.FunctionConfiguration
				if err := json.Unmarshal(raw, &fc); err != nil {
					return err
				}
				var env []string
				if fc.Environment != nil {
					for k, v := range fc.Environment.Variables {
						env = append(env, k+"="+v)
					}
					sort.Strings(env)
				}
				rows = append(rows, []string{fc.Version, fc.CodeSha256, fc.LastModified, strings.Join(env, " "), fc.Description})
			}
			return table(cmd.OutOrStdout(), []string{"VERSION", "CODE SHA256", "LAST MODIFIED", "ENV", "DESCRIPTION"}, rows)
		},
	}
}

func newAliasCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "alias", Short: "Manage aliases: set, list, delete, and shift traffic step by step (shift, shift-status, shift-stop)"}
	var weights []string
	set := &cobra.Command{
		Use:   "set FUNCTION ALIAS VERSION [--weight VERSION=0.1]",
		Short: "Create or update an alias, optionally sending a share of calls to one more version",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var w map[string]float64
			for _, kv := range weights {
				v, s, ok := strings.Cut(kv, "=")
				f, err := strconv.ParseFloat(s, 64)
				switch {
				case ok && v == "":
					return fmt.Errorf("--weight %q: the version is empty: use VERSION=WEIGHT with a weight between 0 and 1, e.g. 2=0.1", kv)
				case !ok || err != nil || math.IsNaN(f) || f < 0 || f > 1:
					return fmt.Errorf("--weight %q: use VERSION=WEIGHT with a weight between 0 and 1, e.g. 2=0.1", kv)
				}
				if _, twice := w[v]; twice {
					return fmt.Errorf("--weight %q: version %s has a weight already: give each version one --weight", kv, v)
				}
				if w == nil {
					w = map[string]float64{}
				}
				w[v] = f
			}
			// A traffic shift of the alias in progress ends when the alias
			// changes outside it (it fails at its next step): said at once,
			// not only in shift-status.
			shift, _, shiftErr := c.GetShift(cmd.Context(), args[0], args[1])
			a, resp, err := c.SetAlias(cmd.Context(), args[0], args[1], args[2], w)
			if err != nil {
				return g.unknownFunction(cmd, args[0], err)
			}
			if shiftErr == nil && shift.Status == "InProgress" {
				_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "warning: this ends traffic shift %s of alias %s (version %s to %s), in progress: it fails at its next step, the alias having changed outside it (portico alias shift-status %s %s)\n",
					shift.DeploymentID, args[1], shift.FromVersion, shift.ToVersion, args[0], args[1])
			}
			return g.show(cmd, resp.Body, say("alias %s:%s -> version %s%s", args[0], a.Name, a.FunctionVersion, routing(a)))
		},
	}
	set.Flags().StringArrayVar(&weights, "weight", nil, "additional version and its share of calls, VERSION=WEIGHT (0..1)")

	list := &cobra.Command{
		Use:   "list FUNCTION",
		Short: "List a function's aliases",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{ Aliases []client.Alias }
			if done, err := g.fetch(cmd, http.MethodGet, client.FunctionPath(args[0], "/aliases"), url.Values{"MaxItems": {"10000"}}, nil, nil, &out); done || err != nil {
				return g.unknownFunction(cmd, args[0], err)
			}
			rows := [][]string{}
			for _, a := range out.Aliases {
				rows = append(rows, []string{a.Name, a.FunctionVersion, strings.TrimPrefix(routing(&a), ", "), a.Description})
			}
			return table(cmd.OutOrStdout(), []string{"ALIAS", "VERSION", "ROUTING", "DESCRIPTION"}, rows)
		},
	}
	del := &cobra.Command{
		Use:   "delete FUNCTION ALIAS",
		Short: "Delete an alias",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.remove(cmd, client.FunctionPath(args[0], "/aliases/"+url.PathEscape(args[1])), "deleted alias "+args[0]+":"+args[1])
		},
	}
	cmd.AddCommand(set, list, del, newShiftCmd(g), newShiftStatusCmd(g), newShiftStopCmd(g))
	return cmd
}

// newShiftCmd is `portico alias shift`: it starts a traffic shift of the alias
// to a version and, with --wait, follows it to its end.
func newShiftCmd(g *globalFlags) *cobra.Command {
	var in client.ShiftInput
	var wait bool
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "shift FUNCTION ALIAS --to-version VERSION --type TYPE [--pre-traffic HOOK] [--post-traffic HOOK] [--wait]",
		Short: "Shift an alias's traffic to a version step by step (CodeDeploy's deployment types), gated by hooks",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if in.ToVersion == "" || in.DeploymentType == "" {
				return fmt.Errorf("--to-version and --type are required (types: %s)", strings.Join(shifts.TypeNames(), ", "))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			sh, resp, err := c.StartShift(cmd.Context(), args[0], args[1], in)
			if err != nil {
				return err
			}
			if !wait {
				return g.show(cmd, resp.Body, func(w io.Writer, _ []byte) error { return printShift(w, sh) })
			}
			last := ""
			for {
				if line := shiftSummary(sh); line != last && !g.json() {
					_, _ = fmt.Fprintln(cmd.OutOrStdout(), line)
					last = line
				}
				if sh.Ended() {
					break
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(poll):
				}
				if sh, resp, err = c.GetShift(cmd.Context(), args[0], args[1]); err != nil {
					return err
				}
			}
			if g.json() {
				if err := printJSON(cmd.OutOrStdout(), resp.Body); err != nil {
					return err
				}
			}
			if sh.Status != "Succeeded" {
				return fmt.Errorf("traffic shift %s %s: %s", sh.DeploymentID, strings.ToLower(sh.Status), sh.Reason)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.ToVersion, "to-version", "", "the published version the alias moves to")
	f.StringVar(&in.DeploymentType, "type", "", "deployment type: "+strings.Join(shifts.TypeNames(), ", "))
	f.StringVar(&in.Hooks.PreTraffic, "pre-traffic", "", "function (FUNCTION or FUNCTION:QUALIFIER) run before any traffic moves")
	f.StringVar(&in.Hooks.PostTraffic, "post-traffic", "", "function run once all the traffic has moved")
	f.BoolVar(&wait, "wait", false, "follow the shift to its end, printing each step; fail when it fails")
	f.DurationVar(&poll, "poll", 2*time.Second, "with --wait, how often to read the shift's status")
	return cmd
}

func newShiftStatusCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "shift-status FUNCTION ALIAS",
		Short: "Show an alias's latest traffic shift: state, weight, next step",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			sh, resp, err := c.GetShift(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return g.show(cmd, resp.Body, func(w io.Writer, _ []byte) error { return printShift(w, sh) })
		},
	}
}

func newShiftStopCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "shift-stop FUNCTION ALIAS",
		Short: "Stop an alias's traffic shift in progress, rolling the alias back to its old version",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			sh, resp, err := c.StopShift(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return g.show(cmd, resp.Body, func(w io.Writer, _ []byte) error { return printShift(w, sh) })
		},
	}
}

// shiftSummary is one line on where a shift is.
func shiftSummary(sh *client.Shift) string {
	switch {
	case sh.Status == "Succeeded":
		return fmt.Sprintf("%s:%s: succeeded: on version %s", sh.FunctionName, sh.Alias, sh.ToVersion)
	case sh.Ended():
		return fmt.Sprintf("%s:%s: %s: %s", sh.FunctionName, sh.Alias, strings.ToLower(sh.Status), sh.Reason)
	case sh.HookExecution != nil:
		return fmt.Sprintf("%s:%s: waiting for the %s hook %s", sh.FunctionName, sh.Alias, sh.HookExecution.Hook, sh.HookExecution.Function)
	}
	line := fmt.Sprintf("%s:%s: %g%% on version %s (step %d of %d)", sh.FunctionName, sh.Alias, math.Round(sh.Weight*1000)/10, sh.ToVersion, sh.Step, sh.Steps)
	if sh.NextStepAt != nil {
		line += ", next step at " + sh.NextStepAt.UTC().Format(time.RFC3339)
	}
	return line
}

// printShift prints a traffic shift as a key/value list.
func printShift(w io.Writer, sh *client.Shift) error {
	rows := [][]string{
		{"Deployment", sh.DeploymentID},
		{"Alias", sh.FunctionName + ":" + sh.Alias},
		{"From", sh.FromVersion},
		{"To", sh.ToVersion},
		{"Type", sh.DeploymentType},
		{"Status", sh.Status},
		{"Weight", fmt.Sprintf("%g%%", math.Round(sh.Weight*1000)/10)},
		{"Step", fmt.Sprintf("%d of %d", sh.Step, sh.Steps)},
	}
	if sh.Phase != "" {
		rows = append(rows, []string{"Phase", sh.Phase})
	}
	if sh.NextStepAt != nil {
		rows = append(rows, []string{"Next step", sh.NextStepAt.UTC().Format(time.RFC3339)})
	}
	if h := sh.HookExecution; h != nil {
		rows = append(rows, []string{"Waiting for", fmt.Sprintf("%s hook %s until %s", h.Hook, h.Function, h.Deadline.UTC().Format(time.RFC3339))})
	}
	if sh.Reason != "" {
		rows = append(rows, []string{"Reason", sh.Reason})
	}
	return table(w, []string{"FIELD", "VALUE"}, rows)
}

func routing(a *client.Alias) string {
	if a.RoutingConfig == nil || len(a.RoutingConfig.AdditionalVersionWeights) == 0 {
		return ""
	}
	var parts []string
	for v, w := range a.RoutingConfig.AdditionalVersionWeights {
		parts = append(parts, fmt.Sprintf("%g to version %s", w, v))
	}
	sort.Strings(parts)
	return ", " + strings.Join(parts, ", ")
}
