package mesh

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// The model-route family: each model's DestinationRule (a subset per
// version, the traffic policy) and its VirtualService for the mesh (the
// rules of Model.Traffic on every routed port), both named after the model.

type routeFamily struct {
	env       *appEnv
	workloads *workloadFamily
	specs     []routing.Spec    // one per model; bind may bind them to a gateway
	checked   []routing.Checked // one per model; the zero value where its routes failed their checks
	refs      refs[routeRef]

	// reuse builds each model's DestinationRule and VirtualService into
	// the last one's storage, for a renderer done with each object by then.
	reuse bool
	dr    networkingv1.DestinationRule
	vs    networkingv1.VirtualService
}

// routeRef is one of a model's route objects: its DestinationRule, its
// VirtualService or one of its HTTPRoutes (route, by the kind), or a
// version's DestinationRule in the Gateway API dialect (version).
type routeRef struct{ model, version, route int32 } // version -1: the model's own

// valid reports whether model i's routes passed their checks.
func (r *routeFamily) valid(i int) bool { return r.checked[i].Spec() != nil }

func deriveRoutes(env *appEnv, workloads *workloadFamily, egress *egressFamily) (*routeFamily, field.ErrorList) {
	var errs field.ErrorList
	r := &routeFamily{env: env, workloads: workloads, specs: make([]routing.Spec, 0, len(env.app.Models))}
	for i, m := range env.app.Models {
		spec := r.routeSpec(m, workloads.checked[i])
		if len(m.Traffic.Rules) == 0 && len(m.Versions) > 1 {
			errs = append(errs, field.Required(modelPath(i).Child("traffic", "rules"), fmt.Sprintf("model %q has %d versions: say how traffic is split between them", m.Name, len(m.Versions))))
		}
		if c := workloads.checked[i]; m.Traffic.Port != 0 && c.Model() != nil {
			errs = append(errs, modelPort(fieldpath.New("models").Index(i).Child("traffic").Child("port"), m.Traffic.Port, c)...)
		}
		errs = append(errs, checkDestinations(i, spec, workloads, egress)...)
		r.specs = append(r.specs, spec)
	}
	return r, errs
}

// bind binds the mesh VirtualService of each model of bound to its
// gateway too (exposure decides which: see deriveExposure).
func (r *routeFamily) bind(bound map[int]string) {
	for i, gw := range bound {
		r.specs[i].Gateways = []string{"mesh", gw}
	}
}

func (r *routeFamily) check(gatewaysValid bool, claims hostClaims) field.ErrorList {
	var errs field.ErrorList
	wl := r.workloads
	r.checked = make([]routing.Checked, len(r.specs))
	var checker routing.Checker // models of one Traffic share its rules and policy
	for i := range r.specs {
		spec := &r.specs[i]
		c, err := checker.Check(spec)
		if err != nil {
			errs = append(errs, r.modelRouteErrors(i, gatewaysValid, err)...)
		}
		r.checked[i] = c
		errs = append(errs, r.env.gatewayAPIErrors(spec, func(err error) field.ErrorList { return r.modelRouteErrors(i, gatewaysValid, err) })...)
		if len(spec.Gateways) > 0 { // bound to a gateway by exposure
			errs = append(errs, claims.claim(claimant{"models", i, "expose", false}, *spec)...)
		}
		if wl.valid(i) {
			errs = append(errs, subsetsSelectOneVersion(i, spec.Subsets, wl.model(i), wl.checked[i])...)
		}
	}
	return errs
}

func exposePath(i int) *field.Path { return modelPath(i).Child("expose") }

func (r *routeFamily) objects(add adder) {
	env := r.env
	for i := range r.checked {
		name := env.app.Models[i].Name
		if env.gatewayAPI() {
			r.versionPolicies(i, add)
			gatewayAPIRoutes(&r.specs[i], func(route string, j int) {
				add(kindHTTPRoute, env.ns, route, r.refs.add(routeRef{model: int32(i), version: -1, route: int32(j)}))
			})
			continue
		}
		ref := r.refs.add(routeRef{model: int32(i), version: -1})
		add(kindDestinationRule, env.ns, name, ref)
		add(kindVirtualService, env.ns, name, ref)
	}
}

func (r *routeFamily) build(k kind, ref int32) (render.Object, error) {
	rf := r.refs[ref]
	c := r.checked[rf.model]
	name := r.env.app.Models[rf.model].Name
	switch {
	case k == kindDestinationRule && rf.version >= 0:
		return r.versionPolicy(int(rf.model), int(rf.version)), nil
	case k == kindDestinationRule:
		return modelLabel(c.DestinationRule(reused(r.reuse, &r.dr)), name), nil
	case k == kindHTTPRoute:
		o, err := gatewayAPIRoute(c, rf.route)
		return modelLabel(o, name), err
	}
	return modelLabel(c.VirtualService(reused(r.reuse, &r.vs)), name), nil
}

