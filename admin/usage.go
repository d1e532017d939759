package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file holds API Gateway's API key and usage plan routes (apigateway v1:
// create-api-key, get-api-keys, import-api-keys, create-usage-plan,
// create-usage-plan-key, get-usage, update-usage, ...) in AWS's REST shapes,
// so that the AWS SDKs and CLI work with --endpoint-url.

// UsageDeps are the services behind the API key and usage plan routes;
// optional, the routes are left out without them.
type UsageDeps struct {
	fx.In

	Usage *usage.Service `optional:"true"`
}

// registerUsageRoutes registers the /apikeys and /usageplans routes.
func (s *Server) registerUsageRoutes(d UsageDeps) {
	if d.Usage == nil {
		return
	}
	s.usage = d.Usage
	h := &usageHandlers{svc: d.Usage}
	s.HandleAPIGateway("POST /apikeys", h.createOrImportKeys)
	s.HandleAPIGateway("GET /apikeys", h.getKeys)
	s.HandleAPIGateway("GET /apikeys/{key}", h.getKey)
	s.HandleAPIGateway("PATCH /apikeys/{key}", h.updateKey)
	s.HandleAPIGateway("DELETE /apikeys/{key}", h.deleteKey)

	s.HandleAPIGateway("POST /usageplans", h.createPlan)
	s.HandleAPIGateway("GET /usageplans", h.getPlans)
	s.HandleAPIGateway("GET /usageplans/{plan}", h.getPlan)
	s.HandleAPIGateway("PATCH /usageplans/{plan}", h.updatePlan)
	s.HandleAPIGateway("DELETE /usageplans/{plan}", h.deletePlan)
	s.HandleAPIGateway("POST /usageplans/{plan}/keys", h.createPlanKey)
	s.HandleAPIGateway("GET /usageplans/{plan}/keys", h.getPlanKeys)
	s.HandleAPIGateway("GET /usageplans/{plan}/keys/{key}", h.getPlanKey)
	s.HandleAPIGateway("DELETE /usageplans/{plan}/keys/{key}", h.deletePlanKey)
	s.HandleAPIGateway("GET /usageplans/{plan}/usage", h.getUsage)
	s.HandleAPIGateway("PATCH /usageplans/{plan}/keys/{key}/usage", h.updateUsage)
}

type usageHandlers struct{ svc *usage.Service }

func badRequest(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf(format, args...))
}

// apiKeyJSON is AWS's ApiKey.
type apiKeyJSON struct {
	ID              string            `json:"id"`
	Value           string            `json:"value,omitempty"`
	Name            string            `json:"name"`
	CustomerID      string            `json:"customerId,omitempty"`
	Description     string            `json:"description,omitempty"`
	Enabled         bool              `json:"enabled"`
	CreatedDate     int64             `json:"createdDate"`
	LastUpdatedDate int64             `json:"lastUpdatedDate"`
	StageKeys       []string          `json:"stageKeys"`
	Tags            map[string]string `json:"tags,omitempty"`
}

func (h *usageHandlers) keyJSON(k *usage.APIKey, withValue bool) apiKeyJSON {
	out := apiKeyJSON{ID: k.ID, Name: k.Name, CustomerID: k.CustomerID, Description: k.Description, Enabled: k.Enabled,
		CreatedDate: k.CreatedAt.Unix(), LastUpdatedDate: k.UpdatedAt.Unix(), StageKeys: h.svc.KeyStages(k.ID), Tags: k.Tags}
	if out.StageKeys == nil {
		out.StageKeys = []string{}
	}
	if withValue {
		out.Value = k.Value
	}
	return out
}

// createKeyRequest is CreateApiKey's body.
type createKeyRequest struct {
	Name               string            `json:"name"`
	Description        string            `json:"description"`
	Enabled            *bool             `json:"enabled"`
	GenerateDistinctID bool              `json:"generateDistinctId"`
	Value              *string           `json:"value"`
	StageKeys          []map[string]any  `json:"stageKeys"`
	CustomerID         string            `json:"customerId"`
	Tags               map[string]string `json:"tags"`
}

func (h *usageHandlers) createOrImportKeys(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if mode := q.Get("mode"); mode != "" {
		if mode != "import" {
			return badRequest("Invalid mode '%s': use mode=import", mode)
		}
		return h.importKeys(w, r)
	}
	var in createKeyRequest
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	if len(in.StageKeys) > 0 {
		return badRequest("stageKeys are not supported: attach the key to a usage plan that covers the stage (create-usage-plan-key)")
	}
	k, err := h.svc.CreateKey(r.Context(), usage.KeyInput{Name: in.Name, Description: in.Description, Value: in.Value, Enabled: in.Enabled, CustomerID: in.CustomerID, Tags: in.Tags})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, h.keyJSON(k, true))
}

