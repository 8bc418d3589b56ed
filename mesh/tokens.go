package mesh

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
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
	authn    []security.Authentication // one per App.GatewayJWT
	deny     []security.TokenPolicy    // one per gateway with models requiring a token
	gateways []string                  // the gateway of each of deny
}

func gatewayJWTPath(k int) *field.Path { return field.NewPath("gatewayJWT").Index(k) }

// gatewayPolicyName names a policy on the pods of gateway g.
func gatewayPolicyName(g ingress.Spec) string {
	ns := g.Namespace
	if ns == "" {
		ns = "default"
	}
	return ns + "-" + g.Name
}

func (f *tokenFamily) derive(p *plan) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]int{}
	for k, gj := range p.app.GatewayJWT {
		gp := gatewayJWTPath(k)
		gw, fe := p.gateways.lookup(gp, gj.Gateway)
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
		pods := p.gatewayPods(gw)
		f.authn = append(f.authn, security.Authentication{Name: gatewayPolicyName(gw), Namespace: pods.namespace, Selector: pods.selector, Gateway: pods.gateway, JWT: gj.JWT})
	}
	return append(errs, f.deriveRequirements(p, seen)...)
}

// deriveRequirements derives one DENY policy per gateway for the hosts of
// the models exposed on it with RequireJWT, on the gateway pods' ports of
// the servers that serve those hosts.
func (f *tokenFamily) deriveRequirements(p *plan, configured map[string]int) field.ErrorList {
	var errs field.ErrorList
	byGateway := map[string]int{} // index in f.deny
	for i, m := range p.app.Models {
		if m.Expose == nil || !m.Expose.RequireJWT {
			continue
		}
		xp := exposePath(i)
		gw, fe := p.gateways.lookup(xp, m.Expose.Gateway)
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
			pods := p.gatewayPods(gw)
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
				if port := p.gatewayTargetPort(gw, s.Port); !slices.Contains(d.Ports, port) {
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

func (f *tokenFamily) check(p *plan) field.ErrorList {
	errs := f.frontsRequireTokens(p)
	// A requirement for a wildcard host must not fall on a model exposed
	// on the gateway without one.
	for k, d := range f.deny {
		for i, m := range p.app.Models {
			if m.Expose == nil || m.Expose.RequireJWT || m.Expose.Gateway != f.gateways[k] {
				continue
			}
			gw, _ := p.gateways.lookup(exposePath(i), f.gateways[k])
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
func (f *tokenFamily) frontsRequireTokens(p *plan) field.ErrorList {
	var errs field.ErrorList
	for k, spec := range p.fronts.specs {
		r := p.app.Routes[k]
		d := slices.Index(f.gateways, r.Gateway)
		if d < 0 || f.deny[d].Hosts == nil {
			continue // no requirement on the gateway, or one for every host
		}
		for _, host := range destinations(spec.Rules) {
			i, ok := p.modelOfHost(host)
			if !ok || p.app.Models[i].Expose == nil || !p.app.Models[i].Expose.RequireJWT || p.app.Models[i].Expose.Gateway != r.Gateway {
				continue
			}
			for j, h := range r.Hosts {
				if !slices.ContainsFunc(f.deny[d].Hosts, func(w string) bool { return check.Covers(w, h) }) {
					errs = append(errs, field.Invalid(routePath(k).Child("hosts").Index(j), h, fmt.Sprintf(
						"routes to models[%d], which requires a token on gateway %q for its own hosts only: this host would let requests in without one", i, r.Gateway)))
				}
			}
			break
		}
	}
	return errs
}

func (f *tokenFamily) objects(_ *plan, add adder) {
	for k, a := range f.authn {
		add(kindRequestAuthentication, a.Namespace, a.Name, k, 0)
	}
	for k, d := range f.deny {
		add(kindDenyPolicy, d.Namespace, d.Name, k, 1)
	}
}

func (f *tokenFamily) build(_ *plan, it *item) (render.Object, error) {
	if it.j == 0 {
		return security.RequestAuthentication(f.authn[it.i])
	}
	return security.TokenRequired(f.deny[it.i])
}

func (f *tokenFamily) from(_ *plan, it *item) *field.Path {
	if it.j == 0 {
		return gatewayJWTPath(int(it.i))
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
