package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/gateway/usage"
)

// This file holds `portico key ...` and `portico plan ...`, clients of the
// admin API's API Gateway routes /apikeys and /usageplans.

// keyJSON is an API key as the admin API answers it.
type keyJSON struct {
	ID              string   `json:"id"`
	Value           string   `json:"value"`
	Name            string   `json:"name"`
	Description     string   `json:"description"`
	CustomerID      string   `json:"customerId,omitempty"`
	Enabled         bool     `json:"enabled"`
	CreatedDate     int64    `json:"createdDate"`
	LastUpdatedDate int64    `json:"lastUpdatedDate"`
	StageKeys       []string `json:"stageKeys"`
}

// planJSON is a usage plan as the admin API answers it.
type planJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	APIStages   []struct {
		APIID    string `json:"apiId"`
		Stage    string `json:"stage"`
		Throttle map[string]struct {
			BurstLimit int     `json:"burstLimit"`
			RateLimit  float64 `json:"rateLimit"`
		} `json:"throttle"`
	} `json:"apiStages"`
	Throttle *struct {
		BurstLimit int     `json:"burstLimit"`
		RateLimit  float64 `json:"rateLimit"`
	} `json:"throttle"`
	Quota *struct {
		Limit  int64  `json:"limit"`
		Offset int    `json:"offset"`
		Period string `json:"period"`
	} `json:"quota"`
}

func epoch(s int64) string { return time.Unix(s, 0).UTC().Format(time.RFC3339) }

func keyTable(w io.Writer, keys []keyJSON, withValue bool) error {
	header := []string{"ID", "NAME", "ENABLED", "STAGES", "CREATED"}
	if withValue {
		header = append(header, "VALUE")
	}
	rows := [][]string{}
	for _, k := range keys {
		row := []string{k.ID, k.Name, strconv.FormatBool(k.Enabled), strings.Join(k.StageKeys, ","), epoch(k.CreatedDate)}
		if withValue {
			row = append(row, k.Value)
		}
		rows = append(rows, row)
	}
	return table(w, header, rows)
}

func printKey(withValue bool) func(io.Writer, []byte) error {
	return func(w io.Writer, raw []byte) error {
		var k keyJSON
		if err := json.Unmarshal(raw, &k); err != nil {
			return err
		}
		return keyTable(w, []keyJSON{k}, withValue)
	}
}

func newKeyCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage API keys (create, list, get, update, delete, import)",
		Long: `Manage API keys. A method that requires a key (OpenAPI security naming an apiKey
scheme for x-api-key) admits a request only with an enabled key that belongs to a
usage plan covering the stage:

  portico key create --name alice --enabled
  portico plan create --name basic --stage API_ID:dev --quota 1000 --period DAY
  portico plan add-key PLAN_ID KEY_ID
  curl -H 'x-api-key: VALUE' http://127.0.0.1:8080/API_ID/dev/pets`,
	}
	cmd.AddCommand(keyCreate(g), keyList(g), keyGet(g), keyUpdate(g), keyDelete(g), keyImport(g))
	return cmd
}

func keyCreate(g *globalFlags) *cobra.Command {
	var name, value, valueFile, description, customerID string
	var enabled, disable bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API key (a generated 40-character value unless --value or --value-file); prints it with its value",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if valueFile != "" {
				if value != "" {
					return errors.New("give the key's value with --value or --value-file, not both")
				}
				v, err := readSecretFile(valueFile, "--value-file", "API key value", "at least 20 characters: openssl rand -hex 32 > "+valueFile)
				if err != nil {
					return err
				}
				value = v
			}
			if enabled && disable {
				return errors.New("--enabled and --disable contradict each other")
			}
			body := map[string]any{"name": name, "description": description, "enabled": enabled, "customerId": customerID}
			if value != "" {
				body["value"] = value
			}
			return g.run(cmd, http.MethodPost, "/apikeys", nil, body, nil, printKey(true))
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "key name (default: its id)")
	cmd.Flags().StringVar(&value, "value", "", "key value, at least 20 characters (default: generated); shows in ps: prefer --value-file")
	cmd.Flags().StringVar(&valueFile, "value-file", "", "`FILE` holding the key value on one line, in place of --value")
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringVar(&customerID, "customer-id", "", "AWS Marketplace customer id (customerId)")
	cmd.Flags().BoolVar(&enabled, "enabled", false, "create the key enabled (keys are created disabled otherwise, as in AWS)")
	// key update's spellings, so that neither command rejects the other's.
	cmd.Flags().BoolVar(&enabled, "enable", false, "the same as --enabled")
	cmd.Flags().BoolVar(&disable, "disable", false, "create the key disabled (the default)")
	_ = cmd.Flags().MarkHidden("enable")
	_ = cmd.Flags().MarkHidden("disable")
	return cmd
}

