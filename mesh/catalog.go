package mesh

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/security"
)

// An endpoint's catalog (App.Endpoints): the names its models are served
// under, the route rules that send each name to the versions that serve
// it (a front route, which the front family builds and checks like one of
// App.Routes), and the headers the caller's token sets. The router that
// makes the body's model a header is the endpoint family's (endpoint.go).

// DefaultEndpointPaths are the OpenAI paths an endpoint routes by model
// when Endpoint.Paths is nil.
var DefaultEndpointPaths = []string{"/v1/chat/completions", "/v1/completions", "/v1/embeddings"}

func endpointPath(i int) *field.Path { return field.NewPath("endpoints").Index(i) }

func (e Endpoint) paths() []string {
	if e.Paths == nil {
		return DefaultEndpointPaths
	}
	return e.Paths
}

// endpointRoute is an endpoint's front route: per model name it serves, a
// rule matching that name in ModelHeader on each path, sending to the
// model (its own split) or, for an adapter some versions load, to those
// versions. ruleFrom is the field each rule was written at.
func (e Endpoint) endpointRoute(env *appEnv, ep *field.Path) (r Route, ruleFrom []*field.Path) {
	r = Route{Name: e.Name, Gateway: e.Gateway}
	if e.Host != "" {
		r.Hosts = []string{e.Host}
	}
	for j, name := range e.Models {
		mi := slices.IndexFunc(env.app.Models, func(m Model) bool { return m.Name == name })
		if mi < 0 {
			continue // reported by the endpoint family
		}
		m := env.app.Models[mi]
		timeout := modelTimeout(m)
		r.Rules = append(r.Rules, e.nameRule(m.Served(), []routing.Destination{{Host: m.Name}}, timeout))
		ruleFrom = append(ruleFrom, ep.Child("models").Index(j))
		for k, a := range m.Adapters {
			r.Rules = append(r.Rules, e.nameRule(a.Name, adapterSplit(m, a.Versions), timeout))
			ruleFrom = append(ruleFrom, modelPath(mi).Child("adapters").Index(k))
		}
	}
	return r, ruleFrom
}

// modelTimeout is the timeout of the model's one unconditional rule (a
// long generation's), which the endpoint's rules for it keep.
func modelTimeout(m Model) time.Duration {
	if rules := m.Traffic.Rules; len(rules) == 1 && len(rules[0].Match) == 0 {
		return rules[0].Timeout
	}
	return 0
}

// nameRule matches requests whose body names name, on the endpoint's paths.
func (e Endpoint) nameRule(name string, split []routing.Destination, timeout time.Duration) routing.Rule {
	rule := routing.Rule{Split: split, Timeout: timeout}
	for _, p := range e.paths() {
		rule.Match = append(rule.Match, routing.Match{URI: &routing.StringMatch{Kind: routing.MatchExact, Value: p},
			Headers: map[string]routing.StringMatch{ModelHeader: routing.Exact(name)}})
	}
	return rule
}

// adapterSplit sends an adapter's requests to the versions that load it:
// the model itself (its own split) when every version does, else those
// versions, in the shares the model's one unconditional rule gives them,
// or alike when it gives them none.
func adapterSplit(m Model, versions []string) []routing.Destination {
	versions = slices.DeleteFunc(slices.Clone(versions), func(v string) bool { return !m.HasVersion(v) }) // the others are serving's to report
	if len(versions) == 0 || len(versions) == len(m.Versions) {
		return []routing.Destination{{Host: m.Name}}
	}
	weights := map[string]int32{}
	var total int32
	if rules := m.Traffic.Rules; len(rules) == 1 && len(rules[0].Match) == 0 {
		for _, d := range rules[0].Split {
			if slices.Contains(versions, d.Subset) {
				weights[d.Subset] += d.Weight
				total += d.Weight
			}
		}
	}
	out := make([]routing.Destination, 0, len(versions))
	var given int32
	for i, v := range versions {
		w := 100 / int32(len(versions))
		if total > 0 {
			w = weights[v] * 100 / total
		}
		if i == len(versions)-1 {
			w = 100 - given // the last takes what rounding left
		}
		given += w
		out = append(out, routing.Destination{Host: m.Name, Subset: v, Weight: w})
	}
	if len(out) == 1 {
		out[0].Weight = 0
	}
	return out
}

// ModelHeader is the header the body-based router writes the request's
// model into, and the endpoint's routes match.
const ModelHeader = "x-gateway-model-name"

// The endpoint picker's scheduling headers (the Inference Extension's
// v1.5 names), which an endpoint sets from the caller's token alone.
const (
	ObjectiveHeader = "x-gateway-inference-objective"
	FairnessHeader  = "x-gateway-inference-fairness-id"
)

// reservedHeaders are the headers the gateway removes from every request
// of an endpoint before anything reads them: what the body router and the
// token write, and what the endpoint picker would obey from a client (the
// model rewrite, the pod to send to), in the Inference Extension's names
// and in llm-d's.
var reservedHeaders = []string{ModelHeader, ObjectiveHeader, FairnessHeader,
	"x-gateway-model-name-rewrite", "x-gateway-destination-endpoint", "x-gateway-destination-endpoint-subset",
	"x-llm-d-inference-objective", "x-llm-d-inference-fairness-id"}

