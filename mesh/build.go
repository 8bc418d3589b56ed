package mesh

import (
	"fmt"
	"sort"
	"strings"

	securityapi "istio.io/api/security/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// ServiceHost returns the FQDN of a model's Service: name.namespace.svc.cluster.local.
func ServiceHost(model, namespace string) string {
	return model + "." + namespace + ".svc.cluster.local"
}

// IngressName is the name of the VirtualService that binds an exposed
// model to its gateway when the model's routes keep each request's port.
func IngressName(model string) string { return model + "-ingress" }

// plan is an App with defaults applied and the specs of every object derived.
type plan struct {
	app      App
	ns       string
	models   []serving.Model
	routes   []routing.Spec // one per model
	ingress  []ingressRoute
	fronts   []routing.Spec
	gateways []ingress.Gateway
	egress   []egress.Spec
}

type ingressRoute struct {
	model int // index in App.Models
	spec  routing.Spec
}

// Validate reports every problem in the App at once, including the
// cross-checks that Build makes, as a *ValidationError, or nil.
func (a App) Validate() error {
	_, err := a.build()
	return err
}

// Build validates the App and returns its objects in apply order (see
// render.Sort): the Namespace, its PeerAuthentication, ServiceEntries,
// Services, Deployments, DestinationRules, Gateways and VirtualServices.
// Before returning it cross-checks them: every route destination is a
// Service or ServiceEntry of the App and every subset it names exists; every
// subset selects the pods of exactly one version; every host bound to a
// gateway is served by it; no two objects share a kind, namespace and name.
// Nothing is returned if any check fails.
func Build(a App) ([]render.Object, error) {
	return a.build()
}

func (a App) build() ([]render.Object, error) {
	p, errs := a.plan()
	if len(errs) > 0 {
		return nil, fielderr.New("mesh.App", errs)
	}
	objs, errs := p.objects()
	if len(errs) > 0 {
		return nil, fielderr.New("mesh.App", errs)
	}
	render.Sort(objs)
	return objs, nil
}

func (a App) plan() (*plan, field.ErrorList) {
	var errs field.ErrorList
	nsPath := field.NewPath("namespace")
	errs = append(errs, check.Name(nsPath.Child("name"), a.Namespace.Name)...)
	switch a.Namespace.Injection {
	case InjectNamespace, InjectPods, InjectNone:
	default:
		errs = append(errs, field.NotSupported(nsPath.Child("injection"), a.Namespace.Injection, []Injection{InjectNamespace, InjectPods, InjectNone}))
	}
	switch a.Namespace.MTLS {
	case MTLSUnset, MTLSStrict, MTLSPermissive:
	default:
		errs = append(errs, field.NotSupported(nsPath.Child("mtls"), a.Namespace.MTLS, []MTLS{MTLSStrict, MTLSPermissive}))
	}
	errs = append(errs, check.Labels(nsPath.Child("labels"), a.Namespace.Labels)...)
	p := &plan{app: a, ns: a.Namespace.Name}

	gwIndex := map[string]int{}
	for i, g := range a.Gateways {
		gp := field.NewPath("gateways").Index(i)
		if g.Namespace == "" {
			g.Namespace = p.ns
		}
		errs = append(errs, fielderr.Reroot(gp, g.Validate())...)
		if prev, dup := gwIndex[g.Name]; dup {
			errs = append(errs, field.Duplicate(gp.Child("name"), fmt.Sprintf("%s, already gateways[%d]", g.Name, prev)))
		} else if g.Name != "" {
			gwIndex[g.Name] = i
		}
		p.gateways = append(p.gateways, g)
	}
	egNames := map[string]int{}
	for i, e := range a.Egress {
		ep := field.NewPath("egress").Index(i)
		if e.Namespace == "" {
			e.Namespace = p.ns
		} else if e.Namespace != p.ns {
			errs = append(errs, field.Invalid(ep.Child("namespace"), e.Namespace, fmt.Sprintf("empty or the App's namespace %q", p.ns)))
		}
		errs = append(errs, fielderr.Reroot(ep, e.Validate())...)
		if prev, dup := egNames[e.Name]; dup {
			errs = append(errs, field.Duplicate(ep.Child("name"), fmt.Sprintf("%s, already egress[%d]", e.Name, prev)))
		} else if e.Name != "" {
			egNames[e.Name] = i
		}
		p.egress = append(p.egress, e)
	}

	modelIndex := map[string]int{}
	for i, m := range a.Models {
		mp := field.NewPath("models").Index(i)
		sm := m.Model
		if sm.Namespace == "" {
			sm.Namespace = p.ns
		} else if sm.Namespace != p.ns {
			errs = append(errs, field.Invalid(mp.Child("namespace"), sm.Namespace, fmt.Sprintf("empty or the App's namespace %q", p.ns)))
		}
		if sm.Sidecar == serving.SidecarDefault && a.Namespace.Injection == InjectPods {
			sm.Sidecar = serving.SidecarInject
		}
		errs = append(errs, fielderr.Reroot(mp, sm.Validate())...)
		if prev, dup := modelIndex[m.Name]; dup {
			errs = append(errs, field.Duplicate(mp.Child("name"), fmt.Sprintf("%s, already models[%d]", m.Name, prev)))
		} else if m.Name != "" {
			modelIndex[m.Name] = i
		}
		p.models = append(p.models, sm)
	}

	// Routes come second: they refer to models by name.
	for i, m := range a.Models {
		mp := field.NewPath("models").Index(i)
		tp := mp.Child("traffic")
		spec := p.routeSpec(m, i)
		if len(m.Traffic.Rules) == 0 && len(m.Versions) > 1 {
			errs = append(errs, field.Required(tp.Child("rules"), fmt.Sprintf("model %q has %d versions: say how traffic is split between them", m.Name, len(m.Versions))))
		}
		errs = append(errs, routeErrors(tp, spec.Validate())...)
		errs = append(errs, p.checkDestinations(tp, spec, modelIndex)...)
		p.routes = append(p.routes, spec)

		if m.Expose == nil {
			continue
		}
		xp := mp.Child("expose")
		gi, ok := gwIndex[m.Expose.Gateway]
		if !ok {
			names := make([]string, 0, len(gwIndex))
			for n := range gwIndex {
				names = append(names, n)
			}
			sort.Strings(names)
			fe := field.NotFound(xp.Child("gateway"), m.Expose.Gateway)
			fe.Detail = "want one of App.Gateways: " + strings.Join(names, ", ")
			if len(names) == 0 {
				fe.Detail = "App.Gateways is empty"
			}
			errs = append(errs, fe)
			continue
		}
		gw := p.gateways[gi]
		hosts := m.Expose.Hosts
		for j, h := range hosts {
			errs = append(errs, check.Host(xp.Child("hosts").Index(j), h, true, false)...)
		}
		for j, h := range hosts {
			if !gw.Covers(h, p.ns) {
				errs = append(errs, field.Invalid(xp.Child("hosts").Index(j), h, fmt.Sprintf("not served by gateway %q, whose servers list hosts %s", gw.Name, strings.Join(gw.Hosts(), ", "))))
			}
		}
		if m.Traffic.Port != 0 && len(hosts) == 0 && gw.Covers(spec.Host, p.ns) {
			// The gateway serves the Service's own name: one VirtualService
			// for the mesh and the gateway.
			p.routes[i].Gateways = []string{"mesh", gw.Ref()}
			continue
		}
		port := m.Expose.Port
		if port == 0 {
			n, ok := serving.ServicePort(p.models[i], serving.HTTP)
			if !ok {
				errs = append(errs, field.Required(xp.Child("port"), "the model has no HTTP port; name the Service port the gateway routes to"))
			}
			port = uint32(n)
		}
		ing := spec
		ing.Name = IngressName(m.Name)
		ing.Ports = []uint32{port}
		ing.Gateways = []string{gw.Ref()}
		if len(hosts) == 0 {
			// Answer for whatever the gateway serves: behind a "*" server,
			// requests carry any Host header.
			hosts = gw.Hosts()
		}
		if len(hosts) == 0 {
			continue // the gateway's own validation reports its missing hosts
		}
		ing.Host, ing.Hosts = hosts[0], hosts[1:]
		ing.Subsets, ing.Policy = spec.Subsets, nil
		ing.Rules = pinHost(ing.Rules, spec.Host)
		errs = append(errs, routeErrors(xp, ing.Validate())...)
		p.ingress = append(p.ingress, ingressRoute{model: i, spec: ing})
	}
	for i, r := range a.Routes {
		rs, rerrs := p.frontRoute(field.NewPath("routes").Index(i), r, gwIndex, modelIndex)
		errs = append(errs, rerrs...)
		p.fronts = append(p.fronts, rs)
	}
	errs = append(errs, p.uniqueGatewayHosts()...)
	return p, errs
}

// uniqueGatewayHosts reports a host that two VirtualServices answer for on
// the same gateway: Istio merges them in creation order, so the routes of
// the second are never reached.
func (p *plan) uniqueGatewayHosts() field.ErrorList {
	var errs field.ErrorList
	claims := map[string]string{}
	claim := func(path *field.Path, spec routing.Spec) {
		for _, gw := range spec.Gateways {
			if gw == "mesh" {
				continue
			}
			for _, h := range append([]string{spec.Host}, spec.Hosts...) {
				k := gw + "|" + h
				if prev, dup := claims[k]; dup {
					errs = append(errs, field.Invalid(path, h, fmt.Sprintf("host %q on gateway %s is already answered by %s; Istio would merge the two and never reach the second", h, gw, prev)))
					continue
				}
				claims[k] = path.String()
			}
		}
	}
	for i, r := range p.routes {
		claim(field.NewPath("models").Index(i).Child("expose"), r)
	}
	for _, ir := range p.ingress {
		claim(field.NewPath("models").Index(ir.model).Child("expose"), ir.spec)
	}
	for i, f := range p.fronts {
		claim(field.NewPath("routes").Index(i).Child("hosts"), f)
	}
	return errs
}

// frontRoute derives the VirtualService spec of an App.Route.
func (p *plan) frontRoute(rp *field.Path, r Route, gwIndex, modelIndex map[string]int) (routing.Spec, field.ErrorList) {
	var errs field.ErrorList
	spec := routing.Spec{Name: r.Name, Namespace: p.ns}
	if r.Port != 0 {
		spec.Ports = []uint32{r.Port}
	}
	gi, ok := gwIndex[r.Gateway]
	if !ok {
		fe := field.NotFound(rp.Child("gateway"), r.Gateway)
		fe.Detail = "a front route needs one of App.Gateways"
		errs = append(errs, fe)
	}
	if len(r.Hosts) == 0 {
		errs = append(errs, field.Required(rp.Child("hosts"), "the public hostnames of the route"))
	} else {
		spec.Host, spec.Hosts = r.Hosts[0], r.Hosts[1:]
	}
	if ok {
		gw := p.gateways[gi]
		spec.Gateways = []string{gw.Ref()}
		for j, h := range r.Hosts {
			if !gw.Covers(h, p.ns) {
				errs = append(errs, field.Invalid(rp.Child("hosts").Index(j), h, fmt.Sprintf("not served by gateway %q, whose servers list hosts %s", gw.Name, strings.Join(gw.Hosts(), ", "))))
			}
		}
	}
	for i, rule := range r.Rules {
		rule.Split = append([]routing.Destination(nil), rule.Split...)
		for k, d := range rule.Split {
			dp := rp.Child("rules").Index(i).Child("split").Index(k)
			mi, found := modelIndex[d.Host]
			if !found {
				fe := field.NotFound(dp.Child("host"), d.Host)
				fe.Detail = "a front route's destinations name models of the App"
				errs = append(errs, fe)
				continue
			}
			m := p.app.Models[mi]
			if d.Subset != "" && !m.HasVersion(d.Subset) {
				fe := field.NotFound(dp.Child("subset"), d.Subset)
				fe.Detail = fmt.Sprintf("model %q has versions %s", m.Name, strings.Join(m.VersionNames(), ", "))
				errs = append(errs, fe)
			}
			rule.Split[k].Host = ServiceHost(m.Name, p.ns)
			if d.Port == 0 && r.Port == 0 {
				n, ok := serving.ServicePort(p.models[mi], serving.HTTP)
				if !ok {
					errs = append(errs, field.Required(dp.Child("port"), fmt.Sprintf("model %q has no HTTP port; name the port", m.Name)))
				}
				rule.Split[k].Port = uint32(n)
			}
		}
		if len(rule.Split) == 1 && rule.Split[0].Subset == "" {
			if mi, found := modelIndex[r.Rules[i].Split[0].Host]; found {
				rule.Split = p.modelSplit(mi, rule.Split[0])
			}
		}
		spec.Rules = append(spec.Rules, rule)
	}
	if spec.Host != "" {
		errs = append(errs, routeErrors(rp, spec.Validate())...)
	}
	return spec, errs
}

// modelSplit returns the destinations that send a front route's request to
// model mi as the model's own routes would: a gateway does not apply the
// model's mesh VirtualService, so its subsets must be named here. That is
// possible when the model routes every request alike (one version, or one
// rule without conditions); otherwise d is returned unchanged, to all pods.
func (p *plan) modelSplit(mi int, d routing.Destination) []routing.Destination {
	m := p.app.Models[mi]
	rules := m.Traffic.Rules
	switch {
	case len(rules) == 0 && len(m.Versions) == 1:
		d.Subset = m.Versions[0].Name
		return []routing.Destination{d}
	case len(rules) == 1 && len(rules[0].Match) == 0:
		out := make([]routing.Destination, 0, len(rules[0].Split))
		for _, sd := range rules[0].Split {
			if sd.Host != "" && p.qualify(sd.Host) != d.Host {
				return []routing.Destination{d}
			}
			out = append(out, routing.Destination{Host: d.Host, Port: d.Port, Subset: sd.Subset, Weight: sd.Weight})
		}
		return out
	}
	return []routing.Destination{d}
}

// pinHost copies rules, giving every destination without a host the model's
// host: an ingress route's own Host is the public hostname.
func pinHost(rules []routing.Rule, host string) []routing.Rule {
	out := make([]routing.Rule, len(rules))
	for i, r := range rules {
		r.Split = append([]routing.Destination(nil), r.Split...)
		for k := range r.Split {
			if r.Split[k].Host == "" {
				r.Split[k].Host = host
			}
		}
		r.Mirror = append([]routing.Mirror(nil), r.Mirror...)
		for k := range r.Mirror {
			if r.Mirror[k].Host == "" {
				r.Mirror[k].Host = host
			}
		}
		out[i] = r
	}
	return out
}

func withoutHost(hosts []string, host string) []string {
	var out []string
	for _, h := range hosts {
		if h != host {
			out = append(out, h)
		}
	}
	return out
}

// routeErrors reroots a routing.Spec's errors under root. Only the parts a
// user wrote (rules, policy, port) are reported: the rest derives from the
// model, which is validated on its own.
func routeErrors(root *field.Path, err error) field.ErrorList {
	var out field.ErrorList
	for _, fe := range fielderr.Reroot(root, err) {
		rest := strings.TrimPrefix(fe.Field, root.String()+".")
		if strings.HasPrefix(rest, "rules") || strings.HasPrefix(rest, "policy") || strings.HasPrefix(rest, "ports") || strings.HasPrefix(rest, "hosts") {
			out = append(out, fe)
		}
	}
	return out
}

// routeSpec derives the routing spec of a model: its FQDN as host, one
// subset per version, destinations that name a model by its short name
// resolved to that model's FQDN.
func (p *plan) routeSpec(m Model, i int) routing.Spec {
	host := ServiceHost(m.Name, p.ns)
	spec := routing.Spec{
		Name:      m.Name,
		Namespace: p.ns,
		Host:      host,
		Ports:     routedPorts(m),
		Policy:    m.Traffic.Policy,
		Labels:    map[string]string{labels.App: m.Name},
	}
	for _, v := range m.Versions {
		spec.Subsets = append(spec.Subsets, routing.Subset{Name: v.Name})
	}
	if len(m.Traffic.Rules) == 0 && len(m.Versions) == 1 {
		spec.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: m.Versions[0].Name, Weight: 100}}}}
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