func (r *routeFamily) from(_ kind, ref int32) *field.Path {
	return modelPath(int(r.refs[ref].model)).Child("name")
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
func (r *routeFamily) routeSpec(m Model, c serving.Checked) routing.Spec {
	spec := routing.Spec{
		Name:      m.Name,
		Namespace: r.env.ns,
		Host:      names.ServiceHost(m.Name, r.env.ns),
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
	if !slices.ContainsFunc(m.Traffic.Rules, routing.Rule.NamesHost) {
		spec.Rules = m.Traffic.Rules // nothing to qualify: shared, never written
		return spec
	}
	for _, rule := range m.Traffic.Rules {
		rule.Split = append([]routing.Destination(nil), rule.Split...)
		for k := range rule.Split {
			rule.Split[k].Host = r.workloads.qualify(rule.Split[k].Host)
		}
		rule.Mirror = append([]routing.Mirror(nil), rule.Mirror...)
		for k := range rule.Mirror {
			rule.Mirror[k].Host = r.workloads.qualify(rule.Mirror[k].Host)
		}
		spec.Rules = append(spec.Rules, rule)
	}
	return spec
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
func modelPort(path fieldpath.Path, port uint32, c serving.Checked) field.ErrorList {
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
	return field.ErrorList{field.Invalid(path.Field(), port, "not a port of the model's Service: want one of "+strings.Join(have, ", "))}
}

// qualify turns a destination host naming a model of the App by a short
// name (model, model.namespace or model.namespace.svc) into that model's
// FQDN.
func (w *workloadFamily) qualify(h string) string {
	if h == "" {
		return ""
	}
	ns := w.env.ns
	name := h
	if n, ok := strings.CutSuffix(h, "."+ns+".svc"); ok {
		name = n
	} else if n, ok := strings.CutSuffix(h, "."+ns); ok {
		name = n
	}
	if _, ok := w.byName(name); ok {
		return names.ServiceHost(name, ns)
	}
	return h
}

// modelOfHost returns the index of the model whose Service host is h.
func (w *workloadFamily) modelOfHost(h string) (int, bool) {
	name, ok := strings.CutSuffix(h, "."+w.env.ns+".svc.cluster.local")
	if !ok {
		return 0, false
	}
	return w.byName(name)
}

// checkDestinations checks that every destination host of a model's rules
// is a model or an egress host of the App and that the subsets it names
// are versions of that model.
func checkDestinations(model int, spec routing.Spec, workloads *workloadFamily, egress *egressFamily) field.ErrorList {
	var errs field.ErrorList
	checkOne := func(rule int, list string, k int, host, subset string) {
		if host == "" || host == spec.Host {
			return // routing checks its own subsets
		}
		dp := func() *field.Path {
			return modelPath(model).Child("traffic", "rules").Index(rule).Child(list).Index(k)
		}
		if mi, ok := workloads.modelOfHost(host); ok {
			m := workloads.env.app.Models[mi]
			if subset != "" && !m.HasVersion(subset) {
				fe := field.NotFound(dp().Child("subset"), subset)
				fe.Detail = fmt.Sprintf("model %q has versions %s", m.Name, strings.Join(m.VersionNames(), ", "))
				errs = append(errs, fe)
			}
			return
		}
		if egress.hasHost(host) {
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
					matched = append(matched, names.Deployment(m.Name, v.Name))
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
func (r *routeFamily) modelRouteErrors(i int, gatewaysValid bool, err error) field.ErrorList {
	traffic := modelPath(i).Child("traffic")
	m := r.env.app.Models[i]
	return rerootRoute(err, modelPath(i), r.workloads.derivedValid(i, gatewaysValid), func(step string, k int) *field.Path {
		switch step {
		case "rules":
			if len(m.Traffic.Rules) == 0 {
				// The rule was derived (one version takes everything), or
				// derive reports the missing rules, saying why: its
				// problems are the versions' own, reported there.
				return skipError
			}
			return indexed(traffic.Child("rules"), k)
		case "policy":
			return traffic.Child("policy")
		case "ports":
			if m.Traffic.Port == 0 {
				return skipError // the runtime's ports, which serving reports
			}
			return traffic.Child("port") // one pinned port
		}
		return nil
	})
}

// derivedValid reports whether what model i's routes derive from passed
// its own checks: the namespace, the gateways and the model.
func (w *workloadFamily) derivedValid(i int, gatewaysValid bool) bool {
	return w.env.nsValid && gatewaysValid && w.valid(i)
}
