package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
)

// The raw API Gateway resources a template may declare for API keys: a usage
// plan, an API key and the usage plan key that puts the key in the plan.
const (
	TypeAPIKey       = "AWS::ApiGateway::ApiKey" //nolint:gosec // G101: a resource type, not a credential
	TypeUsagePlanKey = "AWS::ApiGateway::UsagePlanKey"
)

// The properties of the raw resources; another is refused, naming it, so that
// a misspelt limit or key setting is not silently left out.
var (
	rawPlanProps     = []string{"ApiStages", "Description", "Quota", "Tags", "Throttle", "UsagePlanName"}
	rawKeyProps      = []string{"Description", "Enabled", "Name", "StageKeys", "Tags", "Value"}
	rawPlanKeyProps  = []string{"KeyId", "KeyType", "UsagePlanId"}
	rawAPIStageProps = []string{"ApiId", "Stage"}
	rawStageKeyProps = []string{"RestApiId", "StageName"}
)

// rawPlans reads the template's AWS::ApiGateway::UsagePlan, ApiKey and
// UsagePlanKey resources. Each usage plan covers one API stage of the
// template (a REST API's, ApiId: !Ref Api, Stage: !Ref Api.Stage; or a
// WebSocket API's, ApiId: !Ref WsApi, Stage: !Ref WsStage) and holds one API
// key through one usage plan key: it becomes that API's own usage plan, made,
// updated and deleted as SAM's PER_API plan is (the key is made once and
// kept; its value is never printed). It runs after the APIs' stages are read.
func (b *builder) rawPlans() {
	ids := slices.Sorted(maps.Keys(b.t.Resources))
	byType := func(typ string) []string {
		var out []string
		for _, id := range ids {
			if b.t.Resources[id].Type == typ {
				out = append(out, id)
			}
		}
		return out
	}
	plans, keys := byType(TypeUsagePlan), byType(TypeAPIKey)
	// planKeys: the keys of each plan, by the plan's logical id.
	planKeys := map[string][]string{}
	keyPlans := map[string][]string{}
	for _, id := range byType(TypeUsagePlanKey) {
		props := b.t.Resources[id].Properties
		where := id + " (" + TypeUsagePlanKey + ")"
		if !b.knownKeys(where, TypeUsagePlanKey, props, rawPlanKeyProps) {
			continue
		}
		if kt := b.str(where, props, "KeyType"); kt != "API_KEY" {
			b.fail("%s: KeyType must be API_KEY, not %q", where, kt)
			continue
		}
		plan, key := v2Ref(props["UsagePlanId"], "Id"), v2Ref(props["KeyId"], "APIKeyId")
		if r := b.t.Resources[plan]; r == nil || r.Type != TypeUsagePlan {
			b.fail("%s: UsagePlanId must be !Ref to an %s of the template, not %v", where, TypeUsagePlan, props["UsagePlanId"])
			continue
		}
		if r := b.t.Resources[key]; r == nil || r.Type != TypeAPIKey {
			b.fail("%s: KeyId must be !Ref to an %s of the template, not %v", where, TypeAPIKey, props["KeyId"])
			continue
		}
		planKeys[plan] = append(planKeys[plan], key)
		keyPlans[key] = append(keyPlans[key], id)
	}
	for _, id := range keys {
		switch n := len(keyPlans[id]); {
		case n == 0:
			b.fail("%s (%s): no %s puts it in a usage plan: a key in no plan admits no request; add one, or remove the key", id, TypeAPIKey, TypeUsagePlanKey)
		case n > 1:
			b.fail("%s (%s): it is in more than one usage plan (%s): portico deploy puts a key in one plan", id, TypeAPIKey, strings.Join(keyPlans[id], ", "))
		}
	}
	for _, id := range plans {
		b.rawPlan(id, planKeys[id])
	}
}

