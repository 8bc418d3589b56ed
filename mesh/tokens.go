package mesh

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/security"
)

// The gateway token family: a RequestAuthentication on a gateway's pods,
// from App.GatewayJWT, and a DENY policy of requests without a token for
// the hosts of the models exposed with Expose.RequireJWT. Both go in the
// namespace of the gateway's pods (ingress.Spec.Workload), which is where
// Istio applies a policy that selects them, named after the Gateway's
// namespace and name so that Apps sharing the gateway do not collide.

type tokenFamily struct {
	env      *appEnv
	gateway  *gatewayFamily
	refs     refs[tokenRef]
	authn    []security.Authentication // one per App.GatewayJWT
	deny     []security.TokenPolicy    // one per gateway with models requiring a token
	gateways []string                  // the gateway of each of deny
}

func gatewayJWTPath(k int) *field.Path { return field.NewPath("gatewayJWT").Index(k) }

// gatewayPolicyName names a policy on the pods of gateway g.
func gatewayPolicyName(g ingress.Spec) string { return names.GatewayPolicy(g.Namespace, g.Name) }

// tokenRef is a gateway's RequestAuthentication (an index in authn) or
// token requirement (require: an index in deny).
type tokenRef struct {
	index   int
	require bool
}

func deriveTokens(env *appEnv, gateways *gatewayFamily) (*tokenFamily, field.ErrorList) {
	var errs field.ErrorList
	f := &tokenFamily{env: env, gateway: gateways}
	seen := map[string]int{}
	for k, gj := range env.app.GatewayJWT {
		gp := gatewayJWTPath(k)
		gw, fe := gateways.lookup(fieldpath.At(gp), gj.Gateway)
		if fe != nil {
			errs = append(errs, fe)
			continue
		}
		if prev, dup := seen[gj.Gateway]; dup {
			errs = append(errs, fielderr.Duplicate(gp.Child("gateway"), gj.Gateway, fmt.Sprintf("the gateway of gatewayJWT[%d]: list its issuers there", prev)))
			continue
		}
		seen[gj.Gateway] = k
		// The name, namespace and selector are the gateway's, checked there.
		if len(gj.JWT) == 0 {
			errs = append(errs, field.Required(gp.Child("jwt"), "at least one issuer"))
		}
		errs = append(errs, issuerErrors(gp.Child("jwt"), gj.JWT)...)
		pods := env.gatewayPods(gw)
		f.authn = append(f.authn, security.Authentication{Name: gatewayPolicyName(gw), Namespace: pods.namespace, Selector: pods.selector, Gateway: pods.gateway,
			JWT: withClaimHeaders(gj.JWT, claimHeaders(env.app, gj.Gateway))})
	}
	return f, append(errs, f.deriveRequirements(seen)...)
}

// withClaimHeaders is jwts, each also copying claims into headers (an
// LLM endpoint's priority headers).
func withClaimHeaders(jwts []security.JWT, headers []security.ClaimHeader) []security.JWT {
	if len(headers) == 0 {
		return jwts
	}
	out := slices.Clone(jwts)
	for i := range out {
		out[i].ClaimHeaders = append(slices.Clone(out[i].ClaimHeaders), headers...)
	}
	return out
}

// deriveRequirements derives one DENY policy per gateway for the hosts of
// the models exposed on it with RequireJWT, on the gateway pods' ports of
// the servers that serve those hosts.
func (f *tokenFamily) deriveRequirements(configured map[string]int) field.ErrorList {
	var errs field.ErrorList
	byGateway := map[string]int{} // index in f.deny
	for i, m := range f.env.app.Models {
		if m.Expose == nil || !m.Expose.RequireJWT {
			continue
		}
		xp := exposePath(i)
		gw, fe := f.gateway.lookup(fieldpath.At(xp), m.Expose.Gateway)
		if fe != nil {
			continue // reported by exposure
		}
		if _, ok := configured[gw.Name]; !ok {
			errs = append(errs, field.Required(field.NewPath("gatewayJWT"), fmt.Sprintf(
				"models[%d].expose.requireJWT is set: the issuers gateway %q validates tokens of", i, gw.Name)))
		}
		k, ok := byGateway[gw.Name]
		if !ok {
			k = len(f.deny)
			byGateway[gw.Name] = k
			pods := f.env.gatewayPods(gw)
			f.deny = append(f.deny, security.TokenPolicy{
				Name: gatewayPolicyName(gw) + "-require-jwt", Namespace: pods.namespace, Selector: pods.selector, Gateway: pods.gateway,
			})
			f.gateways = append(f.gateways, gw.Name)
		}
		d := &f.deny[k]
		served := false
		for _, h := range exposedHosts(m, gw) {
			if !slices.Contains(d.Hosts, h) {
				d.Hosts = append(d.Hosts, h)
			}
			for _, s := range gw.Servers {
				if !httpServer(s) || !servesHost(s, h) {
					continue
				}
				served = true
				if port := f.env.gatewayTargetPort(gw, s.Port); !slices.Contains(d.Ports, port) {
					d.Ports = append(d.Ports, port)
				}
			}
		}
		if !served {
			errs = append(errs, field.Invalid(xp.Child("requireJWT"), true, fmt.Sprintf("gateway %q serves the model's hosts on no HTTP port, where a token could be read", gw.Name)))
		}
	}
	for k := range f.deny {
		slices.Sort(f.deny[k].Hosts)
		slices.Sort(f.deny[k].Ports)
		if slices.ContainsFunc(f.deny[k].Hosts, func(h string) bool { return strings.HasPrefix(h, "*") }) {
			f.deny[k].Hosts = nil // every host: a wildcard cannot be matched with a port too
		}
	}
	return errs
}