func keyList(g *globalFlags) *cobra.Command {
	var name, customerID string
	var values bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List API keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"includeValues": {strconv.FormatBool(values)}}
			if name != "" {
				q.Set("name", name)
			}
			if customerID != "" {
				q.Set("customerId", customerID)
			}
			keys, done, err := collectionPages[keyJSON](cmd, g, "/apikeys", q)
			if done || err != nil {
				return err
			}
			return keyTable(cmd.OutOrStdout(), keys, values)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "only keys whose name starts with this")
	cmd.Flags().StringVar(&customerID, "customer-id", "", "only keys of this customerId")
	cmd.Flags().BoolVar(&values, "show-values", false, "print the key values")
	return cmd
}

func keyGet(g *globalFlags) *cobra.Command {
	var value bool
	cmd := &cobra.Command{
		Use:   "get KEY_ID",
		Short: "Show an API key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.run(cmd, http.MethodGet, "/apikeys/"+url.PathEscape(args[0]), url.Values{"includeValue": {strconv.FormatBool(value)}}, nil, nil, printKey(value))
		},
	}
	cmd.Flags().BoolVar(&value, "show-value", false, "print the key value")
	return cmd
}

func keyUpdate(g *globalFlags) *cobra.Command {
	var name, description, customerID string
	var enable, disable, enabled bool
	cmd := &cobra.Command{
		Use:   "update KEY_ID",
		Short: "Rename, describe, enable or disable an API key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ops []map[string]string
			if cmd.Flags().Changed("name") {
				ops = append(ops, map[string]string{"op": "replace", "path": "/name", "value": name})
			}
			if cmd.Flags().Changed("description") {
				ops = append(ops, map[string]string{"op": "replace", "path": "/description", "value": description})
			}
			if cmd.Flags().Changed("customer-id") {
				ops = append(ops, map[string]string{"op": "replace", "path": "/customerId", "value": customerID})
			}
			if f := cmd.Flags(); f.Changed("enabled") { // key create's spelling
				if enabled {
					enable = true
				} else {
					disable = true
				}
			}
			if enable && disable {
				return fmt.Errorf("--enable and --disable contradict each other")
			}
			if enable || disable {
				ops = append(ops, map[string]string{"op": "replace", "path": "/enabled", "value": strconv.FormatBool(enable)})
			}
			if len(ops) == 0 {
				return fmt.Errorf("nothing to change: give --name, --description, --customer-id, --enable or --disable")
			}
			return g.run(cmd, http.MethodPatch, "/apikeys/"+url.PathEscape(args[0]), nil, map[string]any{"patchOperations": ops}, nil, printKey(false))
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&description, "description", "", "new description")
	cmd.Flags().StringVar(&customerID, "customer-id", "", "new customerId (\"\": none)")
	cmd.Flags().BoolVar(&enable, "enable", false, "enable the key")
	cmd.Flags().BoolVar(&disable, "disable", false, "disable the key")
	// key create's spelling, so that neither command rejects the other's.
	cmd.Flags().BoolVar(&enabled, "enabled", false, "the same as --enable (--enabled=false: --disable)")
	_ = cmd.Flags().MarkHidden("enabled")
	return cmd
}

func keyDelete(g *globalFlags) *cobra.Command {
	return g.call("delete KEY_ID", "Delete an API key (it leaves its usage plans)", cobra.ExactArgs(1), func(a []string) request {
		return request{method: http.MethodDelete, path: "/apikeys/" + url.PathEscape(a[0])}
	}, nil)
}

