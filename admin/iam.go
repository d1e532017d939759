package admin

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/iam"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/listener"
)

// This file serves the IAM API subset on the admin port, in IAM's query
// protocol (POST / with a form body Action=CreateUser&Version=2010-05-08&...,
// XML answers), so that `aws iam --endpoint-url http://127.0.0.1:9090 ...` and
// the AWS SDKs' IAM clients manage Portico's principals.

// IAMDeps are the IAM routes' dependencies.
type IAMDeps struct {
	fx.In

	IAM *iam.Service `optional:"true"`
}

// iamXMLNS is IAM's XML namespace.
const iamXMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"

// maxIAMForm bounds an IAM request's form body (policy documents included).
const maxIAMForm = 64 << 10

// stsVersion is the API version of STS, whose query API (GetCallerIdentity,
// AssumeRole, ...) has IAM's shape.
const stsVersion = "2011-06-15"

// noSTS answers a request for STS: Portico serves IAM's query API on the
// admin port, not STS's.
func noSTS() error {
	return &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "InvalidAction", Message: "Portico does not serve STS (GetCallerIdentity, AssumeRole, GetSessionToken, ...): its admin port serves IAM's query API, signed for service iam. " +
		"Sign gateway requests with an IAM user's access key itself; GetUser shows the user's ARN."}
}

// iamPattern is the route of IAM's query API.
const iamPattern = "POST /{$}"

// isIAMRoute reports whether r is for IAM's query API, whose errors
// (authentication's included) answer in IAM's XML shape.
func (s *Server) isIAMRoute(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return pattern == iamPattern
}

// iamAction is one IAM action: it reads the form and returns the Result element
// (nil for actions that answer only ResponseMetadata).
type iamAction func(r *http.Request, f url.Values) (any, error)

func (s *Server) registerIAMRoutes(d IAMDeps) {
	if d.IAM == nil {
		return
	}
	h := iamHandlers{svc: d.IAM}
	actions := map[string]iamAction{
		"CreateUser": h.createUser, "GetUser": h.getUser, "ListUsers": h.listUsers, "DeleteUser": h.deleteUser,
		"CreateAccessKey": h.createAccessKey, "ListAccessKeys": h.listAccessKeys, "UpdateAccessKey": h.updateAccessKey,
		"DeleteAccessKey": h.deleteAccessKey, "PutUserPolicy": h.putUserPolicy, "GetUserPolicy": h.getUserPolicy,
		"ListUserPolicies": h.listUserPolicies, "DeleteUserPolicy": h.deleteUserPolicy,
	}
	s.mux.HandleFunc(iamPattern, func(w http.ResponseWriter, r *http.Request) {
		reqID := w.Header().Get("X-Amzn-RequestId")
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIAMForm))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			s.writeIAMError(w, r, &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "ValidationError", Message: "The request body is over 64 KB."})
			return
		case err != nil:
			// A body cut short by its client (not answered: it has gone),
			// not received in time (408) or unread at the stop (503), as
			// on the other routes (writeIAMError).
			s.writeIAMError(w, r, fmt.Errorf("%w: %w", &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "ValidationError", Message: "The request body could not be read: " + err.Error()}, err))
			return
		}
		f, err := url.ParseQuery(string(body))
		if err != nil {
			s.writeIAMError(w, r, &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "MalformedQueryString", Message: "The form body does not parse."})
			return
		}
		name := f.Get("Action")
		act, ok := actions[name]
		if !ok && f.Get("Version") == stsVersion {
			s.writeIAMError(w, r, noSTS())
			return
		}
		if !ok && name != "" {
			// AWS's code; the text says what Portico grants with instead
			// (a CreatePolicy or AttachUserPolicy ported from Terraform).
			msg := fmt.Sprintf("Portico's IAM does not serve %s: it grants access through inline user policies only (PutUserPolicy); managed policies, groups, roles and permissions boundaries are not supported (docs/authorizers-and-iam.md)", truncateStr(name, 64))
			if strings.HasPrefix(name, "Tag") || strings.HasPrefix(name, "Untag") || strings.HasSuffix(name, "Tags") {
				msg = fmt.Sprintf("Portico's IAM does not serve %s: its users, access keys and policies carry no tags (docs/authorizers-and-iam.md)", truncateStr(name, 64))
			}
			s.writeIAMError(w, r, &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "InvalidAction", Message: msg})
			return
		}
		if !ok {
			s.writeIAMError(w, r, &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "InvalidAction",
				Message: fmt.Sprintf("Could not find operation %s for version %s", truncateStr(name, 64), truncateStr(f.Get("Version"), 16))})
			return
		}
		if err := checkIAMParams(name, f); err != nil {
			s.writeIAMError(w, r, err)
			return
		}
		result, err := act(r, f)
		if err != nil {
			s.writeIAMError(w, r, err)
			return
		}
		out := iamResponse{XMLName: xml.Name{Local: name + "Response"}, XMLNS: iamXMLNS, Result: result, RequestID: reqID}
		if result != nil {
			out.Result = iamResult{XMLName: xml.Name{Local: name + "Result"}, Inner: result}
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, xml.Header)
		_ = xml.NewEncoder(w).Encode(out)
	})
}

