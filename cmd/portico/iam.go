package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// This file holds `portico iam ...`, a client of the admin API's IAM query API
// (the one `aws iam --endpoint-url` drives): users, access keys and inline
// policies of the principals that sign requests to AWS_IAM routes.

// iamDo sends one IAM action and decodes its XML answer into out (nil: none).
// IAM's XML errors become "Code: Message".
func (g *globalFlags) iamDo(cmd *cobra.Command, action string, params url.Values, out any) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	f := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
	for k, v := range params {
		f[k] = v
	}
	resp, err := c.Do(cmd.Context(), http.MethodPost, "/", nil, []byte(f.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}})
	if err != nil {
		var ae *client.APIError
		if errors.As(err, &ae) {
			var e struct {
				Code    string `xml:"Error>Code"`
				Message string `xml:"Error>Message"`
			}
			if xml.Unmarshal([]byte(ae.Message), &e) == nil && e.Code != "" {
				return fmt.Errorf("%s: %s", e.Code, e.Message)
			}
		}
		return err
	}
	if out == nil {
		return nil
	}
	return xml.Unmarshal(resp.Body, out)
}

// iamPageParams are params asking for the largest page, after marker ("" for
// the first page): IAM's List actions answer 100 items unless asked for more,
// and a Marker for the next page when there are more.
func iamPageParams(params url.Values, marker string) url.Values {
	out := url.Values{"MaxItems": {"1000"}}
	for k, v := range params {
		out[k] = v
	}
	if marker != "" {
		out.Set("Marker", marker)
	}
	return out
}

// iamAction returns a command that sends IAM action, its arguments being the
// parameters names lists (in order) beside the fixed ones, and says what it
// did: done(args) for table output, {} for --output json (IAM's answer to
// these actions holds nothing but its request id).
func (g *globalFlags) iamAction(use, short, action string, fixed url.Values, done func(args []string) string, names ...string) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(len(names)),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := url.Values{}
			for k, v := range fixed {
				params[k] = v
			}
			for i, n := range names {
				params.Set(n, args[i])
			}
			if err := g.iamDo(cmd, action, params, nil); err != nil {
				return err
			}
			return g.show(cmd, nil, say("%s", done(args)))
		},
	}
}

// iamPrint prints v as JSON (--output json) or as a table.
func (g *globalFlags) iamPrint(cmd *cobra.Command, v any, header []string, rows [][]string) error {
	if g.json() {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(cmd.OutOrStdout(), string(b))
		return err
	}
	return table(cmd.OutOrStdout(), header, rows)
}

type iamUserXML struct {
	UserName   string `xml:"UserName" json:"userName"`
	UserID     string `xml:"UserId" json:"userId"`
	ARN        string `xml:"Arn" json:"arn"`
	Path       string `xml:"Path" json:"path"`
	CreateDate string `xml:"CreateDate" json:"createDate"`
}

type iamKeyXML struct {
	UserName        string `xml:"UserName" json:"userName"`
	AccessKeyID     string `xml:"AccessKeyId" json:"accessKeyId"`
	Status          string `xml:"Status" json:"status"`
	SecretAccessKey string `xml:"SecretAccessKey" json:"secretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate" json:"createDate"`
}

var userHeader = []string{"USER", "ID", "ARN", "CREATED"}

func userRows(us ...iamUserXML) [][]string {
	rows := [][]string{}
	for _, u := range us {
		rows = append(rows, []string{u.UserName, u.UserID, u.ARN, u.CreateDate})
	}
	return rows
}

func newIAMCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "iam",
		Short: "Manage IAM principals for AWS_IAM routes (users, access keys, policies)",
		Long: `Manage the IAM principals whose SigV4-signed requests AWS_IAM routes admit: users,
their access keys and their inline policies. The same API answers
aws iam --endpoint-url http://127.0.0.1:9090 ...

  portico iam user create alice
  portico iam key create alice            # prints the secret access key, once
  portico iam policy put alice invoke --document '{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:API_ID/*"}]}'`,
	}
	user := &cobra.Command{Use: "user", Short: "Create, list, show and delete IAM users"}
	user.AddCommand(iamUserCreate(g), iamUserList(g), iamUserGet(g), iamUserDelete(g))
	key := &cobra.Command{Use: "key", Short: "Create, list, activate, deactivate and delete access keys"}
	key.AddCommand(iamKeyCreate(g), iamKeyList(g), iamKeyStatus(g, "activate", "Active"), iamKeyStatus(g, "deactivate", "Inactive"), iamKeyDelete(g))
	pol := &cobra.Command{Use: "policy", Short: "Put, show, list and delete users' inline policies"}
	pol.AddCommand(iamPolicyPut(g), iamPolicyGet(g), iamPolicyList(g), iamPolicyDelete(g))
	cmd.AddCommand(user, key, pol)
	return cmd
}

func iamUserCreate(g *globalFlags) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use: "create USER", Short: "Create a user", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				User iamUserXML `xml:"CreateUserResult>User"`
			}
			if err := g.iamDo(cmd, "CreateUser", url.Values{"UserName": {args[0]}, "Path": {path}}, &out); err != nil {
				return err
			}
			return g.iamPrint(cmd, out.User, userHeader, userRows(out.User))
		},
	}
	cmd.Flags().StringVar(&path, "path", "/", "the user's path (/division/team/)")
	return cmd
}