// maxImportBody bounds an import-api-keys CSV body.
const maxImportBody = 6 << 20

// apigwBody is a JSON body of these routes: strict, as Portico's own routes.
var apigwBody = jsonBody{limit: maxJSONBody}

func (h *usageHandlers) importKeys(w http.ResponseWriter, r *http.Request) error {
	if f := r.URL.Query().Get("format"); !strings.EqualFold(f, "csv") {
		return badRequest("Invalid format '%s': only csv is supported", f)
	}
	// failonwarnings is taken (true or false) and changes nothing: an import
	// is all or nothing whatever it says, and has no warnings to report.
	if _, err := boolQuery(r, "failonwarnings"); err != nil {
		return err
	}
	raw, err := readBody(w, r, jsonBody{limit: maxImportBody})
	if err != nil {
		return err
	}
	keys, err := h.svc.ImportKeys(r.Context(), raw)
	if err != nil {
		return err
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"ids": ids, "warnings": []string{}})
}

func boolQuery(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	// true or false in any case, as the error says (strconv.ParseBool
	// also took 1, t, 0 and f).
	switch {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, badRequest("Invalid %s '%s': use true or false", name, v)
}

// pageByKey cuts all, in the order of key, at position and limit (default 25,
// at most 500); it returns the page and the next position. A position is a
// place in that order (see cutPage), not an item's id or an offset.
func pageByKey[T any](r *http.Request, all []T, key func(T) sortKey) ([]T, string, error) {
	q := r.URL.Query()
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return nil, "", badRequest("Invalid limit '%s': use 1..500", v)
		}
		limit = n
	}
	pos := q.Get("position")
	page, next, ok := cutPage(all, key, listScope(r), pos, limit)
	if !ok {
		return nil, "", badRequest("Invalid position '%s': pass the position of the previous page, or none for the first", truncate(pos, 100))
	}
	return page, next, nil
}

// collection is AWS's paged collection: {"item": [...], "position": "..."}.
type collection[T any] struct {
	Item     []T    `json:"item"`
	Position string `json:"position,omitempty"`
}

func (h *usageHandlers) getKeys(w http.ResponseWriter, r *http.Request) error {
	withValues, err := boolQuery(r, "includeValues")
	if err != nil {
		return err
	}
	keys, err := h.svc.ListKeys(r.Context(), r.URL.Query().Get("name"), r.URL.Query().Get("customerId"))
	if err != nil {
		return err
	}
	pg, next, err := pageByKey(r, keys, func(k *usage.APIKey) sortKey { return sortKey{k.Name, k.ID} })
	if err != nil {
		return err
	}
	out := collection[apiKeyJSON]{Item: make([]apiKeyJSON, 0, len(pg)), Position: next}
	for _, k := range pg {
		out.Item = append(out.Item, h.keyJSON(k, withValues))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *usageHandlers) getKey(w http.ResponseWriter, r *http.Request) error {
	withValue, err := boolQuery(r, "includeValue")
	if err != nil {
		return err
	}
	k, err := h.svc.GetKey(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.keyJSON(k, withValue))
}

func decodePatch(w http.ResponseWriter, r *http.Request) ([]PatchOperation, error) {
	var in PatchRequest
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return nil, err
	}
	for _, op := range in.PatchOperations {
		switch op.Op {
		case "add", "remove", "replace", "move", "copy", "test":
		default:
			return nil, badRequest("Invalid patch operation '%s' for path '%s': use add, remove or replace", echoed(op.Op), echoed(op.Path))
		}
		if err := checkPatchPath(op); err != nil {
			return nil, err
		}
	}
	return in.PatchOperations, nil
}

