package mesh

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// The model-route family: each model's DestinationRule (a subset per
// version, the traffic policy) and its VirtualService for the mesh (the
// rules of Model.Traffic on every routed port), both named after the model.

var kindVirtualService = newKind("networking.istio.io", "VirtualService")

type routeFamily struct {
	specs   []routing.Spec    // one per model; exposure may bind them to a gateway
	checked []routing.Checked // one per model; the zero value where its routes failed their checks
}

// valid reports whether model i's routes passed their checks.
func (r *routeFamily) valid(i int) bool { return r.checked[i].Spec() != nil }

// ServiceHost returns the FQDN of a model's Service: name.namespace.svc.cluster.local.
func ServiceHost(model, namespace string) string {
	return model + "." + namespace + ".svc.cluster.local"
}

func (r *routeFamily) derive(p *plan) field.ErrorList {
	var errs field.ErrorList
	r.specs = make([]routing.Spec, 0, len(p.app.Models))
	for i, m := range p.app.Models {
		spec := p.routeSpec(m, p.workloads.checked[i])
		if len(m.Traffic.Rules) == 0 && len(m.Versions) > 1 {
			errs = append(errs, field.Required(modelPath(i).Child("traffic", "rules"), fmt.Sprintf("model %q has %d versions: say how traffic is split between them", m.Name, len(m.Versions))))
		}
		if c := p.workloads.checked[i]; m.Traffic.Port != 0 && c.Model() != nil {
			errs = append(errs, modelPort(modelPath(i).Child("traffic", "port"), m.Traffic.Port, c)...)
		}
		errs = append(errs, p.checkDestinations(i, spec)...)
		r.specs = append(r.specs, spec)
	}
	return errs
}

func (r *routeFamily) check(p *plan) field.ErrorList {
	var errs field.ErrorList
	r.checked = make([]routing.Checked, len(r.specs))
	for i := range r.specs {
		spec := &r.specs[i]
		c, err := routing.Check(spec)
		if err != nil {
			errs = append(errs, p.modelRouteErrors(i, err)...)
		}
		r.checked[i] = c
		errs = append(errs, p.gatewayAPIErrors(spec, func(err error) field.ErrorList { return p.modelRouteErrors(i, err) })...)
		if len(spec.Gateways) > 0 { // bound to a gateway by exposure
			errs = append(errs, p.gateways.claim(claimant{"models", i, "expose", false}, *spec)...)
		}
		if p.workloads.valid(i) {
			errs = append(errs, subsetsSelectOneVersion(i, spec.Subsets, p.workloads.model(i), p.workloads.checked[i])...)
		}
	}
	return errs
}

func exposePath(i int) *field.Path { return modelPath(i).Child("expose") }

func (r *routeFamily) objects(p *plan, add adder) {
	for i := range r.checked {
		name := p.app.Models[i].Name
		if p.gatewayAPI() {
			p.versionPolicies(i, add)
			gatewayAPIRoutes(&r.specs[i], func(route string, j int) { add(kindHTTPRoute, p.ns, route, i, j) })
			continue
		}
		add(kindDestinationRule, p.ns, name, i, 0)
		add(kindVirtualService, p.ns, name, i, 0)
	}
}

func (r *routeFamily) build(p *plan, it *item) (render.Object, error) {
	c := r.checked[it.i]
	name := p.app.Models[it.i].Name
	switch {
	case it.kind == kindDestinationRule && it.j > 0:
		return p.versionPolicy(int(it.i), int(it.j)-1), nil
	case it.kind == kindDestinationRule:
		return modelLabel(c.DestinationRule(), name), nil
	case it.kind == kindHTTPRoute:
		o, err := gatewayAPIRoute(c, it.j)
		return modelLabel(o, name), err
	}
	return modelLabel(c.VirtualService(), name), nil
}

func (*routeFamily) from(_ *plan, it *item) *field.Path {
	return modelPath(int(it.i)).Child("name")
}

// modelLabel labels a model's routing object with app=<model>, as its
// Service and Deployments are labelled.
func modelLabel(o render.Object, model string) render.Object {
	if o == nil {
		return nil
	}
	l := o.GetLabels()
	if l == nil {
		l = map[string]string{}
		o.SetLabels(l)
	}
	l[labels.App] = model
	return o
}

