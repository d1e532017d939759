package deploy

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
)

// HTTPTarget applies plans through the admin API: the Lambda API for
// functions, /portico/v1/apis for API definitions, deployments and stages,
// API Gateway's stage, deployment and usage plan routes, and
// /portico/v1/stacks for the stack's record. It is safe for concurrent use,
// as its client is, though Apply calls it from one goroutine.
type HTTPTarget struct {
	C *client.Client
	// Hold is the id of the hold this run took on the stack (HoldStack):
	// the server writes the stack's record only for the run holding it.
	Hold string
	// ShiftPoll is how often ShiftAlias reads a traffic shift's status
	// (zero: every 2 seconds).
	ShiftPoll time.Duration
	// ShiftRetry is how long ShiftAlias goes on reading a traffic shift's
	// status while the server cannot be reached (zero: 5 minutes;
	// NoShiftRetry: it gives up at the first unreachable read).
	ShiftRetry time.Duration
	// LocalImages has ResolveImage resolve from the images on the server's
	// host alone, pulling none (a dry run): one the host does not have is
	// ErrWouldPull.
	LocalImages bool
	// Zip zips a function's CodeUri directory for PutFunction (nil:
	// client.ZipDir); the CLI's shows the zipping's progress.
	Zip func(dir string) ([]byte, error)
}

var _ Target = (*HTTPTarget)(nil)

const (
	apisPath   = "/portico/v1/apis"
	stacksPath = "/portico/v1/stacks"
	fnPath     = "/2015-03-31/functions/"
)

func esc(s string) string { return url.PathEscape(s) }

// GetStack implements Target.
func (h *HTTPTarget) GetStack(ctx context.Context, name string) (*Record, error) {
	resp, err := h.C.Do(ctx, http.MethodGet, stacksPath+"/"+esc(name), nil, nil, nil)
	if client.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(resp.Body, &rec); err != nil {
		return nil, fmt.Errorf("decoding the record of stack %s: %w", name, err)
	}
	return &rec, nil
}

// PutStack implements Target: the server writes the record only over the
// revision rec was read at (0: a stack without a record), and only for the
// run holding the stack (Hold); rec.Revision becomes the one written.
func (h *HTTPTarget) PutStack(ctx context.Context, rec *Record) error {
	q := h.holdQuery("hold")
	q.Set("revision", strconv.FormatInt(rec.Revision, 10))
	resp, err := h.C.Do(ctx, http.MethodPut, stacksPath+"/"+esc(rec.Name), q, rec, nil)
	if err != nil {
		return err
	}
	// The revision written, for the run's next write of the record.
	var got struct {
		Revision int64 `json:"revision"`
	}
	if json.Unmarshal(resp.Body, &got) == nil && got.Revision > 0 {
		rec.Revision = got.Revision
	}
	return nil
}

func (h *HTTPTarget) holdQuery(key string) url.Values {
	q := url.Values{}
	if h.Hold != "" {
		q.Set(key, h.Hold)
	}
	return q
}

// HoldStack marks stack name as being deployed by this run (by says which,
// for the message another run gets) and keeps the hold's id in h.Hold. It
// fails, changing nothing, while another run holds the stack.
func (h *HTTPTarget) HoldStack(ctx context.Context, name, by string) error {
	resp, err := h.C.Do(ctx, http.MethodPost, stacksPath+"/"+esc(name)+"/hold", nil, map[string]string{"by": by}, nil)
	if err != nil {
		return err
	}
	var hold Hold
	if err := json.Unmarshal(resp.Body, &hold); err != nil {
		return fmt.Errorf("holding stack %s: decoding the hold: %w", name, err)
	}
	if hold.ID == "" {
		return fmt.Errorf("holding stack %s: the server answered no hold id", name)
	}
	h.Hold = hold.ID
	return nil
}

// StackHold returns the hold on stack name (without its token), or nil when
// no run holds it.
func (h *HTTPTarget) StackHold(ctx context.Context, name string) (*Hold, error) {
	resp, err := h.C.Do(ctx, http.MethodGet, stacksPath+"/"+esc(name)+"/hold", nil, nil, nil)
	if client.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var hold Hold
	if err := json.Unmarshal(resp.Body, &hold); err != nil {
		return nil, fmt.Errorf("decoding the hold of stack %s: %w", name, err)
	}
	return &hold, nil
}

// TakeOverStack is HoldStack in place of old, the hold of a run that is gone:
// the server replaces old only if it still holds the stack (the same run and
// start), so that of two runs finding it gone one takes the stack.
func (h *HTTPTarget) TakeOverStack(ctx context.Context, name, by string, old *Hold) error {
	body := map[string]any{"by": by, "replaces": Hold{By: old.By, Started: old.Started}}
	resp, err := h.C.Do(ctx, http.MethodPost, stacksPath+"/"+esc(name)+"/hold", nil, body, nil)
	if err != nil {
		return err
	}
	var hold Hold
	if err := json.Unmarshal(resp.Body, &hold); err != nil || hold.ID == "" {
		return fmt.Errorf("holding stack %s: the server answered no hold id", name)
	}
	h.Hold = hold.ID
	return nil
}

// ReleaseStack releases the hold HoldStack took; without one it does nothing.
func (h *HTTPTarget) ReleaseStack(ctx context.Context, name string) error {
	if h.Hold == "" {
		return nil
	}
	_, err := h.C.Do(ctx, http.MethodDelete, stacksPath+"/"+esc(name)+"/hold", h.holdQuery("id"), nil, nil)
	if err == nil {
		h.Hold = ""
	}
	return err
}

// ClearStackHold clears whatever hold a run left on stack name (one that was
// killed or crashed) and returns it, or nil when none held the stack.
func (h *HTTPTarget) ClearStackHold(ctx context.Context, name string) (*Hold, error) {
	resp, err := h.C.Do(ctx, http.MethodDelete, stacksPath+"/"+esc(name)+"/hold", nil, nil, nil)
	if err != nil || len(resp.Body) == 0 {
		return nil, err
	}
	var hold Hold
	if err := json.Unmarshal(resp.Body, &hold); err != nil {
		return nil, fmt.Errorf("decoding the hold of stack %s: %w", name, err)
	}
	return &hold, nil
}