func truncateStr(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// iamResponse is <ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>.
type iamResponse struct {
	XMLName   xml.Name
	XMLNS     string `xml:"xmlns,attr"`
	Result    any
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type iamResult struct {
	XMLName xml.Name
	Inner   any
}

// MarshalXML writes the result element around the inner fields.
func (r iamResult) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(r.Inner, xml.StartElement{Name: r.XMLName})
}

// writeIAMError is the IAM surface's one error adapter: IAM's ErrorResponse
// with the error code (NoSuchEntity, EntityAlreadyExists, DeleteConflict,
// LimitExceeded, MalformedPolicyDocument, ValidationError) and its status.
// Server-side failures answer a generic message; their detail goes to the log.
func (s *Server) writeIAMError(w http.ResponseWriter, r *http.Request, err error) {
	// As the other surfaces' adapters (writeError): a body not received in
	// time is 408, one unread at the stop 503, and a request whose client
	// has gone (a body it cut short) is not answered.
	err = bodyTimedOut(w, cutOffBy(r, bodySignatureError(r, err)))
	if clientGone(r, err) {
		s.log.Debug("admin request: client gone before its answer", "requestId", w.Header().Get("X-Amzn-RequestId"),
			"method", r.Method, "path", r.URL.Path, "status", statusClientClosedRequest, "err", err)
		return
	}
	status, code, msg := http.StatusInternalServerError, "ServiceFailure", "Internal server error"
	var k *errdefs.Kinded
	var told clientTold
	switch {
	case errors.Is(err, listener.ErrBodyTimeout) && errors.As(err, &k):
		status, code, msg = http.StatusRequestTimeout, k.Type, k.Message
	case errors.As(err, &told):
		status, code, msg = http.StatusServiceUnavailable, "ServiceUnavailable", told.ClientMessage()
	case errors.As(err, &k) && !errors.Is(k.Kind, errdefs.ErrUnavailable):
		code, msg = k.Type, k.Message
		switch {
		case errors.Is(err, errdefs.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, errdefs.ErrConflict):
			status = http.StatusConflict
		case errors.Is(err, errdefs.ErrInvalid):
			status = http.StatusBadRequest
		case errors.Is(err, errdefs.ErrForbidden):
			status = http.StatusForbidden
		case errors.Is(err, errdefs.ErrThrottled):
			status, code = http.StatusTooManyRequests, "Throttling"
		}
	default:
		s.log.Error("admin request failed", "requestId", w.Header().Get("X-Amzn-RequestId"), "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-ErrorType", code)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		XMLNS     string   `xml:"xmlns,attr"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}{XMLNS: iamXMLNS, Type: typ, Code: code, Message: msg, RequestID: w.Header().Get("X-Amzn-RequestId")})
}

type iamHandlers struct{ svc *iam.Service }

// xmlUser is an IAM User element.
type xmlUser struct {
	Path       string `xml:"Path"`
	UserName   string `xml:"UserName"`
	UserID     string `xml:"UserId"`
	ARN        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func toXMLUser(u *iam.User) xmlUser {
	return xmlUser{Path: u.Path, UserName: u.UserName, UserID: u.UserID, ARN: u.ARN, CreateDate: iamTime(u.CreateDate)}
}

func iamTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// required reads required form parameters, in order, or answers IAM's
// ValidationError naming the first one missing.
func required(f url.Values, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = f.Get(name)
		if out[i] == "" {
			return nil, &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "ValidationError",
				Message: fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))}
		}
	}
	return out, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}

func (h iamHandlers) createUser(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName")
	if err != nil {
		return nil, err
	}
	u, err := h.svc.CreateUser(r.Context(), p[0], f.Get("Path"))
	if err != nil {
		return nil, err
	}
	return struct {
		User xmlUser `xml:"User"`
	}{toXMLUser(u)}, nil
}

func (h iamHandlers) getUser(r *http.Request, f url.Values) (any, error) {
	name := f.Get("UserName")
	if name == "" {
		return nil, &errdefs.Kinded{Kind: errdefs.ErrInvalid, Type: "ValidationError", Message: "Must specify userName when calling with non-User credentials"}
	}
	u, err := h.svc.GetUser(r.Context(), name)
	if err != nil {
		return nil, err
	}
	return struct {
		User xmlUser `xml:"User"`
	}{toXMLUser(u)}, nil
}

func (h iamHandlers) listUsers(r *http.Request, f url.Values) (any, error) {
	users, err := h.svc.ListUsers(r.Context(), f.Get("PathPrefix"))
	if err != nil {
		return nil, err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].UserName < users[j].UserName })
	names := make([]string, len(users))
	for i := range users {
		names[i] = users[i].UserName
	}
	from, to, marker, err := iamPage(f, "ListUsers", names)
	if err != nil {
		return nil, err
	}
	out := struct {
		Users       []xmlUser `xml:"Users>member"`
		IsTruncated bool      `xml:"IsTruncated"`
		Marker      string    `xml:"Marker,omitempty"`
	}{Users: []xmlUser{}, IsTruncated: marker != "", Marker: marker}
	for i := from; i < to; i++ {
		out.Users = append(out.Users, toXMLUser(&users[i]))
	}
	return out, nil
}

func (h iamHandlers) deleteUser(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName")
	if err != nil {
		return nil, err
	}
	return nil, h.svc.DeleteUser(r.Context(), p[0])
}

type xmlKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate"`
}

func (h iamHandlers) createAccessKey(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName")
	if err != nil {
		return nil, err
	}
	k, secret, err := h.svc.CreateAccessKey(r.Context(), p[0])
	if err != nil {
		return nil, err
	}
	return struct {
		AccessKey xmlKey `xml:"AccessKey"`
	}{xmlKey{UserName: k.UserName, AccessKeyID: k.AccessKeyID, Status: k.Status, SecretAccessKey: secret, CreateDate: iamTime(k.CreateDate)}}, nil
}

func (h iamHandlers) listAccessKeys(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName")
	if err != nil {
		return nil, err
	}
	keys, err := h.svc.ListAccessKeys(r.Context(), p[0])
	if err != nil {
		return nil, err
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].AccessKeyID < keys[j].AccessKeyID })
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.AccessKeyID
	}
	from, to, marker, err := iamPage(f, "ListAccessKeys", ids)
	if err != nil {
		return nil, err
	}
	out := struct {
		UserName    string   `xml:"UserName"`
		Keys        []xmlKey `xml:"AccessKeyMetadata>member"`
		IsTruncated bool     `xml:"IsTruncated"`
		Marker      string   `xml:"Marker,omitempty"`
	}{UserName: p[0], Keys: []xmlKey{}, IsTruncated: marker != "", Marker: marker}
	for _, k := range keys[from:to] {
		out.Keys = append(out.Keys, xmlKey{UserName: k.UserName, AccessKeyID: k.AccessKeyID, Status: k.Status, CreateDate: iamTime(k.CreateDate)})
	}
	return out, nil
}