func (h *usageHandlers) updateKey(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	var p usage.KeyPatch
	for _, op := range ops {
		if op.Op != "replace" {
			return BadPatchPath(op)
		}
		switch op.Path {
		case "/name", "/description", "/customerId":
			v, err := op.StringValue()
			if op.Path == "/description" {
				v, err = op.DescriptionValue(), nil
			}
			if err != nil {
				return err
			}
			switch op.Path {
			case "/name":
				p.Name = &v
			case "/description":
				p.Description = &v
			default:
				p.CustomerID = &v
			}
		case "/enabled":
			if p.Enabled, err = patchBool(op); err != nil {
				return err
			}
		default:
			return BadPatchPath(op)
		}
	}
	k, err := h.svc.UpdateKey(r.Context(), r.PathValue("key"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.keyJSON(k, false))
}

func (h *usageHandlers) deleteKey(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteKey(r.Context(), r.PathValue("key")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, nil)
}

// planJSON is AWS's UsagePlan (also CreateUsagePlan's body).
type planJSON struct {
	ID          string            `json:"id,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	APIStages   []usage.APIStage  `json:"apiStages"`
	Throttle    *usage.Throttle   `json:"throttle,omitempty"`
	Quota       *usage.Quota      `json:"quota,omitempty"`
	ProductCode string            `json:"productCode,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

func toPlanJSON(p *usage.Plan) planJSON {
	out := planJSON{ID: p.ID, Name: p.Name, Description: p.Description, APIStages: p.APIStages, Throttle: p.Throttle, Quota: p.Quota, Tags: p.Tags}
	if out.APIStages == nil {
		out.APIStages = []usage.APIStage{}
	}
	return out
}

func (h *usageHandlers) createPlan(w http.ResponseWriter, r *http.Request) error {
	var in planJSON
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	if in.ProductCode != "" {
		return badRequest("productCode (AWS Marketplace) is not supported")
	}
	p, err := h.svc.CreatePlan(r.Context(), usage.Plan{Name: in.Name, Description: in.Description, APIStages: in.APIStages, Throttle: in.Throttle, Quota: in.Quota, Tags: in.Tags})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toPlanJSON(p))
}

func (h *usageHandlers) getPlans(w http.ResponseWriter, r *http.Request) error {
	plans, err := h.svc.ListPlans(r.Context(), r.URL.Query().Get("keyId"))
	if err != nil {
		return err
	}
	pg, next, err := pageByKey(r, plans, func(p *usage.Plan) sortKey { return sortKey{p.Name, p.ID} })
	if err != nil {
		return err
	}
	out := collection[planJSON]{Item: make([]planJSON, 0, len(pg)), Position: next}
	for _, p := range pg {
		out.Item = append(out.Item, toPlanJSON(p))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *usageHandlers) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.GetPlan(r.Context(), r.PathValue("plan"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPlanJSON(p))
}

func (h *usageHandlers) updatePlan(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	p, err := h.svc.UpdatePlan(r.Context(), r.PathValue("plan"), func(p *usage.Plan) error {
		return applyPatch(ops, func(op PatchOperation) error { return applyPlanOp(p, op) })
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPlanJSON(p))
}

// applyPlanOp applies one update-usage-plan patch operation to p.
func applyPlanOp(p *usage.Plan, op PatchOperation) error {
	segs := op.Segments()
	if len(segs) == 0 {
		return BadPatchPath(op)
	}
	switch segs[0] {
	case "name", "description":
		if op.Op != "replace" || len(segs) != 1 {
			return BadPatchPath(op)
		}
		v, err := op.StringValue()
		if segs[0] == "description" {
			v, err = op.DescriptionValue(), nil
		}
		if err != nil {
			return err
		}
		if segs[0] == "name" {
			p.Name = v
		} else {
			p.Description = v
		}
		return nil
	case "throttle":
		if op.Op == "remove" && len(segs) == 1 {
			p.Throttle = nil
			return nil
		}
		if op.Op != "replace" || len(segs) != 2 {
			return BadPatchPath(op)
		}
		if p.Throttle == nil {
			p.Throttle = &usage.Throttle{}
		}
		return setThrottleField(p.Throttle, segs[1], op)
	case "quota":
		if op.Op == "remove" && len(segs) == 1 {
			p.Quota = nil
			return nil
		}
		if op.Op != "replace" || len(segs) != 2 {
			return BadPatchPath(op)
		}
		if p.Quota == nil {
			p.Quota = &usage.Quota{Period: usage.PeriodDay}
		}
		v, err := op.StringValue()
		if err != nil {
			return err
		}
		switch segs[1] {
		case "limit":
			n, err := parseInt32(v, op, "from 1 to 2147483647")
			if err != nil {
				return err
			}
			p.Quota.Limit = int64(n)
		case "offset":
			n, err := parseInt32(v, op, "from 0 to 6 for a WEEK period, 0 to 27 for MONTH, 0 for DAY")
			if err != nil {
				return err
			}
			p.Quota.Offset = n
		case "period":
			// The period is checked on its own first: on a plan without a
			// quota the limit is still 0, which the plan's validation would
			// name instead.
			switch v {
			case usage.PeriodDay, usage.PeriodWeek, usage.PeriodMonth:
			default:
				return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
					"Invalid quota period '"+truncate(v, 100)+"' for "+op.Op+" "+op.Path+": must be one of DAY, WEEK or MONTH")
			}
			p.Quota.Period = v
		default:
			return BadPatchPath(op)
		}
		return nil
	case "apiStages":
		return applyAPIStageOp(p, segs[1:], op)
	}
	return BadPatchPath(op)
}

// parseInt32 parses v, the value of op, as API Gateway's Integer: 32 bits,
// so that a value the SDKs would read back wrapped is refused. accepted is
// the range the field takes, which the error states (the plan's validation
// then checks it).
func parseInt32(v string, op PatchOperation, accepted string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, badPatchValue(op, "%q is not an integer %s", truncate(v, 40), accepted)
	}
	return int(n), nil
}

func setThrottleField(t *usage.Throttle, field string, op PatchOperation) error {
	v, err := op.StringValue()
	if err != nil {
		return err
	}
	switch field {
	case "rateLimit":
		f, err := strconv.ParseFloat(v, 64)
		if errors.Is(err, strconv.ErrRange) {
			return badPatchValue(op, "%q is out of range", truncate(v, 40))
		}
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			// ParseFloat reads "NaN" and "Inf", which no bucket (and no
			// JSON record) can hold.
			return badPatchValue(op, "%q is not a number", truncate(v, 40))
		}
		t.RateLimit = f
	case "burstLimit":
		n, err := parseInt32(v, op, "from 0 to 2147483647")
		if err != nil {
			return err
		}
		t.BurstLimit = n
	default:
		return BadPatchPath(op)
	}
	return nil
}