func keyImport(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import API keys from AWS's CSV format (Name,Key,Description,Enabled,UsagePlanIds); prints their ids",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readFileArg(cmd, args[0])
			if err != nil {
				return err
			}
			return g.run(cmd, http.MethodPost, "/apikeys", url.Values{"mode": {"import"}, "format": {"csv"}}, data,
				http.Header{"Content-Type": {"text/csv"}}, func(w io.Writer, raw []byte) error {
					var out struct {
						IDs []string `json:"ids"`
					}
					if err := json.Unmarshal(raw, &out); err != nil {
						return err
					}
					for _, id := range out.IDs {
						_, _ = fmt.Fprintln(w, id)
					}
					return nil
				})
		},
	}
}

func newPlanCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Manage usage plans: throttles and quotas per API key on API stages",
	}
	cmd.AddCommand(planCreate(g), planUpdate(g), planList(g), planGet(g), planDelete(g), planAddKey(g), planRemoveKey(g), planUsage(g), planResetUsage(g))
	return cmd
}

// printPlan prints the plan an admin API answer holds, as a table.
func printPlan(w io.Writer, raw []byte) error {
	var p planJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	return planTable(w, []planJSON{p})
}

func planTable(w io.Writer, plans []planJSON) error {
	rows := [][]string{}
	for _, p := range plans {
		stages := []string{}
		for _, s := range p.APIStages {
			stages = append(stages, s.APIID+":"+s.Stage)
		}
		throttle, quota := "-", "-"
		if p.Throttle != nil {
			throttle = planThrottle(p.Throttle.RateLimit, p.Throttle.BurstLimit, "the account's")
		}
		if p.Quota != nil {
			quota = fmt.Sprintf("%d per %s", p.Quota.Limit, p.Quota.Period)
			if p.Quota.Offset != 0 {
				quota += fmt.Sprintf(" (offset %d)", p.Quota.Offset)
			}
		}
		rows = append(rows, []string{p.ID, p.Name, strings.Join(stages, ","), throttle, quota})
	}
	return table(w, []string{"ID", "NAME", "STAGES", "THROTTLE", "QUOTA"}, rows)
}