func (h iamHandlers) updateAccessKey(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName", "AccessKeyId", "Status")
	if err != nil {
		return nil, err
	}
	return nil, h.svc.UpdateAccessKey(r.Context(), p[0], p[1], p[2])
}

func (h iamHandlers) deleteAccessKey(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName", "AccessKeyId")
	if err != nil {
		return nil, err
	}
	return nil, h.svc.DeleteAccessKey(r.Context(), p[0], p[1])
}

func (h iamHandlers) putUserPolicy(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName", "PolicyName", "PolicyDocument")
	if err != nil {
		return nil, err
	}
	return nil, h.svc.PutUserPolicy(r.Context(), p[0], p[1], p[2])
}

func (h iamHandlers) getUserPolicy(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName", "PolicyName")
	if err != nil {
		return nil, err
	}
	doc, err := h.svc.GetUserPolicy(r.Context(), p[0], p[1])
	if err != nil {
		return nil, err
	}
	// IAM answers the document URL-encoded (RFC 3986); the SDKs decode it.
	return struct {
		UserName       string `xml:"UserName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{p[0], p[1], url.PathEscape(doc)}, nil
}

func (h iamHandlers) listUserPolicies(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName")
	if err != nil {
		return nil, err
	}
	names, err := h.svc.ListUserPolicies(r.Context(), p[0]) // sorted
	if err != nil {
		return nil, err
	}
	from, to, marker, err := iamPage(f, "ListUserPolicies", names)
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool     `xml:"IsTruncated"`
		Marker      string   `xml:"Marker,omitempty"`
	}{PolicyNames: names[from:to], IsTruncated: marker != "", Marker: marker}, nil
}

func (h iamHandlers) deleteUserPolicy(r *http.Request, f url.Values) (any, error) {
	p, err := required(f, "UserName", "PolicyName")
	if err != nil {
		return nil, err
	}
	return nil, h.svc.DeleteUserPolicy(r.Context(), p[0], p[1])
}