// routeSpec derives the routing spec of a model: its FQDN as host, one
// subset per version, destinations that name a model by its short name
// resolved to that model's FQDN.
func (p *plan) routeSpec(m Model, c serving.Checked) routing.Spec {
	spec := routing.Spec{
		Name:      m.Name,
		Namespace: p.ns,
		Host:      ServiceHost(m.Name, p.ns),
		Policy:    m.Traffic.Policy,
		// Labels stay nil: build adds app=<model> to each object.
	}
	var others bool
	spec.Ports, spec.GRPCPorts, others = routedPorts(m, c)
	// Rules must not take the requests of the ports they do not route
	// (Traffic.Port pins every request to one port on purpose).
	spec.MatchPorts = others && m.Traffic.Port == 0
	for _, v := range m.Versions {
		spec.Subsets = append(spec.Subsets, routing.Subset{Name: v.Name})
	}
	if len(m.Traffic.Rules) == 0 && len(m.Versions) == 1 {
		spec.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: m.Versions[0].Name, Weight: 100}}}}
		return spec
	}
	if !namesHosts(m.Traffic.Rules) {
		spec.Rules = m.Traffic.Rules // nothing to qualify: shared, never written
		return spec
	}
	for _, r := range m.Traffic.Rules {
		r.Split = append([]routing.Destination(nil), r.Split...)
		for k := range r.Split {
			r.Split[k].Host = p.qualify(r.Split[k].Host)
		}
		r.Mirror = append([]routing.Mirror(nil), r.Mirror...)
		for k := range r.Mirror {
			r.Mirror[k].Host = p.qualify(r.Mirror[k].Host)
		}
		spec.Rules = append(spec.Rules, r)
	}
	return spec
}

// namesHosts reports whether a destination or mirror of the rules names a
// host.
func namesHosts(rules []routing.Rule) bool {
	for _, r := range rules {
		for _, d := range r.Split {
			if d.Host != "" {
				return true
			}
		}
		for _, m := range r.Mirror {
			if m.Host != "" {
				return true
			}
		}
	}
	return false
}

// routedPorts returns the Service ports a model's routes cover, those of
// them that serve gRPC, and whether the Service has other ports: the pinned
// Traffic.Port, or every inference port of its runtime that speaks HTTP,
// HTTP/2 or gRPC. A TCP port takes no HTTP routes; an auxiliary one
// (metrics, management) takes no traffic rules. An invalid model (c the
// zero value) has none but its pinned port.
func routedPorts(m Model, c serving.Checked) (ports, grpc []uint32, others bool) {
	all := 0
	if c.Model() != nil {
		all = c.NumPorts()
	}
	for i := range all {
		p := c.Port(i)
		n := uint32(p.Number)
		if m.Traffic.Port != 0 && n != m.Traffic.Port || m.Traffic.Port == 0 && (p.Protocol == serving.TCP || p.Auxiliary) {
			continue
		}
		ports = append(ports, n)
		if p.Protocol == serving.GRPC {
			grpc = append(grpc, n)
		}
	}
	others = all > len(ports)
	if m.Traffic.Port != 0 && len(ports) == 0 {
		ports = []uint32{m.Traffic.Port} // not a port of the model: routing reports it
	}
	return ports, grpc, others
}

// modelPort reports a port that is not one of the model's ports (a port out
// of range is routing's to report).
func modelPort(path *field.Path, port uint32, c serving.Checked) field.ErrorList {
	if port > 65535 {
		return nil // out of range: routing says so
	}
	var have []string
	for i := range c.NumPorts() {
		if uint32(c.Port(i).Number) == port {
			return nil
		}
		have = append(have, strconv.Itoa(int(c.Port(i).Number)))
	}
	return field.ErrorList{field.Invalid(path, port, "not a port of the model's Service: want one of "+strings.Join(have, ", "))}
}

// qualify turns a destination host naming a model of the App by a short
// name (model, model.namespace or model.namespace.svc) into that model's
// FQDN.
func (p *plan) qualify(h string) string {
	if h == "" {
		return ""
	}
	name := h
	if n, ok := strings.CutSuffix(h, "."+p.ns+".svc"); ok {
		name = n
	} else if n, ok := strings.CutSuffix(h, "."+p.ns); ok {
		name = n
	}
	if _, ok := p.workloads.byName(name); ok {
		return ServiceHost(name, p.ns)
	}
	return h
}