func planCreate(g *globalFlags) *cobra.Command {
	var name, description, period string
	var stages []string
	var rate float64
	var burst, offset int
	var quota int64
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a usage plan",
		Long: `Create a usage plan over API stages (--stage API_ID:STAGE, repeatable), with a
per-key throttle (--rate requests per second, --burst bucket size) and a per-key
quota (--quota N per --period DAY|WEEK|MONTH, periods in UTC; --offset moves the
start: the weekday for WEEK, 0 = Sunday, or the day of the month for MONTH).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"name": name, "description": description}
			var as []map[string]string
			for _, s := range stages {
				api, st, ok := strings.Cut(s, ":")
				if !ok {
					return fmt.Errorf("--stage %q: use API_ID:STAGE", s)
				}
				as = append(as, map[string]string{"apiId": api, "stage": st})
			}
			body["apiStages"] = as
			if cmd.Flags().Changed("rate") || cmd.Flags().Changed("burst") {
				if err := checkRate(rate); err != nil {
					return err
				}
				if rate < 0 || burst < 0 {
					return fmt.Errorf("--rate %g --burst %d: neither may be negative (requests per second and the bucket's size per key)", rate, burst)
				}
				if cmd.Flags().Changed("rate") && !cmd.Flags().Changed("burst") {
					return fmt.Errorf("--rate %g needs --burst: the burst is the bucket's size per key", rate)
				}
				if burst > 0 && rate == 0 {
					_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "warning: --burst %d without a --rate: a plan's rate of 0 beside a burst is taken as not set (API Gateway reads one left out back as 0), so each key's bucket refills at the account's rate (10,000 per second by default); give --rate N requests per second for a rate of the plan's own\n", burst)
				}
				if burst == 0 && rate > 0 {
					_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "warning: --burst 0 with --rate %g: a plan's burst of 0 beside a rate is taken as not set (API Gateway reads one left out back as 0), so each key's bucket is the account's burst (5,000 by default)\n", rate)
				} else if burst == 0 {
					warnZeroBurst(cmd, "--burst 0")
				}
				body["throttle"] = map[string]any{"rateLimit": rate, "burstLimit": burst}
			}
			if !cmd.Flags().Changed("quota") && (cmd.Flags().Changed("period") || cmd.Flags().Changed("offset")) {
				return errors.New("--period and --offset set the quota's period: give the quota too (--quota N requests per period per key)")
			}
			if cmd.Flags().Changed("quota") {
				p, err := quotaPeriod(period)
				if err != nil {
					return err
				}
				body["quota"] = map[string]any{"limit": quota, "period": p, "offset": offset}
			}
			return g.run(cmd, http.MethodPost, "/usageplans", nil, body, nil, printPlan)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "plan name (required)")
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringArrayVar(&stages, "stage", nil, "API stage the plan covers, API_ID:STAGE (repeatable)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "throttle: requests per second per key, with --burst (0 with a burst: the account's; 0 with burst 0 admits no request)")
	cmd.Flags().IntVar(&burst, "burst", 0, "throttle: bucket size per key, with --rate (0 with a rate: the account's; 0 with rate 0 admits no request)")
	cmd.Flags().Int64Var(&quota, "quota", 0, "quota: requests per period per key")
	cmd.Flags().StringVar(&period, "period", "DAY", "quota period: DAY, WEEK or MONTH (with --quota)")
	cmd.Flags().IntVar(&offset, "offset", 0, "quota period offset (with --quota)")
	return cmd
}

func planUpdate(g *globalFlags) *cobra.Command {
	var name, description, period string
	var addStages, removeStages []string
	var rate float64
	var burst, offset int
	var quota int64
	var noThrottle, noQuota bool
	cmd := &cobra.Command{
		Use:   "update PLAN_ID",
		Short: "Change a usage plan: its name, stages, throttle or quota (its keys and usage records stay)",
		Long: `Change a usage plan in place (update-usage-plan), keeping its keys and their usage
records: --name, --description, --add-stage and --remove-stage API_ID:STAGE
(repeatable), the per-key throttle (--rate, --burst; --no-throttle removes it) and
the per-key quota (--quota, --period, --offset; --no-quota removes it). What is
not given stays as it is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			var ops []map[string]string
			op := func(o, path, value string) {
				ops = append(ops, map[string]string{"op": o, "path": path, "value": value})
			}
			if f.Changed("name") {
				op("replace", "/name", name)
			}
			if f.Changed("description") {
				op("replace", "/description", description)
			}
			for _, list := range []struct {
				flag, op string
				stages   []string
			}{{"--add-stage", "add", addStages}, {"--remove-stage", "remove", removeStages}} {
				for _, s := range list.stages {
					if api, st, ok := strings.Cut(s, ":"); !ok || api == "" || st == "" {
						return fmt.Errorf("%s %q: use API_ID:STAGE", list.flag, s)
					}
					op(list.op, "/apiStages", s)
				}
			}
			switch {
			case noThrottle && (f.Changed("rate") || f.Changed("burst")):
				return errors.New("--no-throttle removes the plan's throttle: give it without --rate and --burst")
			case noThrottle:
				op("remove", "/throttle", "")
			default:
				if f.Changed("rate") {
					if err := checkRate(rate); err != nil {
						return err
					}
					if rate < 0 {
						return fmt.Errorf("--rate %g: give a number of requests per second, 0 or more", rate)
					}
					op("replace", "/throttle/rateLimit", strconv.FormatFloat(rate, 'f', -1, 64))
				}
				if f.Changed("burst") {
					if burst < 0 {
						return fmt.Errorf("--burst %d: give the bucket's size per key, 0 or more", burst)
					}
					if burst == 0 {
						warnZeroBurst(cmd, "--burst 0")
					}
					op("replace", "/throttle/burstLimit", strconv.Itoa(burst))
				}
			}
			switch {
			case noQuota && (f.Changed("quota") || f.Changed("period") || f.Changed("offset")):
				return errors.New("--no-quota removes the plan's quota: give it without --quota, --period and --offset")
			case noQuota:
				op("remove", "/quota", "")
			default:
				// The period first: the offset it takes is checked against it.
				if f.Changed("period") {
					p, err := quotaPeriod(period)
					if err != nil {
						return err
					}
					op("replace", "/quota/period", p)
				}
				if f.Changed("offset") {
					op("replace", "/quota/offset", strconv.Itoa(offset))
				}
				if f.Changed("quota") {
					op("replace", "/quota/limit", strconv.FormatInt(quota, 10))
				}
			}
			if len(ops) == 0 {
				return errors.New("nothing to change: give --name, --description, --add-stage, --remove-stage, --rate, --burst, --no-throttle, --quota, --period, --offset or --no-quota")
			}
			path := "/usageplans/" + url.PathEscape(args[0])
			return g.run(cmd, http.MethodPatch, path, nil, map[string]any{"patchOperations": ops}, nil, printPlan)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&description, "description", "", "new description (\"\" clears it)")
	cmd.Flags().StringArrayVar(&addStages, "add-stage", nil, "API stage to add, API_ID:STAGE (repeatable)")
	cmd.Flags().StringArrayVar(&removeStages, "remove-stage", nil, "API stage to remove, API_ID:STAGE (repeatable)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "throttle: requests per second per key")
	cmd.Flags().IntVar(&burst, "burst", 0, "throttle: bucket size per key (0 admits no request)")
	cmd.Flags().BoolVar(&noThrottle, "no-throttle", false, "remove the plan's throttle")
	cmd.Flags().Int64Var(&quota, "quota", 0, "quota: requests per period per key")
	cmd.Flags().StringVar(&period, "period", "", "quota period: DAY, WEEK or MONTH")
	cmd.Flags().IntVar(&offset, "offset", 0, "quota period offset (0 for DAY, 0-6 for WEEK, 0-27 for MONTH)")
	cmd.Flags().BoolVar(&noQuota, "no-quota", false, "remove the plan's quota")
	return cmd
}