// applyAPIStageOp applies "add /apiStages apiId:stage", "remove /apiStages
// apiId:stage", and the per-method throttles
// "/apiStages/apiId:stage/throttle/~1path/METHOD[/rateLimit|/burstLimit]".
func applyAPIStageOp(p *usage.Plan, segs []string, op PatchOperation) error {
	if len(segs) == 0 {
		v, err := op.StringValue()
		if err != nil {
			return err
		}
		apiID, stage, ok := strings.Cut(v, ":")
		if !ok || apiID == "" || stage == "" {
			return badRequest("Invalid API stage '%s' for %s: use apiId:stage", v, op.Path)
		}
		i := apiStageIndex(p, apiID, stage)
		switch op.Op {
		case "add":
			if i >= 0 {
				return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("API stage %s is already in the usage plan", v))
			}
			p.APIStages = append(p.APIStages, usage.APIStage{APIID: apiID, Stage: stage})
		case "remove":
			if i < 0 {
				return errdefs.New(errdefs.ErrNotFound, "NotFoundException", fmt.Sprintf("Invalid API stage %s: not in the usage plan", v))
			}
			p.APIStages = append(p.APIStages[:i], p.APIStages[i+1:]...)
		default:
			return BadPatchPath(op)
		}
		return nil
	}
	apiID, stage, ok := strings.Cut(segs[0], ":")
	if !ok || len(segs) < 4 || segs[1] != "throttle" {
		return BadPatchPath(op)
	}
	i := apiStageIndex(p, apiID, stage)
	if i < 0 {
		return errdefs.New(errdefs.ErrNotFound, "NotFoundException", fmt.Sprintf("Invalid API stage %s: not in the usage plan", segs[0]))
	}
	as := &p.APIStages[i]
	method := segs[2] + "/" + segs[3]
	switch {
	case op.Op == "remove" && len(segs) == 4:
		if _, ok := as.Throttle[method]; !ok {
			return errdefs.New(errdefs.ErrNotFound, "NotFoundException", fmt.Sprintf("Invalid method %s: it has no throttle", method))
		}
		delete(as.Throttle, method)
		return nil
	case (op.Op == "replace" || op.Op == "add") && len(segs) == 5:
		if as.Throttle == nil {
			as.Throttle = map[string]usage.Throttle{}
		}
		t := as.Throttle[method]
		if err := setThrottleField(&t, segs[4], op); err != nil {
			return err
		}
		as.Throttle[method] = t
		return nil
	}
	return BadPatchPath(op)
}