// modelOfHost returns the index of the model whose Service host is h.
func (p *plan) modelOfHost(h string) (int, bool) {
	name, ok := strings.CutSuffix(h, "."+p.ns+".svc.cluster.local")
	if !ok {
		return 0, false
	}
	return p.workloads.byName(name)
}

// checkDestinations checks that every destination host of a model's rules
// is a model or an egress host of the App and that the subsets it names
// are versions of that model.
func (p *plan) checkDestinations(model int, spec routing.Spec) field.ErrorList {
	var errs field.ErrorList
	checkOne := func(rule int, list string, k int, host, subset string) {
		if host == "" || host == spec.Host {
			return // routing checks its own subsets
		}
		dp := func() *field.Path {
			return modelPath(model).Child("traffic", "rules").Index(rule).Child(list).Index(k)
		}
		if mi, ok := p.modelOfHost(host); ok {
			m := p.app.Models[mi]
			if subset != "" && !m.HasVersion(subset) {
				fe := field.NotFound(dp().Child("subset"), subset)
				fe.Detail = fmt.Sprintf("model %q has versions %s", m.Name, strings.Join(m.VersionNames(), ", "))
				errs = append(errs, fe)
			}
			return
		}
		if p.egress.hasHost(host) {
			if subset != "" {
				errs = append(errs, field.Invalid(dp().Child("subset"), subset, "an external host has no subsets"))
			}
			return
		}
		fe := field.NotFound(dp().Child("host"), host)
		fe.Detail = "not a model or an egress host of this App"
		errs = append(errs, fe)
	}
	for i, r := range spec.Rules {
		for k, d := range r.Split {
			checkOne(i, "split", k, d.Host, d.Subset)
		}
		for k, m := range r.Mirror {
			checkOne(i, "mirror", k, m.Host, m.Subset)
		}
	}
	return errs
}

// subsetsSelectOneVersion checks that each subset of a model's
// DestinationRule selects, among the pods its Service selects, those of
// exactly one Deployment. It compares the labels the builders put on the
// objects (the pods' labels, the Service selector, the subset labels).
func subsetsSelectOneVersion(model int, subsets []routing.Subset, m serving.Model, c serving.Checked) field.ErrorList {
	var errs field.ErrorList
	// The Service selects app=<model>; a subset without labels selects
	// version=<subset>.
	selected := func(k int, sub routing.Subset) bool {
		version := m.Versions[k].Name
		if v, ok := c.PodLabel(version, labels.App); !ok || v != m.Name {
			return false
		}
		if len(sub.Labels) == 0 {
			v, ok := c.PodLabel(version, labels.Version)
			return ok && v == sub.Name
		}
		for key, want := range sub.Labels {
			if v, ok := c.PodLabel(version, key); !ok || v != want {
				return false
			}
		}
		return true
	}
	for i, sub := range subsets {
		n := 0
		for k := range m.Versions {
			if selected(k, sub) {
				n++
			}
		}
		if n != 1 {
			var matched []string
			for k, v := range m.Versions {
				if selected(k, sub) {
					matched = append(matched, serving.DeploymentName(m.Name, v.Name))
				}
			}
			errs = append(errs, field.Invalid(modelPath(model).Child("versions").Index(i), sub.Name,
				fmt.Sprintf("subset %q selects the pods of %d Deployments (%s), want exactly 1", sub.Name, len(matched), strings.Join(matched, ", "))))
		}
	}
	return errs
}

// modelRouteErrors re-roots the problems of model i's derived routing.Spec
// at the fields of the App they come from: its rules, policy and pinned port
// are Model.Traffic's; its name, host and subsets derive from the model's
// name and versions, which serving has checked.
func (p *plan) modelRouteErrors(i int, err error) field.ErrorList {
	traffic := modelPath(i).Child("traffic")
	m := p.app.Models[i]
	return rerootRoute(err, modelPath(i), p.derivedValid(i), func(step string, k int) *field.Path {
		switch step {
		case "rules":
			if k < 0 && len(m.Traffic.Rules) == 0 {
				return skipError // derive reports the missing rules, saying why
			}
			return indexed(traffic.Child("rules"), k)
		case "policy":
			return traffic.Child("policy")
		case "ports":
			return traffic.Child("port") // one pinned port
		}
		return nil
	})
}

// derivedValid reports whether what model i's routes derive from passed
// its own checks: the namespace, the gateways and the model.
func (p *plan) derivedValid(i int) bool {
	return p.namespace.valid && p.gateways.valid && p.workloads.valid(i)
}