// checkRate refuses a --rate that is not a number of requests per second
// (NaN and Inf, which the flag parses).
// quotaPeriod checks --period before any request (the admin API's answer
// would name the patch path the command made up) and returns it in capitals.
func quotaPeriod(period string) (string, error) {
	switch p := strings.ToUpper(period); p {
	case "DAY", "WEEK", "MONTH":
		return p, nil
	}
	return "", fmt.Errorf("--period %q: give DAY, WEEK or MONTH", period)
}

func checkRate(rate float64) error {
	if math.IsNaN(rate) || math.IsInf(rate, 0) {
		return fmt.Errorf("--rate %g: give a number of requests per second, 0 or more", rate)
	}
	return nil
}

// warnZeroBurst warns that a throttle with a burst of 0 (what names it)
// throttles every request, whatever its rate, as on API Gateway.
func warnZeroBurst(cmd *cobra.Command, what string) {
	_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s: a burst of 0 admits no request (the burst is the bucket's size), so every request is throttled whatever the rate\n", what)
}

func planList(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List usage plans",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plans, done, err := collectionPages[planJSON](cmd, g, "/usageplans", nil)
			if done || err != nil {
				return err
			}
			return planTable(cmd.OutOrStdout(), plans)
		},
	}
}

// collectionPages gets every page of an API Gateway collection ({"item":
// [...], "position": "..."}, at most 500 items a page) at path with query,
// following position to the end. With --output json it prints the items as
// one collection, {"item": [...]}, and reports done.
func collectionPages[T any](cmd *cobra.Command, g *globalFlags, path string, query url.Values) (items []T, done bool, err error) {
	q := url.Values{}
	maps.Copy(q, query)
	q.Set("limit", "500")
	var raws []json.RawMessage
	for {
		resp, err := g.do(cmd, http.MethodGet, path, q, nil, nil)
		if err != nil {
			return nil, true, err
		}
		var pg struct {
			Item     []json.RawMessage `json:"item"`
			Position string            `json:"position"`
		}
		if err := json.Unmarshal(resp.Body, &pg); err != nil {
			return nil, true, err
		}
		raws = append(raws, pg.Item...)
		if pg.Position == "" {
			break
		}
		q.Set("position", pg.Position)
	}
	if g.json() {
		if raws == nil {
			raws = []json.RawMessage{}
		}
		raw, err := json.Marshal(map[string]any{"item": raws})
		if err != nil {
			return nil, true, err
		}
		return nil, true, printJSON(cmd.OutOrStdout(), raw)
	}
	items = make([]T, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &items[i]); err != nil {
			return nil, true, err
		}
	}
	return items, false, nil
}

