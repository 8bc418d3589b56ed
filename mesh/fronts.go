package mesh

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

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
	specs     []routing.Spec // Host empty where the route has no hosts
	checked   []routing.Checked
	refs      refs[frontRef]
}

// frontRef is a front route's VirtualService, or one of its HTTPRoutes.
type frontRef struct{ route, gatewayRoute int32 }

func routePath(i int) *field.Path { return field.NewPath("routes").Index(i) }

func deriveFronts(env *appEnv, gateways *gatewayFamily, workloads *workloadFamily) (*frontFamily, field.ErrorList) {
	var errs field.ErrorList
	f := &frontFamily{env: env, gateways: gateways, workloads: workloads}
	for i, r := range env.app.Routes {
		spec, rerrs := f.frontRoute(routePath(i), r)
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
		errs = append(errs, claims.claim(claimant{"routes", i, "hosts", true}, *spec)...)
	}
	return errs
}

// frontErrors re-roots the problems of route i's routing.Spec at the
// fields of App.Routes[i].
func (f *frontFamily) frontErrors(i int, err error) field.ErrorList {
	rp := routePath(i)
	derivedOK := f.env.nsValid && f.gateways.valid
	errs := rerootRoute(err, rp, derivedOK, func(step string, k int) *field.Path {
		switch step {
		case "name", "rules":
			return indexed(rp.Child(step), k)
		case "host":
			return rp.Child("hosts").Index(0)
		case "hosts":
			return indexed(rp.Child("hosts"), k+1)
		case "ports":
			return rp.Child("port")
		case "gateways":
			return rp.Child("gateway")
		}
		return nil
	})
	// A rule's one destination to a model became the model's split
	// (modelSplits): its problems are the destination's the user wrote.
	for k, rule := range f.env.app.Routes[i].Rules {
		if len(rule.Split) != 1 {
			continue
		}
		prefix := rp.Child("rules").Index(k).Child("split").String() + "["
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
	return f.checked[r.route].VirtualService(), nil
}

func (f *frontFamily) from(_ kind, ref int32) *field.Path {
	return routePath(int(f.refs[ref].route)).Child("name")
}

// frontRoute derives the VirtualService spec of an App.Route.
func (f *frontFamily) frontRoute(rp *field.Path, r Route) (routing.Spec, field.ErrorList) {
	var errs field.ErrorList
	spec := routing.Spec{Name: r.Name, Namespace: f.env.ns}
	if r.Port != 0 {
		spec.Ports = []uint32{r.Port}
	}
	if len(r.Hosts) == 0 {
		errs = append(errs, field.Required(rp.Child("hosts"), "the public hostnames of the route"))
	} else {
		spec.Host, spec.Hosts = r.Hosts[0], r.Hosts[1:]
	}
	if gw, fe := f.gateways.lookup(rp, r.Gateway); fe != nil {
		errs = append(errs, fe)
	} else {
		spec.Gateways = []string{gw.Ref()}
		errs = append(errs, f.gateways.served(rp, gw, r.Hosts, f.env.ns)...)
	}
	portReported := false // Route.Port is reported once, not per destination
	for i, rule := range r.Rules {
		rule.Split = append([]routing.Destination(nil), rule.Split...)
		for k, d := range rule.Split {
			dp := rp.Child("rules").Index(i).Child("split").Index(k)
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
					errs = append(errs, modelPort(dp.Child("port"), d.Port, c)...)
				case r.Port != 0 && !portReported:
					perrs := modelPort(rp.Child("port"), r.Port, c)
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
			errs = append(errs, field.Invalid(routePath(route).Child("rules").Index(i).Child("split").Index(0).Child("host"), f.env.app.Routes[route].Rules[i].Split[0].Host,
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
