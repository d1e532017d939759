package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/functions"
)

// maxListed is how many existing names a not-found error lists.
const maxListed = 20

// existing words the names that exist, for a not-found error: "a, b and 3
// more", or that there are none.
func existing(kind string, names []string) string {
	if len(names) == 0 {
		return fmt.Sprintf("there are no %ss yet", kind)
	}
	shown := names
	more := ""
	if len(shown) > maxListed {
		shown, more = shown[:maxListed], fmt.Sprintf(" and %d more", len(names)-maxListed)
	}
	return fmt.Sprintf("%ss here: %s%s", kind, strings.Join(shown, ", "), more)
}

// unknownFunction adds to err, when it says that function name (NAME, with a
// qualifier or as an ARN) does not exist, the functions that do, as an unknown
// alias's error lists the aliases. Other errors, a missing qualifier of a
// function that exists among them, are returned as they are.
func (g *globalFlags) unknownFunction(cmd *cobra.Command, name string, err error) error {
	if !client.IsNotFound(err) {
		return err
	}
	ref, perr := functions.ParseRef(name)
	if perr != nil {
		return err
	}
	items, _, lerr := (&globalFlags{endpoint: g.endpoint, token: g.token, output: "table"}).fetchPages(cmd, "/2015-03-31/functions", "Functions")
	if lerr != nil {
		return err
	}
	names := make([]string, 0, len(items))
	for _, raw := range items {
		var f struct{ FunctionName string }
		if json.Unmarshal(raw, &f) == nil {
			if f.FunctionName == ref.Name {
				return err // the function exists: its qualifier is what is missing
			}
			names = append(names, f.FunctionName)
		}
	}
	return fmt.Errorf("%w (%s)", err, existing("function", names))
}

// unknownAPI adds to err, when it says that API id does not exist, the APIs
// that do (id and name).
func (g *globalFlags) unknownAPI(cmd *cobra.Command, id string, err error) error {
	if !client.IsNotFound(err) {
		return err
	}
	resp, lerr := g.do(cmd, http.MethodGet, apisPath, nil, nil, nil)
	if lerr != nil {
		return err
	}
	var out struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	if json.Unmarshal(resp.Body, &out) != nil {
		return err
	}
	names := make([]string, 0, len(out.Items))
	for _, a := range out.Items {
		if a.ID == id {
			return err // the API exists: something else is missing
		}
		names = append(names, fmt.Sprintf("%s (%s)", a.ID, a.Name))
	}
	return fmt.Errorf("%w (%s)", err, existing("API", names))
}

// unknownStage adds to err, when it says that API id or its stage does not
// exist, the APIs that do (unknownAPI) or the API's stages. Other errors, a
// missing deployment of a stage that exists, are returned as they are.
func (g *globalFlags) unknownStage(cmd *cobra.Command, id, stage string, err error) error {
	if !client.IsNotFound(err) {
		return err
	}
	if aerr := g.unknownAPI(cmd, id, err); aerr != err { //nolint:errorlint // unknownAPI returns err itself when the API exists
		return aerr
	}
	c, cerr := g.client()
	if cerr != nil {
		return err
	}
	stages, lerr := listStages(cmd.Context(), c, id)
	if lerr != nil {
		return err
	}
	names := make([]string, 0, len(stages))
	for _, s := range stages {
		if s.Name == stage {
			return err // the stage exists: something else is missing
		}
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return fmt.Errorf("%w (%s has no stages yet: deploy it with `portico api deploy %s --stage %s`)", err, id, id, stage)
	}
	return fmt.Errorf("%w (%s)", err, existing("stage", names))
}