func apiStageIndex(p *usage.Plan, apiID, stage string) int {
	for i, as := range p.APIStages {
		if as.APIID == apiID && as.Stage == stage {
			return i
		}
	}
	return -1
}

func (h *usageHandlers) deletePlan(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeletePlan(r.Context(), r.PathValue("plan")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, nil)
}

// planKeyJSON is AWS's UsagePlanKey.
type planKeyJSON struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
	Name  string `json:"name,omitempty"`
}

const keyTypeAPIKey = "API_KEY"

func toPlanKeyJSON(k *usage.APIKey) planKeyJSON {
	return planKeyJSON{ID: k.ID, Type: keyTypeAPIKey, Value: k.Value, Name: k.Name}
}

func (h *usageHandlers) createPlanKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		KeyID   string `json:"keyId"`
		KeyType string `json:"keyType"`
	}
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	if in.KeyType != keyTypeAPIKey {
		return badRequest("Invalid keyType '%s': use API_KEY", in.KeyType)
	}
	if in.KeyID == "" {
		return badRequest("keyId is required")
	}
	k, err := h.svc.AddPlanKey(r.Context(), r.PathValue("plan"), in.KeyID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toPlanKeyJSON(k))
}

func (h *usageHandlers) getPlanKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := h.svc.PlanKeys(r.Context(), r.PathValue("plan"))
	if err != nil {
		return err
	}
	if name := r.URL.Query().Get("name"); name != "" {
		var kept []*usage.APIKey
		for _, k := range keys {
			if strings.HasPrefix(k.Name, name) {
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	pg, next, err := pageByKey(r, keys, func(k *usage.APIKey) sortKey { return sortKey{k.Name, k.ID} })
	if err != nil {
		return err
	}
	out := collection[planKeyJSON]{Item: make([]planKeyJSON, 0, len(pg)), Position: next}
	for _, k := range pg {
		out.Item = append(out.Item, toPlanKeyJSON(k))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *usageHandlers) getPlanKey(w http.ResponseWriter, r *http.Request) error {
	k, err := h.svc.PlanKey(r.Context(), r.PathValue("plan"), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPlanKeyJSON(k))
}

func (h *usageHandlers) deletePlanKey(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RemovePlanKey(r.Context(), r.PathValue("plan"), r.PathValue("key")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, nil)
}

// usageJSON is AWS's Usage.
type usageJSON struct {
	UsagePlanID string                `json:"usagePlanId"`
	StartDate   string                `json:"startDate"`
	EndDate     string                `json:"endDate"`
	Values      map[string][][2]int64 `json:"values"`
	Position    string                `json:"position,omitempty"`
}

func (h *usageHandlers) getUsage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("startDate") == "" || q.Get("endDate") == "" {
		return badRequest("startDate and endDate are required (YYYY-MM-DD)")
	}
	// AWS's GetUsage pages by key, as the other lists: limit and position.
	var next string
	u, err := h.svc.GetUsagePage(r.Context(), r.PathValue("plan"), q.Get("keyId"), q.Get("startDate"), q.Get("endDate"),
		func(keyIDs []string) (pg []string, err error) {
			pg, next, err = pageByKey(r, keyIDs, func(id string) sortKey { return sortKey{id} })
			return pg, err
		})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, usageJSON{UsagePlanID: u.PlanID, StartDate: u.StartDate, EndDate: u.EndDate, Values: u.Items, Position: next})
}

func (h *usageHandlers) updateUsage(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		return badRequest("patchOperations must hold one replace of /remaining")
	}
	for _, op := range ops {
		if op.Op != "replace" || op.Path != "/remaining" {
			return BadPatchPath(op)
		}
	}
	if len(ops) > 1 {
		return badRequest("patchOperations holds %d replaces of /remaining: send one operation per request", len(ops))
	}
	v, err := ops[0].StringValue()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		// The requests the key has left this period: never negative.
		return badPatchValue(ops[0], "%q is not an integer from 0 to 2147483647 (the requests the key has left this period)", truncate(v, 40))
	}
	plan, key := r.PathValue("plan"), r.PathValue("key")
	if err := h.svc.UpdateUsage(r.Context(), plan, key, int64(n)); err != nil {
		return err
	}
	today := h.svc.Today()
	u, err := h.svc.GetUsage(r.Context(), plan, key, today, today)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, usageJSON{UsagePlanID: u.PlanID, StartDate: u.StartDate, EndDate: u.EndDate, Values: u.Items})
}
