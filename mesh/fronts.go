package mesh

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// The front-route family: a VirtualService per App.Routes, bound to its
// gateway, answering for its public hosts and routing to the models its
// rules name (by a header, say: see HeaderSelector).

type frontFamily struct {
	env       *appEnv
	gateways  *gatewayFamily
	workloads *workloadFamily
	sources   []frontSource  // App.Routes, then each endpoint's route
	specs     []routing.Spec // Host empty where the route has no hosts
	checked   []routing.Checked
	refs      refs[frontRef]
}

// frontRef is a front route's VirtualService, or one of its HTTPRoutes.
type frontRef struct{ route, gatewayRoute int32 }

// frontSource is a front route and where the user wrote it: one of
// App.Routes, or the route an Endpoint derives (endpointRoute), whose
// rules were written as the endpoint's models and the models' adapters.
type frontSource struct {
	route    Route
	path     *field.Path // routes[i], endpoints[i]
	claimant claimant
	// An endpoint's route: where each rule was written.
	ruleFrom   []*field.Path
	isEndpoint bool
}

func (s frontSource) endpoint() bool { return s.isEndpoint }

// rulePath is where rule k was written.
func (s frontSource) rulePath(k int) *field.Path {
	if s.endpoint() {
		if k < 0 || k >= len(s.ruleFrom) {
			return s.path.Child("models")
		}
		return s.ruleFrom[k]
	}
	return indexed(s.path.Child("rules"), k)
}

// splitPath is where rule k's destinations were written.
func (s frontSource) splitPath(k int) *field.Path {
	if s.endpoint() {
		return s.rulePath(k)
	}
	return s.rulePath(k).Child("split")
}

// destinationPath is where destination d of rule k was written.
func (s frontSource) destinationPath(k, d int) *field.Path {
	if s.endpoint() {
		return s.rulePath(k)
	}
	return s.splitPath(k).Index(d)
}

// hostPath is where host j of the route was written.
func (s frontSource) hostPath(j int) *field.Path {
	switch {
	case s.endpoint():
		return s.path.Child("host")
	case j < 0:
		return s.path.Child("hosts")
	}
	return s.path.Child("hosts").Index(j)
}

func routePath(i int) *field.Path { return field.NewPath("routes").Index(i) }

func deriveFronts(env *appEnv, gateways *gatewayFamily, workloads *workloadFamily) (*frontFamily, field.ErrorList) {
	var errs field.ErrorList
	f := &frontFamily{env: env, gateways: gateways, workloads: workloads}
	for i, r := range env.app.Routes {
		f.sources = append(f.sources, frontSource{route: r, path: routePath(i), claimant: claimant{"routes", i, "hosts", true}})
	}
	for i, e := range env.app.Endpoints {
		r, from := e.endpointRoute(env, endpointPath(i))
		f.sources = append(f.sources, frontSource{route: r, path: endpointPath(i), claimant: claimant{"endpoints", i, "host", true}, ruleFrom: from, isEndpoint: true})
	}
	for _, src := range f.sources {
		spec, rerrs := f.frontRoute(src, src.route)
		errs = append(errs, rerrs...)
		f.specs = append(f.specs, spec)
	}
	return f, errs
}

func (f *frontFamily) check(models *routeFamily, poolHosts []string, claims hostClaims) field.ErrorList {
	var errs field.ErrorList
	f.checked = make([]routing.Checked, len(f.specs))
	for i := range f.specs {
		spec := &f.specs[i]
		if spec.Host == "" {
			continue // reported: no hosts
		}
		errs = append(errs, f.modelSplits(models, i, spec.Rules)...)
		spec.Pools = poolHosts
		c, err := routing.Check(spec)
		if err != nil {
			errs = append(errs, f.frontErrors(i, err)...)
		}
		f.checked[i] = c
		errs = append(errs, f.env.gatewayAPIErrors(spec, func(err error) field.ErrorList { return f.frontErrors(i, err) })...)
		errs = append(errs, claims.claim(f.sources[i].claimant, *spec)...)
	}
	return errs
}

// frontErrors re-roots the problems of route i's routing.Spec at the
// fields of App.Routes[i].
func (f *frontFamily) frontErrors(i int, err error) field.ErrorList {
	src := f.sources[i]
	rp := src.path
	derivedOK := f.env.nsValid && f.gateways.valid
	errs := rerootRoute(err, rp, derivedOK, func(step string, k int) *field.Path {
		switch step {
		case "name":
			return indexed(rp.Child(step), k)
		case "rules":
			return src.rulePath(k)
		case "host":
			return src.hostPath(0)
		case "hosts":
			return src.hostPath(k + 1)
		case "ports":
			return rp.Child("port")
		case "gateways":
			return rp.Child("gateway")
		}
		return nil
	})
	if src.endpoint() {
		return errs
	}
	// A rule's one destination to a model became the model's split
	// (modelSplits): its problems are the destination's the user wrote.
	for k, rule := range src.route.Rules {
		if len(rule.Split) != 1 {
			continue
		}
		prefix := src.splitPath(k).String() + "["
		for _, fe := range errs {
			if rest, ok := strings.CutPrefix(fe.Field, prefix); ok {
				if _, after, ok := strings.Cut(rest, "]"); ok {
					fe.Field = prefix + "0]" + after
				}
			}
		}
	}
	return errs
}

func (f *frontFamily) objects(add adder) {
	for i := range f.specs {
		spec := &f.specs[i]
		if f.env.gatewayAPI() {
			gatewayAPIRoutes(spec, func(route string, j int) {
				add(kindHTTPRoute, f.env.ns, route, f.refs.add(frontRef{int32(i), int32(j)}))
			})
			continue
		}
		add(kindVirtualService, f.env.ns, spec.Name, f.refs.add(frontRef{route: int32(i)}))
	}
}