// routedPorts returns the Service ports a model's routes cover: the pinned
// Traffic.Port, or every HTTP, HTTP/2 and gRPC port of its runtime (a TCP
// port takes no HTTP routes).
func routedPorts(m Model) []uint32 {
	if m.Traffic.Port != 0 {
		return []uint32{m.Traffic.Port}
	}
	var out []uint32
	for _, p := range m.EffectiveRuntime().Ports {
		if p.Protocol != serving.TCP {
			out = append(out, uint32(p.Number))
		}
	}
	return out
}

// qualify turns a destination host naming a model of the App by a short
// name into that model's FQDN.
func (p *plan) qualify(h string) string {
	if h == "" {
		return ""
	}
	for _, m := range p.app.Models {
		if h == m.Name || h == m.Name+"."+p.ns || h == m.Name+"."+p.ns+".svc" {
			return ServiceHost(m.Name, p.ns)
		}
	}
	return h
}

// checkDestinations checks that every destination host is a model or an
// egress host of the App and that the subsets it names are versions of
// that model.
func (p *plan) checkDestinations(tp *field.Path, spec routing.Spec, modelIndex map[string]int) field.ErrorList {
	var errs field.ErrorList
	checkOne := func(dp *field.Path, host, subset string) {
		if host == "" || host == spec.Host {
			return // routing checks its own subsets
		}
		for _, m := range p.app.Models {
			if host == ServiceHost(m.Name, p.ns) {
				if subset != "" && !m.HasVersion(subset) {
					fe := field.NotFound(dp.Child("subset"), subset)
					fe.Detail = fmt.Sprintf("model %q has versions %s", m.Name, strings.Join(m.VersionNames(), ", "))
					errs = append(errs, fe)
				}
				return
			}
		}
		for _, e := range p.egress {
			for _, eh := range e.Hosts {
				if eh == host {
					if subset != "" {
						errs = append(errs, field.Invalid(dp.Child("subset"), subset, "an external host has no subsets"))
					}
					return
				}
			}
		}
		fe := field.NotFound(dp.Child("host"), host)
		fe.Detail = "not a model or an egress host of this App"
		errs = append(errs, fe)
	}
	for i, r := range spec.Rules {
		rp := tp.Child("rules").Index(i)
		for k, d := range r.Split {
			checkOne(rp.Child("split").Index(k), d.Host, d.Subset)
		}
		for k, m := range r.Mirror {
			checkOne(rp.Child("mirror").Index(k), m.Host, m.Subset)
		}
	}
	return errs
}