// DeleteStack implements Target.
func (h *HTTPTarget) DeleteStack(ctx context.Context, name string) error {
	_, err := h.C.Do(ctx, http.MethodDelete, stacksPath+"/"+esc(name), h.holdQuery("hold"), nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

func (h *HTTPTarget) exists(ctx context.Context, path string) (bool, error) {
	_, err := h.C.Do(ctx, http.MethodGet, path, nil, nil, nil)
	if client.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// FunctionExists implements Target.
func (h *HTTPTarget) FunctionExists(ctx context.Context, name string) (bool, error) {
	return h.exists(ctx, fnPath+esc(name)+"/configuration")
}

// APIExists implements Target.
func (h *HTTPTarget) APIExists(ctx context.Context, id string) (bool, error) {
	return h.exists(ctx, apisPath+"/"+esc(id))
}

// APIsNamed implements Target through the admin API's list of APIs.
func (h *HTTPTarget) APIsNamed(ctx context.Context, name string) ([]string, error) {
	var list struct {
		Items []struct{ ID, Name string }
	}
	if err := h.getJSON(ctx, apisPath, &list); err != nil {
		return nil, err
	}
	var ids []string
	for _, a := range list.Items {
		if a.Name == name {
			ids = append(ids, a.ID)
		}
	}
	return ids, nil
}

// APIKeySource implements Target.
func (h *HTTPTarget) APIKeySource(ctx context.Context, id string) (string, error) {
	resp, err := h.C.Do(ctx, http.MethodGet, apisPath+"/"+esc(id), nil, nil, nil)
	if err != nil {
		return "", err
	}
	var a struct {
		APIKeySource string `json:"apiKeySource"`
	}
	err = json.Unmarshal(resp.Body, &a)
	return a.APIKeySource, err
}

// AliasExists implements Target.
func (h *HTTPTarget) AliasExists(ctx context.Context, name, alias string) (bool, error) {
	return h.exists(ctx, client.FunctionPath(name, "/aliases/"+esc(alias)))
}

// VersionExists implements Target.
func (h *HTTPTarget) VersionExists(ctx context.Context, name, version string) (bool, error) {
	_, err := h.C.Do(ctx, http.MethodGet, fnPath+esc(name)+"/configuration", url.Values{"Qualifier": {version}}, nil, nil)
	if client.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// StageExists implements Target.
func (h *HTTPTarget) StageExists(ctx context.Context, id, stage string) (bool, error) {
	return h.exists(ctx, apisPath+"/"+esc(id)+"/stages/"+esc(stage))
}

// UsagePlanExists implements Target.
func (h *HTTPTarget) UsagePlanExists(ctx context.Context, id string) (bool, error) {
	return h.exists(ctx, "/usageplans/"+esc(id))
}

// APIKeyExists implements Target.
func (h *HTTPTarget) APIKeyExists(ctx context.Context, id string) (bool, error) {
	return h.exists(ctx, "/apikeys/"+esc(id))
}

// UsagePlanHasKey implements Target: API Gateway's GetUsagePlanKey.
func (h *HTTPTarget) UsagePlanHasKey(ctx context.Context, planID, keyID string) (bool, error) {
	return h.exists(ctx, "/usageplans/"+esc(planID)+"/keys/"+esc(keyID))
}

// ResolveImage implements Target through POST /portico/v1/images/resolve.
// With LocalImages, the server pulls nothing.
func (h *HTTPTarget) ResolveImage(ctx context.Context, imageURI string) (string, error) {
	resolve := h.C.ResolveImage
	if h.LocalImages {
		resolve = h.C.ResolveLocalImage
	}
	r, err := resolve(ctx, imageURI)
	if h.LocalImages && client.IsNotFound(err) {
		return "", fmt.Errorf("%w: %w", ErrWouldPull, err)
	}
	if err != nil {
		return "", err
	}
	return r.ResolvedImage, nil
}

// CheckImage implements Target through POST /portico/v1/images/resolve
// from the host's images alone (pulling none): an image the host does not
// have is ErrWouldPull (the deploy pulls it), a refusal (400: the runtime
// runs no images, a reference that is not one) an error.
func (h *HTTPTarget) CheckImage(ctx context.Context, imageURI string) error {
	_, err := h.C.ResolveLocalImage(ctx, imageURI)
	if e := (*client.APIError)(nil); errors.As(err, &e) && e.Status == http.StatusBadRequest {
		return err
	}
	if client.IsNotFound(err) {
		return fmt.Errorf("%w: %w", ErrWouldPull, err)
	}
	return nil
}

// FunctionImage implements Target through GetFunction.
func (h *HTTPTarget) FunctionImage(ctx context.Context, name, qualifier string) (PinnedImage, error) {
	img, err := h.C.GetFunctionImage(ctx, name, qualifier)
	if err != nil {
		return PinnedImage{}, err
	}
	return PinnedImage{ImageURI: img.ImageURI, ResolvedImage: img.ResolvedImage}, nil
}

// functionConfig is the Lambda configuration document of f: every property
// the template may leave out is sent too, at Lambda's default, so that one
// the last deploy set and this one drops is reset, as CloudFormation resets
// it (MemorySize 128, Timeout 3, no description, environment or file systems).
func functionConfig(f *Function) map[string]any {
	env := f.Environment
	if env == nil {
		env = map[string]string{}
	}
	cfg := map[string]any{"Description": f.Description, "Environment": map[string]any{"Variables": env}}
	if f.Handler != "" {
		cfg["Handler"] = f.Handler
	}
	if f.Runtime != "" {
		cfg["Runtime"] = f.Runtime
	}
	cfg["MemorySize"] = cmp.Or(f.MemorySize, functions.DefaultMemory)
	cfg["Timeout"] = cmp.Or(f.Timeout, functions.DefaultTimeout)
	fs := []map[string]string{}
	for _, m := range f.FileSystems {
		fs = append(fs, map[string]string{"Arn": m.Arn, "LocalMountPath": m.LocalMountPath})
	}
	cfg["FileSystemConfigs"] = fs
	if len(f.Architectures) > 0 {
		cfg["Architectures"] = f.Architectures // the server refuses another than its own
	}
	if f.ImageURI != "" {
		ic := f.ImageConfig
		if ic == nil {
			ic = &functions.ImageConfig{} // takes a removed one off
		}
		cfg["ImageConfig"] = ic
	}
	return cfg
}

// PutFunction implements Target.
func (h *HTTPTarget) PutFunction(ctx context.Context, f *Function, create bool) error {
	cfg := functionConfig(f)
	if !create && f.keepCode != "" && f.ImageURI == "" {
		// Nothing zipped or sent when $LATEST runs the recorded package.
		_, sha, err := h.latest(ctx, f.Name)
		if err != nil {
			return err
		}
		if sha == f.keepCode {
			f.sentSHA = sha
			fc, _, err := h.C.UpdateFunctionConfiguration(ctx, f.Name, cfg)
			if err != nil {
				return err
			}
			f.revision = fc.RevisionID
			return nil
		}
	}
	code, err := f.packageWith(h.Zip)
	if err != nil {
		return fmt.Errorf("packaging %s: %w", f.CodePath, err)
	}
	if code != nil && f.ImageURI == "" {
		f.sentSHA = client.CodeSha256(code)
	}
	if create {
		cfg["FunctionName"] = f.Name
		if f.ImageURI != "" {
			cfg["PackageType"] = "Image"
			cfg["Code"] = map[string]any{"ImageUri": f.ImageURI}
		} else {
			cfg["PackageType"] = "Zip"
			cfg["Code"] = map[string]any{"ZipFile": code}
		}
		_, _, err := h.C.CreateFunction(ctx, cfg)
		return err
	}
	fc, _, err := h.C.UpdateFunctionCode(ctx, f.Name, code, f.ImageURI)
	if err != nil {
		return err
	}
	f.revision = fc.RevisionID
	if fc, _, err = h.C.UpdateFunctionConfiguration(ctx, f.Name, cfg); err != nil {
		return err
	}
	f.revision = fc.RevisionID
	return nil
}

// savedConfigKeys are the configuration fields PutFunction sets, which
// SaveFunction keeps.
var savedConfigKeys = []string{"Description", "Environment", "Handler", "Runtime", "MemorySize", "Timeout", "FileSystemConfigs"}

// SaveFunction implements Target: the configuration from GetFunction, the code
// from /portico/v1/functions/{name}/code (Zip) or the image URI.
func (h *HTTPTarget) SaveFunction(ctx context.Context, name string) (*SavedFunction, error) {
	s, _, err := h.latest(ctx, name)
	if err != nil {
		return nil, err
	}
	if s.ImageURI == "" {
		code, err := h.C.Do(ctx, http.MethodGet, "/portico/v1/functions/"+esc(name)+"/code", nil, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("code of function %s: %w", name, err)
		}
		s.Zip = code.Body
	}
	return s, nil
}

// latest reads function name's $LATEST through GetFunction: the
// configuration fields PutFunction sets and the image URI (no code), and the
// code's CodeSha256.
func (h *HTTPTarget) latest(ctx context.Context, name string) (*SavedFunction, string, error) {
	return h.qualified(ctx, name, "")
}

// qualified is latest of a version (qualifier; "": $LATEST).
func (h *HTTPTarget) qualified(ctx context.Context, name, qualifier string) (*SavedFunction, string, error) {
	var q url.Values
	if qualifier != "" {
		q = url.Values{"Qualifier": {qualifier}}
	}
	resp, err := h.C.Do(ctx, http.MethodGet, fnPath+esc(name), q, nil, nil)
	if err != nil {
		return nil, "", err
	}
	var got struct {
		Configuration map[string]any
		Code          struct{ ImageUri, ResolvedImageUri string } //nolint:revive // Lambda's field names
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		return nil, "", fmt.Errorf("decoding function %s: %w", name, err)
	}
	// The image $LATEST runs, by its digest (REPOSITORY@sha256:...), not by
	// its tag: the tag may name the new image by the time of a rollback.
	s := &SavedFunction{Config: map[string]any{"Description": "", "Environment": map[string]any{"Variables": map[string]string{}},
		"FileSystemConfigs": []any{}}, ImageURI: cmp.Or(got.Code.ResolvedImageUri, got.Code.ImageUri), imageGiven: got.Code.ImageUri}
	for _, k := range savedConfigKeys {
		if v, ok := got.Configuration[k]; ok && v != nil {
			s.Config[k] = v
		}
	}
	if s.ImageURI != "" {
		// Lambda reports it as ImageConfigResponse.ImageConfig; none is {}.
		s.Config["ImageConfig"] = map[string]any{}
		if r, ok := got.Configuration["ImageConfigResponse"].(map[string]any); ok && r["ImageConfig"] != nil {
			s.Config["ImageConfig"] = r["ImageConfig"]
		}
	}
	sha, _ := got.Configuration["CodeSha256"].(string)
	s.RevisionID, _ = got.Configuration["RevisionId"].(string)
	return s, sha, nil
}

// VersionState implements Target through GetFunction.
func (h *HTTPTarget) VersionState(ctx context.Context, name, version string) (*FunctionState, error) {
	s, sha, err := h.qualified(ctx, name, version)
	if err != nil {
		return nil, err
	}
	return &FunctionState{Config: s.Config, CodeSHA256: sha, ImageURI: s.imageGiven}, nil
}

// FunctionState implements Target through GetFunction and GetAlias.
func (h *HTTPTarget) FunctionState(ctx context.Context, name, alias string) (*FunctionState, error) {
	s, sha, err := h.latest(ctx, name)
	if err != nil {
		return nil, err
	}
	st := &FunctionState{Config: s.Config, CodeSHA256: sha, ImageURI: s.imageGiven}
	if alias == "" {
		return st, nil
	}
	resp, err := h.C.Do(ctx, http.MethodGet, client.FunctionPath(name, "/aliases/"+esc(alias)), nil, nil, nil)
	if client.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	var a client.Alias
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		return nil, fmt.Errorf("decoding alias %s of %s: %w", alias, name, err)
	}
	st.AliasVersion = a.FunctionVersion
	if a.RoutingConfig != nil && len(a.RoutingConfig.AdditionalVersionWeights) > 0 {
		st.AliasWeights = a.RoutingConfig.AdditionalVersionWeights
	}
	return st, nil
}

// RestoreFunction implements Target: code first, then configuration, each
// with Lambda's RevisionId precondition (the configuration's on the
// revision the code's restore made).
func (h *HTTPTarget) RestoreFunction(ctx context.Context, name string, s *SavedFunction, revision string) error {
	fc, _, err := h.C.UpdateFunctionCodeIf(ctx, name, s.Zip, s.ImageURI, revision)
	if err != nil {
		return changedSince(err, "$LATEST of function "+name, revision)
	}
	cfg := maps.Clone(s.Config)
	cfg["RevisionId"] = fc.RevisionID
	if _, _, err := h.C.UpdateFunctionConfiguration(ctx, name, cfg); err != nil {
		return changedSince(err, "the configuration of function "+name+" (its code was put back)", fc.RevisionID)
	}
	return nil
}

// changedSince is err, or for a 412 (the RevisionId precondition failed)
// an ErrChangedSince naming what changed and the revision it is no longer at.
func changedSince(err error, what, revision string) error {
	if e := (*client.APIError)(nil); errors.As(err, &e) && e.Status == http.StatusPreconditionFailed {
		return fmt.Errorf("%s was %w (its RevisionId is no longer %s)", what, ErrChangedSince, revision)
	}
	return err
}

// PublishVersion implements Target.
func (h *HTTPTarget) PublishVersion(ctx context.Context, name string) (string, error) {
	v, _, err := h.C.PublishVersion(ctx, name, "portico deploy")
	if err != nil {
		return "", err
	}
	return v.Version, nil
}

// LastVersion implements Target: the highest of Versions.
func (h *HTTPTarget) LastVersion(ctx context.Context, name string) (string, error) {
	vs, err := h.Versions(ctx, name)
	last, n := "", 0
	for _, v := range vs {
		if i, err := strconv.Atoi(v); err == nil && i > n {
			last, n = v, i
		}
	}
	return last, err
}

// Versions implements Target through ListVersionsByFunction, page by page
// ($LATEST left out).
func (h *HTTPTarget) Versions(ctx context.Context, name string) ([]string, error) {
	var out []string
	marker := ""
	for {
		q := url.Values{"MaxItems": {"10000"}}
		if marker != "" {
			q.Set("Marker", marker)
		}
		resp, err := h.C.Do(ctx, http.MethodGet, client.FunctionPath(name, "/versions"), q, nil, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Versions []struct {
				Version string
			}
			NextMarker string
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return nil, fmt.Errorf("decoding the versions of %s: %w", name, err)
		}
		for _, v := range page.Versions {
			if v.Version != "$LATEST" {
				out = append(out, v.Version)
			}
		}
		if page.NextMarker == "" {
			return out, nil
		}
		marker = page.NextMarker
	}
}

// DeleteVersion implements Target through DeleteFunction with a Qualifier.
func (h *HTTPTarget) DeleteVersion(ctx context.Context, name, version string) error {
	_, err := h.C.Do(ctx, http.MethodDelete, fnPath+esc(name), url.Values{"Qualifier": {version}}, nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// AccountConcurrency implements Target through GetAccountSettings.
func (h *HTTPTarget) AccountConcurrency(ctx context.Context) (int, int, error) {
	var s struct {
		AccountLimit struct {
			ConcurrentExecutions, UnreservedConcurrentExecutions int
		}
	}
	if err := h.getJSON(ctx, "/2016-08-19/account-settings", &s); err != nil {
		return 0, 0, err
	}
	return s.AccountLimit.ConcurrentExecutions, s.AccountLimit.UnreservedConcurrentExecutions, nil
}

// SetAlias implements Target.
func (h *HTTPTarget) SetAlias(ctx context.Context, name, alias, version string) error {
	_, _, err := h.C.SetAlias(ctx, name, alias, version, nil)
	return err
}

// SetAliasRouting implements Target.
func (h *HTTPTarget) SetAliasRouting(ctx context.Context, name, alias, version string, weights map[string]float64) error {
	_, _, err := h.C.SetAlias(ctx, name, alias, version, weights)
	return err
}

// SetReserved implements Target.
func (h *HTTPTarget) SetReserved(ctx context.Context, name string, n *int) error {
	if n != nil {
		return h.C.PutConcurrency(ctx, name, *n)
	}
	_, err := h.C.Do(ctx, http.MethodDelete, "/2017-10-31/functions/"+esc(name)+"/concurrency", nil, nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// FunctionLimits implements Target: Lambda's GetFunctionConcurrency,
// GetProvisionedConcurrencyConfig and GetFunctionEventInvokeConfig (one
// not there is none).
func (h *HTTPTarget) FunctionLimits(ctx context.Context, name, alias, qualifier string) (*FunctionLimits, error) {
	get := func(path string, q url.Values, out any) (bool, error) {
		resp, err := h.C.Do(ctx, http.MethodGet, path, q, nil, nil)
		if client.IsNotFound(err) && q != nil {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return true, json.Unmarshal(resp.Body, out)
	}
	var lim FunctionLimits
	var rc struct {
		ReservedConcurrentExecutions *int
	}
	if _, err := get("/2019-09-30/functions/"+esc(name)+"/concurrency", nil, &rc); err != nil {
		return nil, err
	}
	lim.Reserved = rc.ReservedConcurrentExecutions
	if alias != "" {
		var pc struct {
			RequestedProvisionedConcurrentExecutions int
		}
		if _, err := get("/2019-09-30/functions/"+esc(name)+"/provisioned-concurrency", url.Values{"Qualifier": {alias}}, &pc); err != nil {
			return nil, err
		}
		lim.Provisioned = pc.RequestedProvisionedConcurrentExecutions
	}
	if qualifier != "" {
		var ei EventInvoke
		ok, err := get("/2019-09-25/functions/"+esc(name)+"/event-invoke-config", url.Values{"Qualifier": {qualifier}}, &ei)
		if err != nil {
			return nil, err
		}
		if ok {
			lim.EventInvoke = &ei
		}
	}
	return &lim, nil
}

// CheckAccessLog implements Target through POST
// /portico/v1/access-log/check (a server without that route cannot tell).
func (h *HTTPTarget) CheckAccessLog(ctx context.Context, dest string) error {
	_, err := h.C.Do(ctx, http.MethodPost, "/portico/v1/access-log/check", nil, map[string]string{"destinationArn": dest}, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// SetProvisioned implements Target.
func (h *HTTPTarget) SetProvisioned(ctx context.Context, name, alias string, n int) error {
	q := url.Values{"Qualifier": {alias}}
	path := "/2019-09-30/functions/" + esc(name) + "/provisioned-concurrency"
	if n > 0 {
		_, err := h.C.Do(ctx, http.MethodPut, path, q, map[string]any{"ProvisionedConcurrentExecutions": n}, nil)
		return err
	}
	_, err := h.C.Do(ctx, http.MethodDelete, path, q, nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// SetEventInvoke implements Target.
func (h *HTTPTarget) SetEventInvoke(ctx context.Context, name, qualifier string, c *EventInvoke) error {
	q := url.Values{"Qualifier": {qualifier}}
	path := "/2019-09-25/functions/" + esc(name) + "/event-invoke-config"
	if c != nil {
		body := map[string]any{}
		if c.MaximumRetryAttempts != nil {
			body["MaximumRetryAttempts"] = *c.MaximumRetryAttempts
		}
		if c.MaximumEventAgeInSeconds != nil {
			body["MaximumEventAgeInSeconds"] = *c.MaximumEventAgeInSeconds
		}
		_, err := h.C.Do(ctx, http.MethodPut, path, q, body, nil)
		return err
	}
	_, err := h.C.Do(ctx, http.MethodDelete, path, q, nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// DeleteAlias implements Target.
func (h *HTTPTarget) DeleteAlias(ctx context.Context, name, alias string) error {
	_, err := h.C.Do(ctx, http.MethodDelete, client.FunctionPath(name, "/aliases/"+esc(alias)), nil, nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// DeleteFunction implements Target.
func (h *HTTPTarget) DeleteFunction(ctx context.Context, name string) error {
	_, err := h.C.Do(ctx, http.MethodDelete, fnPath+esc(name), nil, nil, nil)
	return err
}

// wsBody is the body of the admin API call that creates a WebSocket API or
// puts its definition back: its name, route selection expression, API key
// source, routes (with the ids of ids, by route key, so that a route keeps
// its id) and authorizers. The key source is always sent: the PUT that
// replaces a definition keeps none it is not given, and an API made without
// it would take its $connect's key from the x-api-key header, which the
// client chooses, instead of from its authorizer.
func wsBody(a *API, ids map[string]string) map[string]any {
	m := wsModel(a)
	for i := range m.Routes {
		m.Routes[i].ID = ids[m.Routes[i].RouteKey]
	}
	body := map[string]any{"name": a.Name, "protocol": a.Protocol, "routeSelectionExpression": a.RouteSelection, "routes": m.Routes,
		"apiKeySource": m.APIKeySource}
	if len(m.Authorizers) > 0 {
		body["authorizers"] = m.Authorizers
	}
	if a.V2 != nil {
		// An HTTP API's settings: its description and, in its definition,
		// its CORS and its endpoint's extension. Its tags are the create's
		// (ReplaceAPI sets them through the tag API).
		body["description"], body["corsConfiguration"], body["extensions"] = m.Description, m.CORS, m.Extensions
		if ids == nil {
			body["tags"] = a.V2.Tags
		}
	} else if m.Extensions != nil {
		body["extensions"] = m.Extensions
	}
	return body
}

// CreateAPI implements Target.
func (h *HTTPTarget) CreateAPI(ctx context.Context, a *API) (string, error) {
	var resp *client.Response
	var err error
	if a.routed() {
		resp, err = h.C.Do(ctx, http.MethodPost, apisPath, nil, wsBody(a, nil), nil)
		if err != nil {
			return "", err
		}
		var created struct{ ID string }
		err = json.Unmarshal(resp.Body, &created)
		return created.ID, err
	}
	doc, err := marshalDoc(a.Document)
	if err != nil {
		return "", err
	}
	resp, err = h.C.Do(ctx, http.MethodPost, apisPath+"/import", url.Values{"name": {a.Name}, "protocol": {a.Protocol}}, doc,
		http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return "", err
	}
	var out struct {
		API struct{ ID string } `json:"api"`
	}
	err = json.Unmarshal(resp.Body, &out)
	return out.API.ID, err
}

// ReplaceAPI implements Target.
func (h *HTTPTarget) ReplaceAPI(ctx context.Context, id string, a *API) error {
	if !a.routed() {
		doc, err := marshalDoc(a.Document)
		if err != nil {
			return err
		}
		_, err = h.C.Do(ctx, http.MethodPut, apisPath+"/"+esc(id)+"/import",
			url.Values{"mode": {"overwrite"}, "name": {a.Name}, "protocol": {a.Protocol}}, doc, http.Header{"Content-Type": {"application/json"}})
		return err
	}
	// One call puts the whole definition (routes, their integrations and
	// the authorizers they name) in place, so that a route never names an
	// authorizer that is not there yet or no longer is, and a refusal
	// changes nothing.
	have, err := h.C.RouteIDs(ctx, id)
	if err != nil {
		return err
	}
	if _, err = h.C.Do(ctx, http.MethodPut, apisPath+"/"+esc(id), nil, wsBody(a, have), nil); err != nil || a.V2 == nil {
		return err
	}
	return h.setTags(ctx, id, a.V2.Tags, func(k string) bool { _, set := a.V2.was[k]; return set })
}

// SaveAPI implements Target: the admin API's document of the API.
func (h *HTTPTarget) SaveAPI(ctx context.Context, id string) (*SavedAPI, error) {
	resp, err := h.C.Do(ctx, http.MethodGet, apisPath+"/"+esc(id), nil, nil, nil)
	if err != nil {
		return nil, err
	}
	return &SavedAPI{Doc: json.RawMessage(resp.Body)}, nil
}

// RestoreAPI implements Target: PUT /portico/v1/apis/{id} puts the document's
// name, description and definition back as they were.
func (h *HTTPTarget) RestoreAPI(ctx context.Context, id string, s *SavedAPI) error {
	if _, err := h.C.Do(ctx, http.MethodPut, apisPath+"/"+esc(id), nil, s.Doc, nil); err != nil {
		return err
	}
	return h.restoreTags(ctx, id, s)
}

// Deploy implements Target. A stage of a.AutoDeploy is made through
// apigatewayv2's create-stage with autoDeploy (or turned to it through
// update-stage), which deploys the API at once and every change after it,
// made by hand too; the API's replaced definition has deployed one that
// already does. A stage without it has autoDeploy turned off first, since a
// deployment cannot name a stage that deploys automatically.
func (h *HTTPTarget) Deploy(ctx context.Context, id string, a *API, canary bool) (string, Served, error) {
	var prev Served
	found := true
	resp, err := h.C.Do(ctx, http.MethodGet, apisPath+"/"+esc(id)+"/stages/"+esc(a.Stage), nil, nil, nil)
	switch {
	case err == nil:
		var st struct {
			DeploymentID string `json:"deploymentId"`
			AutoDeploy   bool   `json:"autoDeploy"`
		}
		if err := json.Unmarshal(resp.Body, &st); err != nil {
			return "", prev, err
		}
		prev = Served{Deployment: st.DeploymentID, AutoDeploy: st.AutoDeploy}
	case client.IsNotFound(err):
		found = false
	default:
		return "", prev, err
	}
	v2 := "/v2/apis/" + esc(id) + "/stages"
	switch {
	case a.AutoDeploy:
		return h.autoDeploy(ctx, id, a, found, prev)
	case prev.AutoDeploy:
		if _, err := h.C.Do(ctx, http.MethodPatch, v2+"/"+esc(a.Stage), nil, map[string]any{"autoDeploy": false}, nil); err != nil {
			return "", prev, err
		}
	}
	if canary {
		resp, err = h.C.Do(ctx, http.MethodPost, "/restapis/"+esc(id)+"/deployments", nil, map[string]any{
			"stageName": a.Stage, "description": "portico deploy (canary)",
			"canarySettings": map[string]any{"percentTraffic": a.Canary.PercentTraffic,
				"stageVariableOverrides": a.Canary.StageVariableOverrides, "useStageCache": a.Canary.UseStageCache},
		}, nil)
		if err != nil {
			return "", prev, err
		}
		var dep struct{ ID string }
		err = json.Unmarshal(resp.Body, &dep)
		return dep.ID, prev, err
	}
	resp, err = h.C.Do(ctx, http.MethodPost, apisPath+"/"+esc(id)+"/deployments", nil,
		map[string]any{"stageName": a.Stage, "description": "portico deploy", "variables": a.Variables}, nil)
	if err != nil {
		return "", prev, err
	}
	var out struct {
		Deployment struct{ ID string } `json:"deployment"`
	}
	err = json.Unmarshal(resp.Body, &out)
	return out.Deployment.ID, prev, err
}

// autoDeploy is Deploy of a stage that deploys automatically: it creates the
// stage (found false) or turns its autoDeploy on, and returns the deployment
// it serves then.
func (h *HTTPTarget) autoDeploy(ctx context.Context, id string, a *API, found bool, prev Served) (string, Served, error) {
	v2 := "/v2/apis/" + esc(id) + "/stages"
	var err error
	switch {
	case !found:
		body := map[string]any{"stageName": a.Stage, "autoDeploy": true}
		if len(a.Variables) > 0 {
			body["stageVariables"] = a.Variables
		}
		_, err = h.C.Do(ctx, http.MethodPost, v2, nil, body, nil)
	case !prev.AutoDeploy:
		_, err = h.C.Do(ctx, http.MethodPatch, v2+"/"+esc(a.Stage), nil, map[string]any{"autoDeploy": true}, nil)
	}
	if err != nil {
		return "", prev, err
	}
	var st struct {
		DeploymentID string `json:"deploymentId"`
		Message      string `json:"lastDeploymentStatusMessage"`
	}
	if err := h.getJSON(ctx, v2+"/"+esc(a.Stage), &st); err != nil {
		return "", prev, err
	}
	// A success reads back as "Successfully deployed stage with deployment
	// ID 'ID'" (as on API Gateway; older servers leave it out), a failure
	// as its reason.
	if failed := st.Message != "" && !strings.HasPrefix(st.Message, "Successfully deployed"); failed || st.DeploymentID == "" {
		return "", prev, fmt.Errorf("stage %s deploys automatically, and the API was not deployed: %s", a.Stage, cmp.Or(st.Message, "no deployment"))
	}
	return st.DeploymentID, prev, nil
}

// ServeDeployment implements Target through apigatewayv2's create-stage
// and update-stage, which take a deploymentId.
func (h *HTTPTarget) ServeDeployment(ctx context.Context, id, stage, deployment string, variables map[string]string) (Served, error) {
	var prev Served
	v2 := "/v2/apis/" + esc(id) + "/stages"
	err := h.getJSON(ctx, v2+"/"+esc(stage), &struct {
		DeploymentID *string `json:"deploymentId"`
		AutoDeploy   *bool   `json:"autoDeploy"`
	}{&prev.Deployment, &prev.AutoDeploy})
	switch {
	case client.IsNotFound(err):
		body := map[string]any{"stageName": stage, "deploymentId": deployment}
		if len(variables) > 0 {
			body["stageVariables"] = variables
		}
		_, err = h.C.Do(ctx, http.MethodPost, v2, nil, body, nil)
	case err == nil:
		_, err = h.C.Do(ctx, http.MethodPatch, v2+"/"+esc(stage), nil, map[string]any{"deploymentId": deployment, "autoDeploy": false}, nil)
	}
	return prev, err
}

// SetAutoDeploy implements Target through apigatewayv2's update-stage, which
// takes a deploymentId in the call that turns autoDeploy off.
func (h *HTTPTarget) SetAutoDeploy(ctx context.Context, id, stage string, was Served) error {
	body := map[string]any{"autoDeploy": was.AutoDeploy}
	if !was.AutoDeploy {
		body["deploymentId"] = was.Deployment
	}
	_, err := h.C.Do(ctx, http.MethodPatch, "/v2/apis/"+esc(id)+"/stages/"+esc(stage), nil, body, nil)
	return err
}

// PointStage implements Target. A stage that deploys automatically (turned
// on since Deploy, which cannot name such a stage) is left as it is: the
// admin API refuses to point it, and it follows the API, whose definition
// the undo puts back (RestoreAPI), which deploys it.
func (h *HTTPTarget) PointStage(ctx context.Context, id, stage, deployment string) error {
	resp, err := h.C.Do(ctx, http.MethodGet, apisPath+"/"+esc(id)+"/stages/"+esc(stage), nil, nil, nil)
	if err != nil {
		return err
	}
	var st struct {
		AutoDeploy bool `json:"autoDeploy"`
	}
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		return err
	}
	if st.AutoDeploy {
		return nil
	}
	_, err = h.C.Do(ctx, http.MethodPatch, apisPath+"/"+esc(id)+"/stages/"+esc(stage), nil, map[string]any{"deploymentId": deployment}, nil)
	return err
}

// PatchStage implements Target: a REST stage through API Gateway's
// update-stage; an HTTP or WebSocket stage, whose id that control plane does
// not know (as on AWS), through Portico's stage variables route, the only
// operations such a stage is given (/variables/NAME).
func (h *HTTPTarget) PatchStage(ctx context.Context, id, stage string, ops []PatchOp) error {
	var a struct {
		Protocol string `json:"protocol"`
	}
	if err := h.getJSON(ctx, apisPath+"/"+esc(id), &a); err != nil {
		return err
	}
	if a.Protocol == apis.ProtocolREST {
		_, err := h.C.Do(ctx, http.MethodPatch, "/restapis/"+esc(id)+"/stages/"+esc(stage), nil, map[string]any{"patchOperations": ops}, nil)
		return err
	}
	set, unset := map[string]string{}, []string{}
	for _, op := range ops {
		name, ok := strings.CutPrefix(op.Path, "/variables/")
		switch {
		case !ok:
			return fmt.Errorf("stage %s of %s API %s: %s %s is a REST stage setting", stage, a.Protocol, id, op.Op, op.Path)
		case op.Op == "remove":
			unset = append(unset, name)
			delete(set, name)
		default:
			set[name] = op.Value
		}
	}
	if len(set) == 0 && len(unset) == 0 {
		return nil
	}
	_, err := h.C.Do(ctx, http.MethodPatch, apisPath+"/"+esc(id)+"/stages/"+esc(stage)+"/variables", nil, map[string]any{"set": set, "unset": unset}, nil)
	return err
}

// SetHTTPStage implements Target through the apigatewayv2 stage: one
// update-stage sets the default route settings (whole: a field the template
// leaves out is reset, -1 for a throttle), each route's settings (whole) and
// the access log; delete-route-settings and delete-access-log-settings take
// off what old set and now does not.
func (h *HTTPTarget) SetHTTPStage(ctx context.Context, id, stage string, old, now *HTTPStage) error {
	if old == nil {
		old = &HTTPStage{}
	}
	if now == nil {
		now = &HTTPStage{}
	}
	path := "/v2/apis/" + esc(id) + "/stages/" + esc(stage)
	body := map[string]any{}
	if now.DefaultRouteSettings != nil || old.DefaultRouteSettings != nil {
		body["defaultRouteSettings"] = v2RouteSettings(now.DefaultRouteSettings)
	}
	if len(now.RouteSettings) > 0 {
		rs := map[string]any{}
		for k, v := range now.RouteSettings {
			rs[k] = v2RouteSettings(&v)
		}
		body["routeSettings"] = rs
	}
	if al := now.AccessLogSettings; al != nil {
		body["accessLogSettings"] = map[string]string{"destinationArn": al.DestinationArn, "format": al.Format}
	}
	if len(body) > 0 {
		if _, err := h.C.Do(ctx, http.MethodPatch, path, nil, body, nil); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(old.RouteSettings)) {
		if _, ok := now.RouteSettings[k]; ok {
			continue
		}
		if _, err := h.C.Do(ctx, http.MethodDelete, path+"/routesettings/"+esc(k), nil, nil, nil); err != nil && !client.IsNotFound(err) {
			return err
		}
	}
	if old.AccessLogSettings != nil && now.AccessLogSettings == nil {
		if _, err := h.C.Do(ctx, http.MethodDelete, path+"/accesslogsettings", nil, nil, nil); err != nil && !client.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// v2RouteSettings is the apigatewayv2 RouteSettings of rs (nil: none), with
// every field, so that it replaces what the stage held: a throttle not set is
// -1 (not configured), or 0 when the template sets the other half of it, as
// API Gateway stores it; metrics are off unless set.
func v2RouteSettings(rs *RouteSettings) map[string]any {
	st := wantedRoute(rs)
	return map[string]any{"throttlingBurstLimit": st.burst, "throttlingRateLimit": st.rate, "detailedMetricsEnabled": st.metrics}
}

// DeleteStage implements Target.
func (h *HTTPTarget) DeleteStage(ctx context.Context, id, stage string) error {
	_, err := h.C.Do(ctx, http.MethodDelete, apisPath+"/"+esc(id)+"/stages/"+esc(stage), nil, nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// DeleteAPI implements Target.
func (h *HTTPTarget) DeleteAPI(ctx context.Context, id string) error {
	_, err := h.C.Do(ctx, http.MethodDelete, apisPath+"/"+esc(id), nil, nil, nil)
	return err
}

// CreateUsagePlan implements Target.
func (h *HTTPTarget) CreateUsagePlan(ctx context.Context, p *UsagePlan, stages []APIStage) (string, error) {
	body := map[string]any{"name": p.Name, "apiStages": stages}
	if p.Throttle != nil {
		body["throttle"] = p.Throttle
	}
	if p.Quota != nil {
		body["quota"] = p.Quota
	}
	return h.create(ctx, "/usageplans", body)
}

// create POSTs body to path and returns the id of what it made (the rest of
// the answer, an API key's value among it, is dropped).
func (h *HTTPTarget) create(ctx context.Context, path string, body any) (string, error) {
	resp, err := h.C.Do(ctx, http.MethodPost, path, nil, body, nil)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	err = json.Unmarshal(resp.Body, &out)
	return out.ID, err
}

// usagePlanStages is the part of a usage plan UpdateUsagePlan and
// DeleteUsagePlan read.
type usagePlanStages struct {
	APIStages []APIStage `json:"apiStages"`
}

// UpdateUsagePlan implements Target.
func (h *HTTPTarget) UpdateUsagePlan(ctx context.Context, id string, p *UsagePlan, stages []APIStage) error {
	return h.patchUsagePlan(ctx, id, p, stages, nil)
}

// SaveUsagePlan implements Target: API Gateway's GetUsagePlan.
func (h *HTTPTarget) SaveUsagePlan(ctx context.Context, id string) (*SavedUsagePlan, error) {
	resp, err := h.C.Do(ctx, http.MethodGet, "/usageplans/"+esc(id), nil, nil, nil)
	if err != nil {
		return nil, err
	}
	var plan struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		Throttle    map[string]any `json:"throttle"`
		Quota       map[string]any `json:"quota"`
		APIStages   []APIStage     `json:"apiStages"`
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.UseNumber() // 1000000 is sent back as 1000000, not 1e+06
	if err := dec.Decode(&plan); err != nil {
		return nil, fmt.Errorf("decoding usage plan %s: %w", id, err)
	}
	return &SavedUsagePlan{Name: plan.Name, Description: plan.Description, Throttle: plan.Throttle, Quota: plan.Quota, Stages: plan.APIStages}, nil
}

// RestoreUsagePlan implements Target: one UpdateUsagePlan sets the name,
// description, throttle, quota and stages back to s's (a stage's per-method
// throttles, which portico deploy sets on none, are not kept).
func (h *HTTPTarget) RestoreUsagePlan(ctx context.Context, id string, s *SavedUsagePlan) error {
	p := &UsagePlan{Name: s.Name, Throttle: s.Throttle, Quota: s.Quota, Shared: true}
	var extra []PatchOp
	if s.Description != "" {
		extra = append(extra, PatchOp{Op: "replace", Path: "/description", Value: s.Description})
	}
	return h.patchUsagePlan(ctx, id, p, s.Stages, extra)
}

// patchUsagePlan sets usage plan id's name, throttle and quota to p's and
// its stages as UpdateUsagePlan says, with the operations extra.
func (h *HTTPTarget) patchUsagePlan(ctx context.Context, id string, p *UsagePlan, stages []APIStage, extra []PatchOp) error {
	ops := append([]PatchOp{{Op: "replace", Path: "/name", Value: p.Name}}, extra...)
	// The plan's stages of the APIs follow the template's StageName: the
	// new stage is added, the API's others (a renamed stage) removed; a
	// shared plan's stages are the template's alone.
	resp, err := h.C.Do(ctx, http.MethodGet, "/usageplans/"+esc(id), nil, nil, nil)
	if err != nil {
		return err
	}
	var plan usagePlanStages
	if err := json.Unmarshal(resp.Body, &plan); err != nil {
		return err
	}
	ours := map[string]bool{}
	for _, st := range stages {
		ours[st.APIID] = true
	}
	has := map[APIStage]bool{}
	for _, as := range plan.APIStages {
		switch {
		case slices.Contains(stages, as):
			has[as] = true
		case ours[as.APIID] || p.Shared:
			ops = append(ops, PatchOp{Op: "remove", Path: "/apiStages", Value: as.String()})
		}
	}
	for _, st := range stages {
		if !has[st] {
			ops = append(ops, PatchOp{Op: "add", Path: "/apiStages", Value: st.String()})
		}
	}
	set := func(section string, m map[string]any, fields ...string) {
		if m == nil {
			ops = append(ops, PatchOp{Op: "remove", Path: "/" + section})
			return
		}
		for _, f := range fields {
			if v, ok := m[f]; ok && v != nil {
				ops = append(ops, PatchOp{Op: "replace", Path: "/" + section + "/" + f, Value: fmt.Sprint(v)})
			}
		}
	}
	set("throttle", p.Throttle, "burstLimit", "rateLimit")
	set("quota", p.Quota, "limit", "period", "offset")
	_, err = h.C.Do(ctx, http.MethodPatch, "/usageplans/"+esc(id), nil, map[string]any{"patchOperations": ops}, nil)
	return err
}

// CreateAPIKey implements Target: API Gateway's CreateApiKey. The response
// holds the key's value, which is read past and dropped.
func (h *HTTPTarget) CreateAPIKey(ctx context.Context, k APIKeySpec) (string, error) {
	body := map[string]any{"name": k.Name, "enabled": k.Enabled}
	if k.Value != "" {
		body["value"] = k.Value
	}
	return h.create(ctx, "/apikeys", body)
}

// EnableAPIKey implements Target: API Gateway's UpdateApiKey of /enabled.
func (h *HTTPTarget) EnableAPIKey(ctx context.Context, id string, enabled bool) error {
	ops := map[string]any{"patchOperations": []PatchOp{{Op: "replace", Path: "/enabled", Value: strconv.FormatBool(enabled)}}}
	_, err := h.C.Do(ctx, http.MethodPatch, "/apikeys/"+esc(id), nil, ops, nil)
	return err
}

// APIKeyState implements Target: API Gateway's GetApiKey, with its value
// when value is given, compared in constant time and dropped.
func (h *HTTPTarget) APIKeyState(ctx context.Context, id, value string) (KeyState, error) {
	path := "/apikeys/" + esc(id)
	if value != "" {
		path += "?includeValue=true"
	}
	resp, err := h.C.Do(ctx, http.MethodGet, path, nil, nil, nil)
	if err != nil {
		return KeyState{}, err
	}
	var out struct {
		Enabled bool   `json:"enabled"`
		Value   string `json:"value"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return KeyState{}, err
	}
	same := value == "" || subtle.ConstantTimeCompare([]byte(out.Value), []byte(value)) == 1
	return KeyState{Enabled: out.Enabled, SameValue: same}, nil
}

// AddUsagePlanKey implements Target: API Gateway's CreateUsagePlanKey.
func (h *HTTPTarget) AddUsagePlanKey(ctx context.Context, planID, keyID string) error {
	_, err := h.C.Do(ctx, http.MethodPost, "/usageplans/"+esc(planID)+"/keys", nil, map[string]any{"keyId": keyID, "keyType": "API_KEY"}, nil)
	return err
}

// DeleteAPIKey implements Target.
func (h *HTTPTarget) DeleteAPIKey(ctx context.Context, id string) error {
	_, err := h.C.Do(ctx, http.MethodDelete, "/apikeys/"+esc(id), nil, nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// DeleteUsagePlan implements Target. It removes the plan's API stages first:
// the admin API, as API Gateway, deletes only a plan without stages.
func (h *HTTPTarget) DeleteUsagePlan(ctx context.Context, id string) error {
	path := "/usageplans/" + esc(id)
	resp, err := h.C.Do(ctx, http.MethodGet, path, nil, nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var plan usagePlanStages
	if err := json.Unmarshal(resp.Body, &plan); err != nil {
		return err
	}
	if len(plan.APIStages) > 0 {
		ops := make([]PatchOp, 0, len(plan.APIStages))
		for _, as := range plan.APIStages {
			ops = append(ops, PatchOp{Op: "remove", Path: "/apiStages", Value: as.String()})
		}
		if _, err := h.C.Do(ctx, http.MethodPatch, path, nil, map[string]any{"patchOperations": ops}, nil); err != nil && !client.IsNotFound(err) {
			return err
		}
	}
	_, err = h.C.Do(ctx, http.MethodDelete, path, nil, nil, nil)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

var _ APIAttributes = (*HTTPTarget)(nil)

// APIEndpoint implements APIAttributes: apigatewayv2's GetApi.
func (h *HTTPTarget) APIEndpoint(ctx context.Context, id string) (string, error) {
	var a struct {
		APIEndpoint string `json:"apiEndpoint"`
	}
	err := h.getJSON(ctx, "/v2/apis/"+esc(id), &a)
	return a.APIEndpoint, err
}

// RootResourceID implements APIAttributes: API Gateway's GetRestApi.
func (h *HTTPTarget) RootResourceID(ctx context.Context, id string) (string, error) {
	var a struct {
		RootResourceID string `json:"rootResourceId"`
	}
	err := h.getJSON(ctx, "/restapis/"+esc(id), &a)
	return a.RootResourceID, err
}

// V2IDs implements APIAttributes: apigatewayv2's GetRoutes (a route's
// integration is its target's) and GetAuthorizers.
func (h *HTTPTarget) V2IDs(ctx context.Context, id string) (*V2IDs, error) {
	ids := &V2IDs{Routes: map[string]string{}, Integrations: map[string]string{}, Authorizers: map[string]string{}}
	routes, err := v2Items[struct{ RouteID, RouteKey, Target string }](ctx, h, id, "routes")
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		ids.Routes[r.RouteKey], ids.Integrations[r.RouteKey] = r.RouteID, strings.TrimPrefix(r.Target, "integrations/")
	}
	auths, err := v2Items[struct{ AuthorizerID, Name string }](ctx, h, id, "authorizers")
	for _, a := range auths {
		ids.Authorizers[a.Name] = a.AuthorizerID
	}
	return ids, err
}

// v2Items lists what (routes, authorizers) of API id through apigatewayv2,
// every page.
func v2Items[T any](ctx context.Context, h *HTTPTarget, id, what string) ([]T, error) {
	var all []T
	for next := ""; ; {
		q := url.Values{"maxResults": {"500"}}
		if next != "" {
			q.Set("nextToken", next)
		}
		resp, err := h.C.Do(ctx, http.MethodGet, "/v2/apis/"+esc(id)+"/"+what, q, nil, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Items     []T    `json:"items"`
			NextToken string `json:"nextToken"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return nil, fmt.Errorf("decoding the %s of API %s: %w", what, id, err)
		}
		all = append(all, page.Items...)
		if next = page.NextToken; next == "" {
			return all, nil
		}
	}
}

func (h *HTTPTarget) getJSON(ctx context.Context, path string, v any) error {
	resp, err := h.C.Do(ctx, http.MethodGet, path, nil, nil, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return fmt.Errorf("decoding GET %s: %w", path, err)
	}
	return nil
}

// SaveStage implements Target through GetStage.
func (h *HTTPTarget) SaveStage(ctx context.Context, id, stage string) (*SavedStage, error) {
	var s SavedStage
	if err := h.getJSON(ctx, "/restapis/"+esc(id)+"/stages/"+esc(stage), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// RestoreStage implements Target: it reads the stage as it is now and
// patches it back to s.
func (h *HTTPTarget) RestoreStage(ctx context.Context, id, stage string, s *SavedStage) error {
	cur, err := h.SaveStage(ctx, id, stage)
	if err != nil {
		return err
	}
	if ops := restoreStageOps(cur, s); len(ops) > 0 {
		return h.PatchStage(ctx, id, stage, ops)
	}
	return nil
}

// AccessDrift implements Target: the API's definition and deployment dep's
// snapshot, through the admin API.
func (h *HTTPTarget) AccessDrift(ctx context.Context, id, dep string) ([]string, error) {
	var live apis.API
	if err := h.getJSON(ctx, apisPath+"/"+esc(id), &live); err != nil {
		return nil, err
	}
	var d apis.Deployment
	if err := h.getJSON(ctx, apisPath+"/"+esc(id)+"/deployments/"+esc(dep), &d); err != nil {
		if client.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return accessDrift(&live, &d.API), nil
}

// GetHTTPStage implements Target through apigatewayv2's GetStage.
func (h *HTTPTarget) GetHTTPStage(ctx context.Context, id, stage string) (*LiveHTTPStage, error) {
	var s LiveHTTPStage
	if err := h.getJSON(ctx, "/v2/apis/"+esc(id)+"/stages/"+esc(stage), &s); err != nil {
		return nil, err
	}
	return &s, nil
}