func iamUserList(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List users", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			users := []iamUserXML{}
			for marker := ""; ; {
				var out struct {
					Users  []iamUserXML `xml:"ListUsersResult>Users>member"`
					Marker string       `xml:"ListUsersResult>Marker"`
				}
				if err := g.iamDo(cmd, "ListUsers", iamPageParams(nil, marker), &out); err != nil {
					return err
				}
				users = append(users, out.Users...)
				if marker = out.Marker; marker == "" {
					break
				}
			}
			return g.iamPrint(cmd, users, userHeader, userRows(users...))
		},
	}
}

func iamUserGet(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "get USER", Short: "Show a user", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				User iamUserXML `xml:"GetUserResult>User"`
			}
			if err := g.iamDo(cmd, "GetUser", url.Values{"UserName": {args[0]}}, &out); err != nil {
				return err
			}
			return g.iamPrint(cmd, out.User, userHeader, userRows(out.User))
		},
	}
}

func iamUserDelete(g *globalFlags) *cobra.Command {
	return g.iamAction("delete USER", "Delete a user (its access keys and policies must be deleted first)", "DeleteUser", nil,
		func(a []string) string { return "deleted user " + a[0] }, "UserName")
}

var keyHeader = []string{"USER", "ACCESS KEY ID", "STATUS", "CREATED"}

func iamKeyCreate(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "create USER", Short: "Create an access key; its secret is printed now and never again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Key iamKeyXML `xml:"CreateAccessKeyResult>AccessKey"`
			}
			if err := g.iamDo(cmd, "CreateAccessKey", url.Values{"UserName": {args[0]}}, &out); err != nil {
				return err
			}
			k := out.Key
			return g.iamPrint(cmd, k, append(keyHeader[:len(keyHeader):len(keyHeader)], "SECRET ACCESS KEY"),
				[][]string{{k.UserName, k.AccessKeyID, k.Status, k.CreateDate, k.SecretAccessKey}})
		},
	}
}

func iamKeyList(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "list USER", Short: "List a user's access keys", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Keys []iamKeyXML `xml:"ListAccessKeysResult>AccessKeyMetadata>member"`
			}
			if err := g.iamDo(cmd, "ListAccessKeys", url.Values{"UserName": {args[0]}}, &out); err != nil {
				return err
			}
			rows := [][]string{}
			for _, k := range out.Keys {
				rows = append(rows, []string{k.UserName, k.AccessKeyID, k.Status, k.CreateDate})
			}
			return g.iamPrint(cmd, out.Keys, keyHeader, rows)
		},
	}
}

func iamKeyStatus(g *globalFlags, verb, status string) *cobra.Command {
	return g.iamAction(verb+" USER ACCESS_KEY_ID", "Set an access key "+status, "UpdateAccessKey", url.Values{"Status": {status}},
		func(a []string) string { return "access key " + a[1] + " of user " + a[0] + ": " + status }, "UserName", "AccessKeyId")
}

func iamKeyDelete(g *globalFlags) *cobra.Command {
	return g.iamAction("delete USER ACCESS_KEY_ID", "Delete an access key", "DeleteAccessKey", nil,
		func(a []string) string { return "deleted access key " + a[1] + " of user " + a[0] }, "UserName", "AccessKeyId")
}

func iamPolicyPut(g *globalFlags) *cobra.Command {
	var doc string
	cmd := &cobra.Command{
		Use: "put USER POLICY_NAME --document JSON|@FILE", Short: "Add or replace a user's inline policy", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file, ok := strings.CutPrefix(doc, "@"); ok {
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				doc = string(b)
			}
			if doc == "" {
				return errors.New("--document is required: a policy document as JSON, or @FILE")
			}
			if err := g.iamDo(cmd, "PutUserPolicy", url.Values{"UserName": {args[0]}, "PolicyName": {args[1]}, "PolicyDocument": {doc}}, nil); err != nil {
				return err
			}
			return g.show(cmd, nil, say("put policy %s of user %s", args[1], args[0]))
		},
	}
	cmd.Flags().StringVar(&doc, "document", "", "the policy document (JSON), or @FILE")
	return cmd
}

func iamPolicyGet(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "get USER POLICY_NAME", Short: "Print a user's inline policy document", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Doc string `xml:"GetUserPolicyResult>PolicyDocument"`
			}
			if err := g.iamDo(cmd, "GetUserPolicy", url.Values{"UserName": {args[0]}, "PolicyName": {args[1]}}, &out); err != nil {
				return err
			}
			doc, err := url.PathUnescape(out.Doc)
			if err != nil {
				return err
			}
			_, err = io.WriteString(cmd.OutOrStdout(), strings.TrimSpace(doc)+"\n")
			return err
		},
	}
}

func iamPolicyList(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "list USER", Short: "List a user's inline policies", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			names := []string{}
			for marker := ""; ; {
				var out struct {
					Names  []string `xml:"ListUserPoliciesResult>PolicyNames>member"`
					Marker string   `xml:"ListUserPoliciesResult>Marker"`
				}
				if err := g.iamDo(cmd, "ListUserPolicies", iamPageParams(url.Values{"UserName": {args[0]}}, marker), &out); err != nil {
					return err
				}
				names = append(names, out.Names...)
				if marker = out.Marker; marker == "" {
					break
				}
			}
			rows := [][]string{}
			for _, n := range names {
				rows = append(rows, []string{n})
			}
			return g.iamPrint(cmd, names, []string{"POLICY"}, rows)
		},
	}
}

func iamPolicyDelete(g *globalFlags) *cobra.Command {
	return g.iamAction("delete USER POLICY_NAME", "Delete a user's inline policy", "DeleteUserPolicy", nil,
		func(a []string) string { return "deleted policy " + a[1] + " of user " + a[0] }, "UserName", "PolicyName")
}