func planGet(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get PLAN_ID",
		Short: "Show a usage plan, its method throttles and its keys",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/usageplans/" + url.PathEscape(args[0])
			var p planJSON
			if done, err := g.fetch(cmd, http.MethodGet, path, nil, nil, nil, &p); done || err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if err := planTable(w, []planJSON{p}); err != nil {
				return err
			}
			rows := [][]string{}
			for _, s := range p.APIStages {
				methods := make([]string, 0, len(s.Throttle))
				for m := range s.Throttle {
					methods = append(methods, m)
				}
				sort.Strings(methods)
				for _, m := range methods {
					t := s.Throttle[m]
					rows = append(rows, []string{s.APIID + ":" + s.Stage, m, planThrottle(t.RateLimit, t.BurstLimit, "the plan's")})
				}
			}
			if len(rows) > 0 {
				_, _ = fmt.Fprintln(w)
				if err := table(w, []string{"STAGE", "METHOD", "THROTTLE"}, rows); err != nil {
					return err
				}
			}
			keys, _, err := collectionPages[keyJSON](cmd, g, path+"/keys", nil)
			if err != nil {
				return err
			}
			_, _ = fmt.Fprintln(w)
			rows = [][]string{}
			for _, k := range keys {
				rows = append(rows, []string{k.ID, k.Name})
			}
			return table(w, []string{"KEY ID", "KEY NAME"}, rows)
		},
	}
}

func planDelete(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete PLAN_ID",
		Short: "Delete a usage plan and its usage records (its API stages are removed from it first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/usageplans/" + url.PathEscape(args[0])
			if err := removePlanStages(cmd, g, path); err != nil {
				return err
			}
			return g.run(cmd, http.MethodDelete, path, nil, nil, nil, nil)
		},
	}
}

// removePlanStages removes every API stage from the plan at path, as the
// admin API (like API Gateway) deletes only a plan without stages.
func removePlanStages(cmd *cobra.Command, g *globalFlags, path string) error {
	resp, err := g.do(cmd, http.MethodGet, path, nil, nil, nil)
	if err != nil {
		return err
	}
	var p planJSON
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		return err
	}
	if len(p.APIStages) == 0 {
		return nil
	}
	ops := make([]map[string]string, 0, len(p.APIStages))
	for _, s := range p.APIStages {
		ops = append(ops, map[string]string{"op": "remove", "path": "/apiStages", "value": s.APIID + ":" + s.Stage})
	}
	_, err = g.do(cmd, http.MethodPatch, path, nil, map[string]any{"patchOperations": ops}, nil)
	return err
}

func planAddKey(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "add-key PLAN_ID KEY_ID", Short: "Attach an API key to a usage plan (a key is in at most one plan per API stage)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, a []string) error {
			return g.run(cmd, http.MethodPost, "/usageplans/"+url.PathEscape(a[0])+"/keys", nil,
				map[string]string{"keyId": a[1], "keyType": "API_KEY"}, nil, say("added key %s to usage plan %s", a[1], a[0]))
		},
	}
}

func planRemoveKey(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "remove-key PLAN_ID KEY_ID", Short: "Detach an API key from a usage plan", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, a []string) error {
			return g.remove(cmd, "/usageplans/"+url.PathEscape(a[0])+"/keys/"+url.PathEscape(a[1]), "removed key "+a[1]+" from usage plan "+a[0])
		},
	}
}