// rawPlan reads usage plan id, whose keys are keys, into its API's own plan.
func (b *builder) rawPlan(id string, keys []string) {
	props := b.t.Resources[id].Properties
	where := id + " (" + TypeUsagePlan + ")"
	if !b.knownKeys(where, TypeUsagePlan, props, rawPlanProps) || !b.rawNotKept(where, props, "usageplans", "update-usage-plan --usage-plan-id") {
		return
	}
	for k, sub := range map[string][]string{"Quota": {"Limit", "Offset", "Period"}, "Throttle": {"BurstLimit", "RateLimit"}} {
		if v, set := props[k]; set {
			m, ok := v.(map[string]any)
			if !ok {
				b.fail("%s: %s must be a mapping, not %s", where, k, shape(v))
				return
			}
			if !b.knownKeys(where+"."+k, k, m, sub) {
				return
			}
		}
	}
	stages, _ := props["ApiStages"].([]any)
	if len(stages) != 1 {
		b.fail("%s: ApiStages must name one API stage of the template (portico deploy makes a usage plan on one stage), not %d", where, len(stages))
		return
	}
	st, _ := stages[0].(map[string]any)
	if st == nil || !b.knownKeys(where+".ApiStages", "an API stage", st, rawAPIStageProps) {
		if st == nil {
			b.fail("%s: ApiStages[0] must be a mapping of ApiId and Stage", where)
		}
		return
	}
	a := b.rawPlanAPI(where+" ApiStages", st["ApiId"], st["Stage"])
	if a == nil {
		return
	}
	if a.UsagePlan != nil {
		b.fail("%s: API %s already has a usage plan (its Auth.UsagePlan, or another %s): portico deploy makes one per API stage", where, a.LogicalID, TypeUsagePlan)
		return
	}
	if len(keys) != 1 {
		b.fail("%s: it must hold one %s (through one %s), not %d: portico deploy makes one key per usage plan; add more with portico key",
			where, TypeAPIKey, TypeUsagePlanKey, len(keys))
		return
	}
	p := &UsagePlan{Name: b.t.stack + "-" + id, PlanLogical: id, KeyLogical: keys[0], KeyName: b.t.stack + "-" + keys[0], set: map[string]bool{}}
	if n := b.str(where, props, "UsagePlanName"); n != "" {
		p.Name = n
	}
	if t, ok := props["Throttle"].(map[string]any); ok {
		p.Throttle = map[string]any{"burstLimit": t["BurstLimit"], "rateLimit": t["RateLimit"]}
	}
	if q, ok := props["Quota"].(map[string]any); ok {
		p.Quota = map[string]any{"limit": q["Limit"], "period": q["Period"]}
		if o, ok := q["Offset"]; ok {
			p.Quota["offset"] = o
		}
	}
	// Its limits as the gateway's usage plan model checks them, here,
	// before anything changes (as Auth.UsagePlan's are).
	if !b.planLimits(id, p) || !b.rawKey(keys[0], a, p) {
		return
	}
	a.UsagePlan = p
}

// rawPlanAPI is the API of the template whose stage a usage plan's ApiStages
// entry names (nil, having failed, when it names none).
func (b *builder) rawPlanAPI(where string, apiID, stage any) *API {
	id := v2Ref(apiID, "ApiId")
	if id == "" {
		id = v2Ref(apiID, "RestApiId")
	}
	a := b.d.APIs[id]
	if a == nil {
		b.fail("%s: ApiId must be !Ref to an API of the template (an AWS::Serverless::Api or an AWS::ApiGatewayV2::Api), not %v", where, apiID)
		return nil
	}
	if a.Protocol == apis.ProtocolHTTP {
		b.fail("%s: API %s is an HTTP API, which has no API keys or usage plans (on API Gateway either): name a REST or WebSocket API", where, id)
		return nil
	}
	s, _ := stage.(string)
	ok := s == a.Stage && s != ""
	if ref := v2Ref(s, "Stage"); ref != "" {
		r := b.t.Resources[ref]
		switch {
		case ref == id && strings.HasSuffix(s, ".Stage"+tokenClose):
			ok = true // !Ref Api.Stage
		case r != nil && r.Type == TypeV2Stage && v2Ref(r.Properties["ApiId"], "ApiId") == id:
			ok = true
		}
	}
	if !ok {
		b.fail("%s: Stage must name the stage of API %s (%q, !Ref to its AWS::ApiGatewayV2::Stage, or !Ref %s.Stage), not %v",
			where, id, a.Stage, id, stage)
		return nil
	}
	return a
}

// rawKey reads API key id into plan p of API a: its Name, Enabled and Value.
func (b *builder) rawKey(id string, a *API, p *UsagePlan) bool {
	props := b.t.Resources[id].Properties
	where := id + " (" + TypeAPIKey + ")"
	if !b.knownKeys(where, TypeAPIKey, props, rawKeyProps) || !b.rawNotKept(where, props, "apikeys", "update-api-key --api-key") {
		return false
	}
	if n := b.str(where, props, "Name"); n != "" {
		p.KeyName = n
	}
	if v, set := props["Enabled"]; set {
		on, ok := boolean(v)
		if !ok {
			b.fail("%s: Enabled must be true or false", where)
			return false
		}
		// CloudFormation's ApiKey is disabled unless Enabled says true.
		p.KeyDisabled = !on
	} else {
		p.KeyDisabled = true
	}
	if v := b.str(where, props, "Value"); v != "" {
		if len(v) < 20 || len(v) > 128 || strings.ContainsAny(v, " ,") {
			b.fail("%s: Value must be 20 to 128 printable characters without spaces or commas", where)
			return false
		}
		p.keyValue = v
		sum := sha256.Sum256([]byte(v))
		p.KeyValueDigest = hex.EncodeToString(sum[:])
	}
	sk, _ := props["StageKeys"].([]any)
	for _, e := range sk {
		m, _ := e.(map[string]any)
		if m == nil || !b.knownKeys(where+".StageKeys", "a stage key", m, rawStageKeyProps) {
			return false
		}
		// The usage plan binds the key to its stage; a stage key naming
		// that stage says the same, another would admit calls elsewhere.
		if b.rawPlanAPI(where+" StageKeys", m["RestApiId"], m["StageName"]) != a {
			return false
		}
	}
	return true
}