func (p *plan) objects() ([]render.Object, field.ErrorList) {
	var objs []render.Object
	var from []*field.Path // the spec element each object derives from
	var errs field.ErrorList
	add := func(path *field.Path, os ...render.Object) {
		for _, o := range os {
			objs = append(objs, o)
			from = append(from, path)
		}
	}
	fail := func(path *field.Path, err error) {
		errs = append(errs, fielderr.Reroot(path, err)...)
	}
	if !p.app.Namespace.Existing {
		add(field.NewPath("namespace"), p.namespace())
	}
	if p.app.Namespace.MTLS != MTLSUnset {
		add(field.NewPath("namespace", "mtls"), p.peerAuthentication())
	}
	for i, e := range p.egress {
		ep := field.NewPath("egress").Index(i)
		se, err := egress.ServiceEntry(e)
		if err != nil {
			fail(ep, err)
			continue
		}
		add(ep, se)
		drs, err := egress.DestinationRules(e)
		if err != nil {
			fail(ep, err)
		}
		for _, dr := range drs {
			add(ep, dr)
		}
	}
	for i, m := range p.models {
		mp := field.NewPath("models").Index(i)
		svc, err := serving.Service(m)
		if err != nil {
			fail(mp, err)
			continue
		}
		ds, err := serving.Deployments(m)
		if err != nil {
			fail(mp, err)
			continue
		}
		add(mp.Child("name"), svc)
		for k, d := range ds {
			add(mp.Child("versions").Index(k).Child("name"), d)
		}
		dr, err := routing.DestinationRule(p.routes[i])
		if err != nil {
			fail(mp.Child("traffic"), err)
			continue
		}
		errs = append(errs, subsetsSelectOneVersion(mp.Child("versions"), dr, svc, ds)...)
		vs, err := routing.VirtualService(p.routes[i])
		if err != nil {
			fail(mp.Child("traffic"), err)
			continue
		}
		add(mp.Child("name"), dr, vs)
	}
	for _, ir := range p.ingress {
		xp := field.NewPath("models").Index(ir.model).Child("expose")
		vs, err := routing.VirtualService(ir.spec)
		if err != nil {
			fail(xp, err)
			continue
		}
		add(xp, vs)
	}
	for i, f := range p.fronts {
		rp := field.NewPath("routes").Index(i)
		vs, err := routing.VirtualService(f)
		if err != nil {
			fail(rp, err)
			continue
		}
		add(rp.Child("name"), vs)
	}
	for i, g := range p.gateways {
		gp := field.NewPath("gateways").Index(i)
		gw, err := ingress.Build(g)
		if err != nil {
			fail(gp, err)
			continue
		}
		add(gp.Child("name"), gw)
	}
	errs = append(errs, uniqueObjects(objs, from)...)
	return objs, errs
}

