package mesh

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/security"
	"github.com/mlmesh/mlmesh/serving"
)

// The access family's cross-checks: a rule's ports, methods and paths are
// the model's, its callers exist, and a gateway that routes to the model
// is let in and keeps the tokens the model checks.

func (f *accessFamily) check(gateways *gatewayFamily, exposure *exposureFamily, fronts *frontFamily) field.ErrorList {
	var errs field.ErrorList
	for i, m := range f.env.app.Models {
		if m.Access == nil {
			continue
		}
		for k, r := range m.Access.Allow {
			rp := accessPath(i).Child("allow").Index(k)
			if c := f.workloads.checked[i]; c.Model() != nil {
				errs = append(errs, ruleServed(rp, r, c)...)
			}
			errs = append(errs, f.callersExist(gateways, rp, r, len(m.Access.JWT) > 0)...)
		}
	}
	for _, g := range f.gatewayRoutes(gateways, exposure, fronts) {
		errs = append(errs, f.letsGatewayIn(g)...)
	}
	return errs
}

// ruleServed reports a rule's ports that the model does not serve, and
// methods and paths it can never match: on TCP ports (no HTTP request), a
// method other than POST on gRPC ports, a path outside the runtime's API.
func ruleServed(rp *field.Path, r security.Rule, c serving.Checked) field.ErrorList {
	var errs field.ErrorList
	var served []string
	protocols := map[serving.Protocol]bool{}
	for k := range c.NumPorts() {
		port := c.Port(k)
		served = append(served, fmt.Sprint(port.Number))
		if len(r.Ports) == 0 || slices.Contains(r.Ports, uint32(port.Number)) {
			protocols[port.Protocol] = true
		}
	}
	for j, port := range r.Ports {
		if !slices.Contains(served, fmt.Sprint(port)) {
			errs = append(errs, field.NotSupported(rp.Child("ports").Index(j), port, served))
		}
	}
	if len(protocols) == 0 {
		return errs
	}
	http := protocols[serving.HTTP] || protocols[serving.HTTP2] || protocols[serving.GRPC]
	switch {
	case !http && len(r.Methods) > 0:
		errs = append(errs, field.Invalid(rp.Child("methods"), r.Methods, "the rule's ports speak TCP, which has no methods: the rule would never match"))
	case !http && len(r.Paths) > 0:
		errs = append(errs, field.Invalid(rp.Child("paths"), r.Paths, "the rule's ports speak TCP, which has no paths: the rule would never match"))
	case len(protocols) == 1 && protocols[serving.GRPC] && len(r.Methods) > 0 && !slices.Contains(r.Methods, "POST"):
		errs = append(errs, field.Invalid(rp.Child("methods"), r.Methods, "the rule's ports speak gRPC, whose calls are all POST: the rule would never match"))
	}
	if prefixes := c.Paths(); len(prefixes) > 0 {
		for j, path := range r.Paths {
			if !pathServed(path, prefixes) {
				errs = append(errs, field.Invalid(rp.Child("paths").Index(j), path, "a path the model's runtime serves, under "+strings.Join(prefixes, ", ")))
			}
		}
	}
	return errs
}

// pathServed reports whether a rule's path can be a path under one of the
// runtime's prefixes: its literal start is under a prefix, or, for a
// prefix pattern or a template, a prefix is under its literal start.
func pathServed(path string, prefixes []string) bool {
	lit, open := path, false
	if k := strings.IndexAny(path, "*{"); k >= 0 {
		lit, open = path[:k], true
	}
	if strings.HasPrefix(path, "*") {
		return true
	}
	for _, pre := range prefixes {
		if strings.HasPrefix(lit, pre) || strings.HasPrefix(pre, lit) && (open || pre == lit+"/") {
			return true
		}
	}
	return false
}

// callersExist reports callers that name a service account of the App's
// namespace that no model runs as (nor Namespace.ServiceAccounts lists),
// and request principals of a model that validates no token.
func (f *accessFamily) callersExist(gateways *gatewayFamily, rp *field.Path, r security.Rule, validates bool) field.ErrorList {
	var errs field.ErrorList
	for c, caller := range r.From {
		cp := rp.Child("from").Index(c)
		ns, name := "", ""
		switch {
		case caller.ServiceAccount != "":
			cp = cp.Child("serviceAccount")
			ns, name, _ = strings.Cut(caller.ServiceAccount, "/")
			if name == "" {
				ns, name = f.env.ns, ns
			}
		case caller.Principal != "" && !strings.Contains(caller.Principal, "*"):
			cp = cp.Child("principal")
			if parts := strings.Split(caller.Principal, "/"); len(parts) == 5 {
				ns, name = parts[2], parts[4]
			}
		case caller.RequestPrincipal != "" && !validates:
			errs = append(errs, field.Invalid(cp.Child("requestPrincipal"), caller.RequestPrincipal,
				"access.jwt is empty: without a RequestAuthentication no request has a principal, and the rule would never match"))
		}
		if ns != f.env.ns || f.workloads.runsAs(name) || gateways.runAs(ns, name) {
			continue
		}
		errs = append(errs, field.Invalid(cp, field.OmitValueType{}, fmt.Sprintf(
			"service account %q of the App's namespace is not one a model runs as (Model.Identity, serviceAccountName) nor one of namespace.serviceAccounts", name)))
	}
	return errs
}

// gatewayRunsAs reports whether the pods of one of App.Gateways run as
// service account name of namespace ns.
func (g *gatewayFamily) runAs(ns, name string) bool {
	for _, spec := range g.specs {
		if g.env.gatewayPods(spec).serviceAccount == ns+"/"+name {
			return true
		}
	}
	return false
}