// usageTable prints a GetUsage answer: one row per key and day.
func usageTable(w io.Writer, raw []byte) error {
	var u struct {
		StartDate string               `json:"startDate"`
		Values    map[string][][]int64 `json:"values"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return err
	}
	start, err := time.Parse(time.DateOnly, u.StartDate)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(u.Values))
	for k := range u.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := [][]string{}
	for _, k := range keys {
		for i, d := range u.Values[k] {
			if len(d) != 2 {
				continue
			}
			rows = append(rows, []string{k, start.AddDate(0, 0, i).Format(time.DateOnly), strconv.FormatInt(d[0], 10), strconv.FormatInt(d[1], 10)})
		}
	}
	return table(w, []string{"KEY ID", "DATE", "USED", "REMAINING"}, rows)
}

func planUsage(g *globalFlags) *cobra.Command {
	var key, from, to string
	cmd := &cobra.Command{
		Use:   "usage PLAN_ID",
		Short: "Show a usage plan's requests and remaining quota per key per day (UTC)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			today := time.Now().UTC()
			if from == "" {
				from = today.AddDate(0, 0, -6).Format(time.DateOnly)
			}
			if to == "" {
				to = today.Format(time.DateOnly)
			}
			// Checked here, so that an error names this command's flags
			// (the server's names its startDate and endDate).
			for _, f := range []struct{ flag, v string }{{"--from", from}, {"--to", to}} {
				if _, err := time.Parse(time.DateOnly, f.v); err != nil {
					return fmt.Errorf("%s %s: %s", f.flag, f.v, usage.DateProblem(f.v))
				}
			}
			if to < from {
				return fmt.Errorf("--to %s is before --from %s (--from defaults to 6 days ago, --to to today, UTC)", to, from)
			}
			q := url.Values{"startDate": {from}, "endDate": {to}, "limit": {"500"}}
			if key != "" {
				q.Set("keyId", key)
			}
			// The usage is paged by key: every page, as one answer.
			var all map[string]any
			values := map[string]json.RawMessage{}
			for {
				resp, err := g.do(cmd, http.MethodGet, "/usageplans/"+url.PathEscape(args[0])+"/usage", q, nil, nil)
				if err != nil {
					return err
				}
				var pg struct {
					Values   map[string]json.RawMessage `json:"values"`
					Position string                     `json:"position"`
				}
				if err := json.Unmarshal(resp.Body, &pg); err != nil {
					return err
				}
				if all == nil {
					if err := json.Unmarshal(resp.Body, &all); err != nil {
						return err
					}
				}
				maps.Copy(values, pg.Values)
				if pg.Position == "" {
					break
				}
				q.Set("position", pg.Position)
			}
			all["values"] = values
			delete(all, "position")
			raw, err := json.Marshal(all)
			if err != nil {
				return err
			}
			return g.show(cmd, raw, usageTable)
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "only this key")
	cmd.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD (default: 6 days ago)")
	cmd.Flags().StringVar(&to, "to", "", "last day, YYYY-MM-DD (default: today)")
	return cmd
}

func planResetUsage(g *globalFlags) *cobra.Command {
	var remaining int64
	cmd := &cobra.Command{
		Use:   "reset-usage PLAN_ID KEY_ID",
		Short: "Set a key's remaining quota for the current period (default: the whole quota)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			planPath := "/usageplans/" + url.PathEscape(args[0])
			if !cmd.Flags().Changed("remaining") {
				resp, err := g.do(cmd, http.MethodGet, planPath, nil, nil, nil)
				if err != nil {
					return err
				}
				var p planJSON
				if err := json.Unmarshal(resp.Body, &p); err != nil {
					return err
				}
				if p.Quota == nil {
					return fmt.Errorf("usage plan %s has no quota to reset", args[0])
				}
				remaining = p.Quota.Limit
			}
			ops := []map[string]string{{"op": "replace", "path": "/remaining", "value": strconv.FormatInt(remaining, 10)}}
			return g.run(cmd, http.MethodPatch, planPath+"/keys/"+url.PathEscape(args[1])+"/usage", nil,
				map[string]any{"patchOperations": ops}, nil, usageTable)
		},
	}
	cmd.Flags().Int64Var(&remaining, "remaining", 0, "remaining requests to set")
	return cmd
}

// planThrottle shows a usage plan's throttle (or one of its methods'): a rate
// of 0 beside a burst above 0, or a burst of 0 beside a rate above 0, is not
// set, and inherited from what above names (docs/api-keys-and-usage-plans.md),
// not "never refills" or "admits nothing".
func planThrottle(rate float64, burst int, above string) string {
	switch {
	case rate == 0 && burst > 0:
		return fmt.Sprintf("rate %s, burst %d", above, burst)
	case rate > 0 && burst == 0:
		return fmt.Sprintf("%g/s, burst %s", rate, above)
	}
	return fmt.Sprintf("%g/s burst %d", rate, burst)
}