// subsetsSelectOneVersion checks, on the built objects, that each subset of
// dr selects, among the pods the Service selects, those of exactly one
// Deployment.
func subsetsSelectOneVersion(path *field.Path, dr *networkingv1.DestinationRule, svc *corev1.Service, ds []*appsv1.Deployment) field.ErrorList {
	var errs field.ErrorList
	svcSel := k8slabels.SelectorFromSet(svc.Spec.Selector)
	for i, sub := range dr.Spec.Subsets {
		subSel := k8slabels.SelectorFromSet(sub.Labels)
		var matched []string
		for _, d := range ds {
			pod := k8slabels.Set(d.Spec.Template.Labels)
			if svcSel.Matches(pod) && subSel.Matches(pod) {
				matched = append(matched, d.Name)
			}
		}
		if len(matched) != 1 {
			errs = append(errs, field.Invalid(path.Index(i), sub.Name,
				fmt.Sprintf("subset %q selects the pods of %d Deployments (%s), want exactly 1", sub.Name, len(matched), strings.Join(matched, ", "))))
		}
	}
	return errs
}

// uniqueObjects reports objects that share a kind, namespace and name: one
// would overwrite the other when applied. The problem is reported at the
// spec element of the second.
func uniqueObjects(objs []render.Object, from []*field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]*field.Path{}
	for i, o := range objs {
		k := render.Describe(o)
		if prev, dup := seen[k]; dup {
			errs = append(errs, field.Invalid(from[i], field.OmitValueType{},
				fmt.Sprintf("builds %s, which %s builds too", k, prev)))
			continue
		}
		seen[k] = from[i]
	}
	return errs
}

func (p *plan) namespace() *corev1.Namespace {
	l := labels.Merge(p.app.Namespace.Labels, map[string]string{labels.ManagedBy: labels.Manager})
	if p.app.Namespace.Injection == InjectNamespace {
		l[labels.IstioInjection] = "enabled"
	}
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: p.ns, Labels: l},
	}
}

func (p *plan) peerAuthentication() *securityv1.PeerAuthentication {
	pa := &securityv1.PeerAuthentication{
		TypeMeta: metav1.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "PeerAuthentication"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "default", Namespace: p.ns,
			Labels: map[string]string{labels.ManagedBy: labels.Manager},
		},
	}
	mode := securityapi.PeerAuthentication_MutualTLS_STRICT
	if p.app.Namespace.MTLS == MTLSPermissive {
		mode = securityapi.PeerAuthentication_MutualTLS_PERMISSIVE
	}
	pa.Spec.Mtls = &securityapi.PeerAuthentication_MutualTLS{Mode: mode}
	return pa
}