// gatewayRoute is a route by which a gateway's pods call a model: the
// model exposed, or a destination of a route on the gateway.
type gatewayRoute struct {
	model int
	gw    ingress.Spec
	port  uint32      // the model's port the gateway calls; 0 if not one
	via   int         // the exposed model (its expose field), or a front route
	front *field.Path // the front route's (routes[i], endpoints[i]); nil for an exposed model
}

func (r gatewayRoute) path() *field.Path {
	if r.front != nil {
		return r.front
	}
	return exposePath(r.via)
}

// gatewayRoutes lists every route by which a gateway calls a model that
// says who may call it: exposed models, the models their rules send to,
// and the destinations of front routes; one per model and gateway.
func (f *accessFamily) gatewayRoutes(gateways *gatewayFamily, exposure *exposureFamily, fronts *frontFamily) []gatewayRoute {
	guarded := false
	for _, m := range f.env.app.Models {
		guarded = guarded || m.Access != nil
	}
	if !guarded {
		return nil
	}
	var out []gatewayRoute
	type key struct {
		model   int
		gateway string
	}
	seen := map[key]bool{}
	add := func(gwName string, via int, front *field.Path, host string, port uint32) {
		i, ok := f.workloads.modelOfHost(host)
		if !ok || f.env.app.Models[i].Access == nil || seen[key{i, gwName}] {
			return // the first route names it
		}
		gk, ok := gateways.index[gwName]
		if !ok {
			return // reported by exposure and fronts
		}
		seen[key{i, gwName}] = true
		out = append(out, gatewayRoute{model: i, gw: gateways.specs[gk], port: port, via: via, front: front})
	}
	routed := map[int]bool{}
	for _, r := range exposure.routes {
		m := f.env.app.Models[r.model]
		routed[r.model] = true
		add(m.Expose.Gateway, r.model, nil, names.ServiceHost(m.Name, f.env.ns), r.spec.Ports[0])
		for _, d := range destinations(r.spec.Rules) {
			add(m.Expose.Gateway, r.model, nil, d, 0)
		}
	}
	for i, m := range f.env.app.Models {
		if m.Expose != nil && !routed[i] {
			add(m.Expose.Gateway, i, nil, names.ServiceHost(m.Name, f.env.ns), m.Traffic.Port) // its own VirtualService is bound
		}
	}
	for k, spec := range fronts.specs {
		for _, d := range destinations(spec.Rules) {
			add(fronts.sources[k].route.Gateway, k, fronts.sources[k].path, d, 0)
		}
	}
	return out
}

// letsGatewayIn reports a model whose ALLOW policy does not let in a
// gateway that calls it, and a gateway that removes a token the model
// validates again.
func (f *accessFamily) letsGatewayIn(g gatewayRoute) field.ErrorList {
	m := f.env.app.Models[g.model]
	if m.Access == nil {
		return nil
	}
	var errs field.ErrorList
	validates := len(m.Access.JWT) > 0
	if len(m.Access.Allow) > 0 && !slices.ContainsFunc(m.Access.Allow, func(r security.Rule) bool { return admits(r, g, f.env.gatewayPods(g.gw).serviceAccount, validates) }) {
		errs = append(errs, field.Invalid(accessPath(g.model).Child("allow"), field.OmitValueType{}, fmt.Sprintf(
			"no rule lets in gateway %q, which %s routes to the model: add {serviceAccount: %q} to a rule's from%s",
			g.gw.Name, g.path(), f.env.gatewayPods(g.gw).serviceAccount, portHint(g.port))))
	}
	for k, gj := range f.env.app.GatewayJWT {
		if gj.Gateway != g.gw.Name {
			continue
		}
		for j, t := range gj.JWT {
			if !t.ForwardOriginalToken && slices.ContainsFunc(m.Access.JWT, func(o security.JWT) bool { return o.Issuer == t.Issuer }) {
				errs = append(errs, field.Invalid(gatewayJWTPath(k).Child("jwt").Index(j).Child("forwardOriginalToken"), false, fmt.Sprintf(
					"models[%d].access.jwt validates tokens of %q again, and the gateway removes them once validated: set forwardOriginalToken", g.model, t.Issuer)))
			}
		}
	}
	return errs
}

func portHint(port uint32) string {
	if port == 0 {
		return ""
	}
	return fmt.Sprintf(" whose ports, if any, include %d", port)
}

// admits reports whether rule r can allow the requests of the gateway of
// g, whose pods run as service account sa ("namespace/name").
func admits(r security.Rule, g gatewayRoute, sa string, validates bool) bool {
	if g.port != 0 && len(r.Ports) > 0 && !slices.Contains(r.Ports, g.port) {
		return false
	}
	if len(r.From) == 0 {
		return true
	}
	ns, sa, _ := strings.Cut(sa, "/")
	for _, c := range r.From {
		switch {
		case c.ServiceAccount == ns+"/"+sa, c.Namespace == ns:
			return true
		case c.RequestPrincipal != "" && validates:
			return true // the gateway passes the token on (checked apart)
		case c.Principal != "" && principalMatches(c.Principal, ns, sa):
			return true
		}
	}
	return false
}

// principalMatches reports whether a principal pattern matches service
// account sa of namespace ns, in any trust domain.
func principalMatches(pattern, ns, sa string) bool {
	id := "/ns/" + ns + "/sa/" + sa
	switch {
	case pattern == "*":
		return true
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(id, pattern[1:]) || strings.HasSuffix("cluster.local"+id, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		_, rest, _ := strings.Cut(pattern, "/")
		return strings.HasPrefix(id[1:], strings.TrimSuffix(rest, "*"))
	}
	_, rest, _ := strings.Cut(pattern, "/")
	return "/"+rest == id
}