// rawNotKept checks the Tags of a raw usage plan or API key (a list of Key
// and Value, as CloudFormation's) and warns that they, and its Description,
// are not applied, saying how to set them after the deploy on the plan or
// key (collection "usageplans" or "apikeys", updated by update, the AWS CLI
// command with its id option).
func (b *builder) rawNotKept(where string, props map[string]any, collection, update string) bool {
	if v, set := props["Tags"]; set {
		list, ok := v.([]any)
		if !ok {
			b.fail("%s: Tags must be a list of Key and Value, not %s", where, shape(v))
			return false
		}
		for i, e := range list {
			m, _ := e.(map[string]any)
			k, kok := m["Key"].(string)
			_, vok := m["Value"].(string)
			if m == nil || !kok || !vok || k == "" || len(m) != 2 {
				b.fail("%s: Tags[%d] must be a mapping of Key and Value, both strings", where, i)
				return false
			}
		}
		b.warn("%s: Tags are not applied by portico deploy (the server keeps tags, but the deploy does not set them): tag it after the deploy with aws apigateway tag-resource --resource-arn arn:aws:apigateway:us-east-1::/%s/ID --tags KEY=VALUE", where, collection)
	}
	if _, set := props["Description"]; set {
		b.warn("%s: Description is not applied by portico deploy: set it after the deploy with aws apigateway %s ID --patch-operations op=replace,path=/description,value=TEXT", where, update)
	}
	return true
}

// The API key selection expressions of a WebSocket API, as API Gateway takes
// them.
const (
	wsKeyHeader     = "$request.header.x-api-key"
	wsKeyAuthorizer = "$context.authorizer.usageIdentifierKey"
)

// wsKeySelection reads an AWS::ApiGatewayV2::Api's ApiKeySelectionExpression
// into a: where the $connect handshake's API key comes from.
func (b *builder) wsKeySelection(id string, props map[string]any, a *API) {
	switch s := b.str(id, props, "ApiKeySelectionExpression"); s {
	case "", wsKeyHeader:
	case wsKeyAuthorizer:
		a.APIKeySource = "AUTHORIZER"
	default:
		b.fail("%s (%s): ApiKeySelectionExpression must be %s or %s, not %q", id, TypeV2API, wsKeyHeader, wsKeyAuthorizer, s)
	}
}

// wsRouteKeyRequired reads a WebSocket route's ApiKeyRequired into r. The
// gateway checks a key on the $connect handshake only (a message carries no
// headers to take one from), so a key required on another route is refused,
// as the gateway refuses it.
func (b *builder) wsRouteKeyRequired(where, key string, props map[string]any, r *WSRoute) bool {
	v, set := props["ApiKeyRequired"]
	if !set {
		return true
	}
	on, ok := boolean(v)
	switch {
	case !ok:
		b.fail("%s: ApiKeyRequired must be true or false", where)
		return false
	case on && key != "$connect":
		b.fail("%s: ApiKeyRequired is refused on route %s: the gateway checks API keys on the $connect handshake only; require the key on $connect, which admits the connection's messages", where, key)
		return false
	}
	r.APIKeyRequired = on
	return true
}

// rawPlanTokens rewrites, in an output's value v, the tokens of the raw
// usage plans, API keys and usage plan keys (Ref Plan, Ref Key, Ref PlanKey)
// as those of the API whose own plan they are («Api.UsagePlan»,
// «Api.ApiKey», «Api.UsagePlanKey»), which ResolveOutputs resolves from the
// stack's record: the plan's id, the key's id.
func (t *Template) rawPlanTokens(v string) string {
	planOf := map[string]string{} // key -> plan, through the usage plan keys
	for _, r := range t.Resources {
		if r.Type == TypeUsagePlanKey {
			planOf[v2Ref(r.Properties["KeyId"], "APIKeyId")] = v2Ref(r.Properties["UsagePlanId"], "Id")
		}
	}
	apiOf := func(plan string) string {
		r := t.Resources[plan]
		if r == nil || r.Type != TypeUsagePlan {
			return ""
		}
		stages, _ := r.Properties["ApiStages"].([]any)
		if len(stages) != 1 {
			return ""
		}
		st, _ := stages[0].(map[string]any)
		return v2Ref(st["ApiId"], "ApiId")
	}
	return tokenPattern.ReplaceAllStringFunc(v, func(tok string) string {
		m := tokenPattern.FindStringSubmatch(tok)
		r := t.Resources[m[1]]
		if r == nil {
			return tok
		}
		var kind, plan string
		switch r.Type {
		case TypeUsagePlan:
			kind, plan = "UsagePlan", m[1]
		case TypeAPIKey:
			kind, plan = "ApiKey", planOf[m[1]]
		case TypeUsagePlanKey:
			kind, plan = "UsagePlanKey", v2Ref(r.Properties["UsagePlanId"], "Id")
		default:
			return tok
		}
		if m[2] != "" && m[2] != planAttributes[kind] {
			return tok
		}
		if api := apiOf(plan); api != "" {
			return tokenOpen + api + "." + kind + tokenClose
		}
		return tok
	})
}