// claimHeaders are the claim headers the endpoints on gateway add to its
// issuers' tokens (EndpointPriority).
func claimHeaders(app App, gateway string) []security.ClaimHeader {
	var out []security.ClaimHeader
	for _, e := range app.Endpoints {
		if e.Gateway != gateway || e.Priority == nil {
			continue
		}
		if c := e.Priority.ObjectiveClaim; c != "" {
			out = append(out, security.ClaimHeader{Header: ObjectiveHeader, Claim: c})
		}
		if c := e.Priority.FairnessClaim; c != "" {
			out = append(out, security.ClaimHeader{Header: FairnessHeader, Claim: c})
		}
	}
	return out
}

// priorityErrors checks an endpoint's priority: a claim named, and the
// gateway's issuers to read it from.
func priorityErrors(env *appEnv, ep *field.Path, e Endpoint) field.ErrorList {
	p := e.Priority
	if p == nil {
		return nil
	}
	pp := ep.Child("priority")
	var errs field.ErrorList
	if p.ObjectiveClaim == "" && p.FairnessClaim == "" {
		errs = append(errs, field.Required(pp, "a claim: objectiveClaim, fairnessClaim or both"))
	}
	for _, c := range []struct{ name, value string }{{"objectiveClaim", p.ObjectiveClaim}, {"fairnessClaim", p.FairnessClaim}} {
		if strings.ContainsAny(c.value, " \t\n") {
			errs = append(errs, field.Invalid(pp.Child(c.name), c.value, "a claim name has no whitespace"))
		}
	}
	if !slices.ContainsFunc(env.app.GatewayJWT, func(g GatewayJWT) bool { return g.Gateway == e.Gateway }) {
		errs = append(errs, field.Required(pp, fmt.Sprintf("the claims of a token the gateway validates: add gatewayJWT for gateway %q", e.Gateway)))
	}
	op := pp.Child("objectives")
	seen := map[string]bool{}
	for i, o := range p.Objectives {
		for _, msg := range check.DNS1123Subdomain(o.Name) {
			errs = append(errs, field.Invalid(op.Index(i).Child("name"), o.Name, msg))
		}
		if seen[o.Name] {
			errs = append(errs, field.Duplicate(op.Index(i).Child("name"), o.Name))
		}
		seen[o.Name] = true
	}
	if len(p.Objectives) > 0 {
		if pools := endpointPools(env.app, e); len(pools) != 1 {
			errs = append(errs, field.Invalid(op, len(p.Objectives), fmt.Sprintf(
				"the endpoint's models have %d InferencePools (%s), and an objective names one pool in its namespace: with exactly one they are built, else create each pool's yourself",
				len(pools), strings.Join(pools, ", "))))
		}
	}
	return errs
}

// endpointPools are the InferencePools of an endpoint's models.
func endpointPools(app App, e Endpoint) []string {
	var out []string
	for _, m := range app.Models {
		if m.Inference != nil && slices.Contains(e.Models, m.Name) {
			for _, v := range m.Versions {
				out = append(out, names.Deployment(m.Name, v.Name))
			}
		}
	}
	return out
}

// nameClaims are the names clients send, each with the field that serves
// it: a name served twice would have two models.
type nameClaims map[string]string

// claimModel claims the names the App's model of that name serves (its
// served name, at p, and its adapters'), appRoot prefixing the App's own
// paths (nil for one App); host, if set, says where the names collide.
// A model the App does not have is reported only for one App.
func (c nameClaims) claimModel(app App, appRoot, p *field.Path, model, host string) field.ErrorList {
	mi := slices.IndexFunc(app.Models, func(m Model) bool { return m.Name == model })
	if mi < 0 {
		if appRoot != nil {
			return nil // the App's own Validate reports it
		}
		fe := field.NotFound(p, model)
		fe.Detail = "an endpoint serves models of the App"
		return field.ErrorList{fe}
	}
	m := app.Models[mi]
	modelAt := modelPath(mi)
	if appRoot != nil {
		modelAt = appRoot.Child("models").Index(mi)
	}
	where := ""
	if host != "" {
		where = "on host " + host + " "
	}
	var errs field.ErrorList
	claim := func(name string, at *field.Path) {
		if prev, taken := c[name]; taken {
			fe := field.Duplicate(at, name)
			fe.Detail = where + "the name clients send is already served by " + prev + ": a request naming it would have two models"
			errs = append(errs, fe)
			return
		}
		c[name] = at.String()
	}
	claim(m.Served(), p)
	for k, a := range m.Adapters {
		claim(a.Name, modelAt.Child("adapters").Index(k).Child("name"))
	}
	return errs
}

// CheckEndpoints checks the endpoints of a set of Apps given together (a
// platform's teams, each with its own App, on shared hosts): every name
// clients send on one host is served by one model or adapter only, as the
// endpoint picker and the body router need. Problems name both fields,
// rooted at the Apps' indices ("apps[1].endpoints[0].models[0]"). Each App
// is checked on its own by Validate and Build; this checks what lies
// between them.
func CheckEndpoints(apps ...App) error {
	var errs field.ErrorList
	byHost := map[string]nameClaims{}
	for i, a := range apps {
		ap := field.NewPath("apps").Index(i)
		for j, e := range a.Endpoints {
			if byHost[e.Host] == nil {
				byHost[e.Host] = nameClaims{}
			}
			for k, model := range e.Models {
				errs = append(errs, byHost[e.Host].claimModel(a, ap, ap.Child("endpoints").Index(j).Child("models").Index(k), model, e.Host)...)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Spec: "mesh.App set", Errors: errs}
}