// httpServer reports whether a gateway server routes HTTP requests (TLS
// terminated or none), which a token is read from.
func httpServer(s ingress.Server) bool {
	if s.HTTPSRedirect {
		return false // answered by a redirect, never routed to a model
	}
	switch s.Protocol {
	case "", ingress.HTTP, ingress.HTTP2, ingress.GRPC:
		return true
	case ingress.HTTPS:
		return s.TLS == nil || s.TLS.Mode != ingress.TLSPassthrough
	}
	return false
}

// exposedHosts are the hosts model m answers for on gateway gw.
func exposedHosts(m Model, gw ingress.Spec) []string {
	if len(m.Expose.Hosts) > 0 {
		return m.Expose.Hosts
	}
	return broadest(gw.Hosts())
}

func servesHost(s ingress.Server, host string) bool {
	for _, h := range s.Hosts {
		if _, sh, ok := strings.Cut(h, "/"); ok {
			h = sh
		}
		if check.HostsOverlap(h, host) {
			return true
		}
	}
	return false
}

func (f *tokenFamily) check(workloads *workloadFamily, fronts *frontFamily) field.ErrorList {
	errs := f.frontsRequireTokens(workloads, fronts)
	for k, d := range f.deny {
		for i, m := range f.env.app.Models {
			if m.Expose == nil || m.Expose.RequireJWT || m.Expose.Gateway != f.gateways[k] {
				continue
			}
			gw, _ := f.gateway.lookup(fieldpath.At(exposePath(i)), f.gateways[k])
			for _, h := range exposedHosts(m, gw) {
				if len(d.Hosts) == 0 || slices.ContainsFunc(d.Hosts, func(w string) bool { return check.Covers(w, h) }) {
					errs = append(errs, field.Invalid(exposePath(i).Child("requireJWT"), false, fmt.Sprintf(
						"the model's host %q is covered by the token requirement of another model exposed on gateway %q (a wildcard host requires a token for every host): set requireJWT here too, or give that model exact hosts", h, m.Expose.Gateway)))
					break
				}
			}
		}
	}
	return errs
}

// frontsRequireTokens reports a front route that sends requests to a model
// requiring a token on the route's gateway through a host the requirement
// does not cover: that host would let requests in without one.
func (f *tokenFamily) frontsRequireTokens(workloads *workloadFamily, fronts *frontFamily) field.ErrorList {
	var errs field.ErrorList
	models := f.env.app.Models
	for k, spec := range fronts.specs {
		r := fronts.sources[k].route
		d := slices.Index(f.gateways, r.Gateway)
		if d < 0 || f.deny[d].Hosts == nil {
			continue // no requirement on the gateway, or one for every host
		}
		for _, host := range destinations(spec.Rules) {
			i, ok := workloads.modelOfHost(host)
			if !ok || models[i].Expose == nil || !models[i].Expose.RequireJWT || models[i].Expose.Gateway != r.Gateway {
				continue
			}
			for j, h := range r.Hosts {
				if !slices.ContainsFunc(f.deny[d].Hosts, func(w string) bool { return check.Covers(w, h) }) {
					errs = append(errs, field.Invalid(fronts.sources[k].hostPath(j), h, fmt.Sprintf(
						"routes to models[%d], which requires a token on gateway %q for its own hosts only: this host would let requests in without one", i, r.Gateway)))
				}
			}
			break
		}
	}
	return errs
}

func (f *tokenFamily) objects(add adder) {
	for k, a := range f.authn {
		add(kindRequestAuthentication, a.Namespace, a.Name, f.refs.add(tokenRef{index: k}))
	}
	for k, d := range f.deny {
		add(kindDenyPolicy, d.Namespace, d.Name, f.refs.add(tokenRef{index: k, require: true}))
	}
}

func (f *tokenFamily) build(_ kind, ref int32) (render.Object, error) {
	r := f.refs[ref]
	if !r.require {
		return security.RequestAuthentication(f.authn[r.index])
	}
	return security.TokenRequired(f.deny[r.index])
}

func (f *tokenFamily) from(_ kind, ref int32) *field.Path {
	if r := f.refs[ref]; !r.require {
		return gatewayJWTPath(r.index)
	}
	return field.NewPath("gatewayJWT")
}

// destinations returns the hosts that rules send or mirror requests to.
func destinations(rules []routing.Rule) []string {
	var out []string
	for _, r := range rules {
		for _, d := range r.Split {
			out = append(out, d.Host)
		}
		for _, m := range r.Mirror {
			out = append(out, m.Host)
		}
	}
	return out
}