func (f *frontFamily) build(k kind, ref int32) (render.Object, error) {
	r := f.refs[ref]
	if k != kindVirtualService {
		return gatewayAPIRoute(f.checked[r.route], r.gatewayRoute)
	}
	return f.checked[r.route].VirtualService(nil), nil
}

func (f *frontFamily) from(_ kind, ref int32) *field.Path {
	return f.sources[f.refs[ref].route].path.Child("name")
}

// frontRoute derives the VirtualService spec of an App.Route.
func (f *frontFamily) frontRoute(src frontSource, r Route) (routing.Spec, field.ErrorList) {
	rp := src.path
	var errs field.ErrorList
	spec := routing.Spec{Name: r.Name, Namespace: f.env.ns}
	if r.Port != 0 {
		spec.Ports = []uint32{r.Port}
	}
	if len(r.Hosts) == 0 {
		errs = append(errs, field.Required(src.hostPath(-1), "the public hostnames of the route"))
	} else {
		spec.Host, spec.Hosts = r.Hosts[0], r.Hosts[1:]
	}
	if gw, fe := f.gateways.lookup(fieldpath.At(rp), r.Gateway); fe != nil {
		errs = append(errs, fe)
	} else {
		spec.Gateways = []string{gw.Ref()}
		errs = append(errs, f.gateways.served(src.hostPath, gw, r.Hosts, f.env.ns)...)
	}
	portReported := false // Route.Port is reported once, not per destination
	for i, rule := range r.Rules {
		rule.Split = append([]routing.Destination(nil), rule.Split...)
		for k, d := range rule.Split {
			dp := src.destinationPath(i, k)
			mi, found := f.workloads.byName(d.Host)
			if !found {
				fe := field.NotFound(dp.Child("host"), d.Host)
				fe.Detail = "a front route's destinations name models of the App"
				errs = append(errs, fe)
				continue
			}
			m := f.env.app.Models[mi]
			if d.Subset != "" && !m.HasVersion(d.Subset) {
				fe := field.NotFound(dp.Child("subset"), d.Subset)
				fe.Detail = fmt.Sprintf("model %q has versions %s", m.Name, strings.Join(m.VersionNames(), ", "))
				errs = append(errs, fe)
			}
			rule.Split[k].Host = names.ServiceHost(m.Name, f.env.ns)
			if c := f.workloads.checked[mi]; c.Model() != nil {
				switch {
				case d.Port != 0:
					errs = append(errs, modelPort(fieldpath.At(dp).Child("port"), d.Port, c)...)
				case r.Port != 0 && !portReported:
					perrs := modelPort(fieldpath.At(rp).Child("port"), r.Port, c)
					errs, portReported = append(errs, perrs...), len(perrs) > 0
				}
			}
			if d.Port == 0 && r.Port == 0 {
				n, ok := serving.ServicePort(f.workloads.model(mi), serving.HTTP)
				if !ok {
					errs = append(errs, field.Required(dp.Child("port"), fmt.Sprintf("model %q has no HTTP port; name the port", m.Name)))
				}
				rule.Split[k].Port = uint32(n)
			}
		}
		spec.Rules = append(spec.Rules, rule)
	}
	return spec, errs
}

// modelSplits replaces each destination that names a model alone (no
// subset, the only one of its rule) with that model's split, where the
// model's own routes passed their checks: a problem of those is the model's.
func (f *frontFamily) modelSplits(models *routeFamily, route int, rules []routing.Rule) field.ErrorList {
	var errs field.ErrorList
	for i, rule := range rules {
		if len(rule.Split) != 1 || rule.Split[0].Subset != "" {
			continue
		}
		mi, ok := f.workloads.modelOfHost(rule.Split[0].Host)
		if !ok || !models.valid(mi) {
			continue
		}
		split, ok := f.modelSplit(mi, rule.Split[0])
		if !ok {
			src := f.sources[route]
			at := src.destinationPath(i, 0)
			if !src.endpoint() {
				at = at.Child("host")
			}
			errs = append(errs, field.Invalid(at, src.route.Rules[i].Split[0].Host,
				fmt.Sprintf("model %q routes its requests by conditions (its traffic rules match), which a gateway does not apply and a front route cannot follow (Istio: IST0140): name a version (subset), or publish the model with Expose", f.env.app.Models[mi].Name)))
			continue
		}
		rules[i].Split = split
	}
	return errs
}

// modelSplit returns the destinations that send a front route's request to
// model mi as the model's own routes would: a gateway does not apply the
// model's mesh VirtualService, so its subsets must be named here. That is
// possible when the model routes every request alike (one version, or one
// rule without conditions); otherwise it answers false.
func (f *frontFamily) modelSplit(mi int, d routing.Destination) ([]routing.Destination, bool) {
	m := f.env.app.Models[mi]
	rules := m.Traffic.Rules
	switch {
	case len(rules) == 0 && len(m.Versions) == 1:
		d.Subset = m.Versions[0].Name
		return []routing.Destination{d}, true
	case len(rules) == 1 && len(rules[0].Match) == 0:
		out := make([]routing.Destination, 0, len(rules[0].Split))
		for _, sd := range rules[0].Split {
			if sd.Host != "" && f.workloads.qualify(sd.Host) != d.Host {
				return nil, false
			}
			out = append(out, routing.Destination{Host: d.Host, Port: d.Port, Subset: sd.Subset, Weight: sd.Weight})
		}
		return out, true
	}
	return nil, false
}
