package mesh

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
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

// plan is an App with defaults applied, the specs of every object derived
// and checked. Objects are built from it lazily, in apply order, so that a
// large App can be rendered without holding all of its objects.
type plan struct {
	app      App
	ns       string
	models   []serving.Model
	routes   []routing.Spec // one per model
	ingress  []ingressRoute
	fronts   []routing.Spec
	gateways []ingress.Gateway
	egress   []egress.Spec

	checkedModels  []serving.Checked
	checkedRoutes  []routing.Checked
	checkedIngress []routing.Checked
	checkedFronts  []routing.Checked

	// modelIndex maps a model's name to its first index in App.Models.
	modelIndex map[string]int
}

type ingressRoute struct {
	model int // index in App.Models
	spec  routing.Spec
}

// item is one object to build: its identity, and where it comes from (a
// source and indices), which says both how to build it and, for error
// messages, which spec element it derives from.
type item struct {
	namespace string
	name      string
	i, k      int32 // indices into the plan's slices, by source
	seq       int32 // order of creation, the last sort key
	rank      uint8
	src       source
}

type source uint8

const (
	srcNamespace source = iota
	srcPeerAuth
	srcServiceEntry // i: egress
	srcEgressRule   // i: egress, k: host
	srcService      // i: model
	srcDeployment   // i: model, k: version
	srcModelRule    // i: model
	srcModelRoute   // i: model
	srcIngressRoute // i: index in plan.ingress
	srcFrontRoute   // i: route
	srcGateway      // i: gateway
)

// kind returns the kind of object a source builds.
func (s source) kind() string {
	switch s {
	case srcNamespace:
		return "Namespace"
	case srcPeerAuth:
		return "PeerAuthentication"
	case srcServiceEntry:
		return "ServiceEntry"
	case srcEgressRule, srcModelRule:
		return "DestinationRule"
	case srcService:
		return "Service"
	case srcDeployment:
		return "Deployment"
	case srcGateway:
		return "Gateway"
	}
	return "VirtualService"
}

// from returns the spec element the item derives from.
func (p *plan) from(it *item) *field.Path {
	i, k := int(it.i), int(it.k)
	switch it.src {
	case srcNamespace:
		return field.NewPath("namespace")
	case srcPeerAuth:
		return field.NewPath("namespace", "mtls")
	case srcServiceEntry, srcEgressRule:
		return field.NewPath("egress").Index(i)
	case srcDeployment:
		return field.NewPath("models").Index(i).Child("versions").Index(k).Child("name")
	case srcIngressRoute:
		return field.NewPath("models").Index(p.ingress[i].model).Child("expose")
	case srcFrontRoute:
		return field.NewPath("routes").Index(i).Child("name")
	case srcGateway:
		return field.NewPath("gateways").Index(i).Child("name")
	}
	return field.NewPath("models").Index(i).Child("name")
}

// build builds the item's object from the checked specs.
func (p *plan) build(it *item) render.Object {
	switch it.src {
	case srcNamespace:
		return p.namespace()
	case srcPeerAuth:
		return p.peerAuthentication()
	case srcServiceEntry:
		se, _ := egress.ServiceEntry(p.egress[it.i]) // validated in plan
		return se
	case srcEgressRule:
		drs, _ := egress.DestinationRules(p.egress[it.i])
		return drs[it.k]
	case srcService:
		return p.checkedModels[it.i].Service()
	case srcDeployment:
		return p.checkedModels[it.i].DeploymentOf(int(it.k))
	case srcModelRule:
		return p.modelLabel(p.checkedRoutes[it.i].DestinationRule(), int(it.i))
	case srcModelRoute:
		return p.modelLabel(p.checkedRoutes[it.i].VirtualService(), int(it.i))
	case srcIngressRoute:
		return p.modelLabel(p.checkedIngress[it.i].VirtualService(), p.ingress[it.i].model)
	case srcFrontRoute:
		return p.checkedFronts[it.i].VirtualService()
	}
	gw, _ := ingress.Build(p.gateways[it.i]) // validated in plan
	return gw
}

// modelLabel labels a model's routing object with app=<model>, as its
// Service and Deployments are labelled.
func (p *plan) modelLabel(o render.Object, model int) render.Object {
	l := o.GetLabels()
	if l == nil {
		l = map[string]string{}
		o.SetLabels(l)
	}
	l[labels.App] = p.app.Models[model].Name
	return o
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
	p, items, err := a.items()
	if err != nil {
		return nil, err
	}
	objs := make([]render.Object, len(items))
	for i := range items {
		objs[i] = p.build(&items[i])
	}
	return objs, nil
}

// Each validates the App like Build, then builds its objects one at a time
// in apply order and passes each to yield, without holding them: the
// objects of a large App need never all be in memory. It stops at yield's
// first error and returns it.
func Each(a App, yield func(render.Object) error) error {
	return each(a, yield, false)
}

// each is Each; with reuse, it builds each Deployment into the one before
// (serving.Checked.DeploymentInto), for a yield that is done with an object
// when it returns.
func each(a App, yield func(render.Object) error, reuse bool) error {
	p, items, err := a.items()
	if err != nil {
		return err
	}
	var dep appsv1.Deployment
	for i := range items {
		it := &items[i]
		var o render.Object
		if reuse && it.src == srcDeployment {
			p.checkedModels[it.i].DeploymentInto(int(it.k), &dep)
			o = &dep
		} else {
			o = p.build(it)
		}
		if err := yield(o); err != nil {
			return err
		}
	}
	return nil
}

// Render validates the App and writes its canonical YAML stream to w, the
// same bytes as render.WriteYAML(w, Build(a)), building and encoding one
// object at a time. Nothing is written if the App is invalid.
func Render(w io.Writer, a App) error {
	enc := render.NewEncoder(w)
	return each(a, enc.Encode, true) // Encode is done with each object when it returns
}

// items plans and checks the App and returns its objects to build, in
// apply order.
func (a App) items() (*plan, []item, error) {
	p, errs := a.plan()
	if len(errs) > 0 {
		return nil, nil, fielderr.New("mesh.App", errs)
	}
	items, errs := p.items()
	if len(errs) > 0 {
		return nil, nil, fielderr.New("mesh.App", errs)
	}
	return p, items, nil
}

func (a App) plan() (*plan, field.ErrorList) {
	var errs field.ErrorList
	nsPath := field.NewPath("namespace")
	errs = append(errs, check.Name(fieldpath.At(nsPath).Child("name"), a.Namespace.Name)...)
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
	errs = append(errs, check.Labels(fieldpath.At(nsPath).Child("labels"), a.Namespace.Labels)...)
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

	// Paths of models are made only for errors: a large App has many models.
	modelPath := func(i int) *field.Path { return field.NewPath("models").Index(i) }
	modelIndex := make(map[string]int, len(a.Models))
	p.modelIndex = modelIndex
	p.models = make([]serving.Model, 0, len(a.Models))
	p.checkedModels = make([]serving.Checked, 0, len(a.Models))
	for i, m := range a.Models {
		sm := m.Model
		if sm.Namespace == "" {
			sm.Namespace = p.ns
		} else if sm.Namespace != p.ns {
			errs = append(errs, field.Invalid(modelPath(i).Child("namespace"), sm.Namespace, fmt.Sprintf("empty or the App's namespace %q", p.ns)))
		}
		if sm.Sidecar == serving.SidecarDefault && a.Namespace.Injection == InjectPods {
			sm.Sidecar = serving.SidecarInject
		}
		c, err := sm.Check()
		if err != nil {
			errs = append(errs, fielderr.Reroot(modelPath(i), err)...)
		}
		p.checkedModels = append(p.checkedModels, c)
		if prev, dup := modelIndex[m.Name]; dup {
			errs = append(errs, field.Duplicate(modelPath(i).Child("name"), fmt.Sprintf("%s, already models[%d]", m.Name, prev)))
		} else if m.Name != "" {
			modelIndex[m.Name] = i
		}
		p.models = append(p.models, sm)
	}

	// Routes come second: they refer to models by name.
	p.routes = make([]routing.Spec, 0, len(a.Models))
	for i, m := range a.Models {
		spec := p.routeSpec(m, i)
		if len(m.Traffic.Rules) == 0 && len(m.Versions) > 1 {
			errs = append(errs, field.Required(modelPath(i).Child("traffic", "rules"), fmt.Sprintf("model %q has %d versions: say how traffic is split between them", m.Name, len(m.Versions))))
		}
		errs = append(errs, p.checkDestinations(i, spec)...)
		p.routes = append(p.routes, spec)

		if m.Expose == nil {
			continue
		}
		xp := modelPath(i).Child("expose")
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
			errs = append(errs, check.Host(fieldpath.At(xp).Child("hosts").Index(j), h, true, false)...)
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
		p.ingress = append(p.ingress, ingressRoute{model: i, spec: ing})
	}
	for i, r := range a.Routes {
		rs, rerrs := p.frontRoute(field.NewPath("routes").Index(i), r, gwIndex, modelIndex)
		errs = append(errs, rerrs...)
		p.fronts = append(p.fronts, rs)
	}
	errs = append(errs, p.uniqueGatewayHosts()...)

	// Check the route specs once, now that exposure has bound them.
	p.checkedRoutes = make([]routing.Checked, 0, len(p.routes))
	for i, spec := range p.routes {
		c, err := spec.Check()
		if err != nil {
			errs = append(errs, routeErrors(modelPath(i).Child("traffic"), err)...)
		}
		p.checkedRoutes = append(p.checkedRoutes, c)
	}
	for _, ir := range p.ingress {
		c, err := ir.spec.Check()
		errs = append(errs, routeErrors(field.NewPath("models").Index(ir.model).Child("expose"), err)...)
		p.checkedIngress = append(p.checkedIngress, c)
	}
	for i, f := range p.fronts {
		if f.Host == "" {
			p.checkedFronts = append(p.checkedFronts, routing.Checked{})
			continue // reported: no hosts
		}
		c, err := f.Check()
		errs = append(errs, fielderr.Reroot(field.NewPath("routes").Index(i), err)...)
		p.checkedFronts = append(p.checkedFronts, c)
	}
	return p, errs
}

// uniqueGatewayHosts reports a host that two VirtualServices answer for on
// the same gateway: Istio merges them in creation order, so the routes of
// the second are never reached.
func (p *plan) uniqueGatewayHosts() field.ErrorList {
	var errs field.ErrorList
	// A claimant is a model's exposure or a front route, named by path
	// only when two claim one host.
	type claimant struct {
		route bool
		i     int
	}
	path := func(c claimant) *field.Path {
		if c.route {
			return field.NewPath("routes").Index(c.i).Child("hosts")
		}
		return field.NewPath("models").Index(c.i).Child("expose")
	}
	type gatewayHost struct{ gateway, host string }
	claims := make(map[gatewayHost]claimant, len(p.ingress)+len(p.routes))
	claimHost := func(c claimant, gw, h string) {
		k := gatewayHost{gw, h}
		if prev, dup := claims[k]; dup {
			errs = append(errs, field.Invalid(path(c), h, fmt.Sprintf("host %q on gateway %s is already answered by %s; Istio would merge the two and never reach the second", h, gw, path(prev))))
			return
		}
		claims[k] = c
	}
	claim := func(c claimant, spec routing.Spec) {
		for _, gw := range spec.Gateways {
			if gw == "mesh" {
				continue
			}
			claimHost(c, gw, spec.Host)
			for _, h := range spec.Hosts {
				claimHost(c, gw, h)
			}
		}
	}
	for i, r := range p.routes {
		claim(claimant{i: i}, r)
	}
	for _, ir := range p.ingress {
		claim(claimant{i: ir.model}, ir.spec)
	}
	for i, f := range p.fronts {
		claim(claimant{route: true, i: i}, f)
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
	all := fielderr.Reroot(root, err)
	defer func() {
		// Never let a failed check pass silently: if every problem was on a
		// derived field, report them all.
		if len(all) > 0 && len(out) == 0 {
			out = all
		}
	}()
	for _, fe := range all {
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
		// Labels stay nil: build adds app=<model> to each object.
	}
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
	if _, ok := p.modelIndex[name]; ok {
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
	i, ok := p.modelIndex[name]
	return i, ok
}

// checkDestinations checks that every destination host is a model or an
// egress host of the App and that the subsets it names are versions of
// that model.
func (p *plan) checkDestinations(model int, spec routing.Spec) field.ErrorList {
	var errs field.ErrorList
	checkOne := func(dp func() *field.Path, host, subset string) {
		if host == "" || host == spec.Host {
			return // routing checks its own subsets
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
		for _, e := range p.egress {
			for _, eh := range e.Hosts {
				if eh == host {
					if subset != "" {
						errs = append(errs, field.Invalid(dp().Child("subset"), subset, "an external host has no subsets"))
					}
					return
				}
			}
		}
		fe := field.NotFound(dp().Child("host"), host)
		fe.Detail = "not a model or an egress host of this App"
		errs = append(errs, fe)
	}
	for i, r := range spec.Rules {
		for k, d := range r.Split {
			checkOne(func() *field.Path { return destPath(model, i, "split", k) }, d.Host, d.Subset)
		}
		for k, m := range r.Mirror {
			checkOne(func() *field.Path { return destPath(model, i, "mirror", k) }, m.Host, m.Subset)
		}
	}
	return errs
}

// destPath is the path of a destination of a model's traffic rule.
func destPath(model, rule int, list string, k int) *field.Path {
	return field.NewPath("models").Index(model).Child("traffic", "rules").Index(rule).Child(list).Index(k)
}

func (p *plan) items() ([]item, field.ErrorList) {
	items := make([]item, 0, 2+len(p.egress)+4*len(p.checkedModels)+2*len(p.models)+len(p.fronts)+len(p.gateways))
	add := func(kind string, namespace, name string, src source, i, k int) {
		items = append(items, item{rank: kindRank[kind], namespace: namespace, name: name, src: src, i: int32(i), k: int32(k), seq: int32(len(items))})
	}
	var errs field.ErrorList
	if !p.app.Namespace.Existing {
		add("Namespace", "", p.ns, srcNamespace, 0, 0)
	}
	if p.app.Namespace.MTLS != MTLSUnset {
		add("PeerAuthentication", p.ns, "default", srcPeerAuth, 0, 0)
	}
	for i, e := range p.egress {
		add("ServiceEntry", e.Namespace, e.Name, srcServiceEntry, i, 0)
		drs, _ := egress.DestinationRules(e)
		for k, dr := range drs {
			add("DestinationRule", dr.Namespace, dr.Name, srcEgressRule, i, k)
		}
	}
	for i := range p.checkedModels {
		m := p.checkedModels[i].Model()
		add("Service", m.Namespace, m.Name, srcService, i, 0)
		for k, v := range m.Versions {
			add("Deployment", m.Namespace, serving.DeploymentName(m.Name, v.Name), srcDeployment, i, k)
		}
		spec := p.checkedRoutes[i].Spec()
		errs = append(errs, subsetsSelectOneVersion(i, spec, m)...)
		add("DestinationRule", p.ns, spec.Name, srcModelRule, i, 0)
		add("VirtualService", p.ns, spec.Name, srcModelRoute, i, 0)
	}
	for k, ir := range p.ingress {
		add("VirtualService", p.ns, ir.spec.Name, srcIngressRoute, k, 0)
	}
	for i, f := range p.fronts {
		add("VirtualService", p.ns, f.Name, srcFrontRoute, i, 0)
	}
	for i, g := range p.gateways {
		add("Gateway", g.Namespace, g.Name, srcGateway, i, 0)
	}
	// seq breaks ties (two objects of one name, reported below), so the
	// faster unstable sort gives a stable sort's order.
	slices.SortFunc(items, func(x, y item) int {
		if x.rank != y.rank {
			return cmp.Compare(x.rank, y.rank)
		}
		if c := strings.Compare(x.namespace, y.namespace); c != 0 {
			return c
		}
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	errs = append(errs, p.uniqueObjects(items)...)
	// The checked copies are all that building needs: let the unchecked
	// ones go, so that a streamed App holds one copy of each spec.
	p.models, p.routes = nil, nil
	return items, errs
}

// kindRank is render.Rank of the kinds mesh builds.
var kindRank = func() map[string]uint8 {
	groups := map[string]string{
		"Namespace": "", "PeerAuthentication": "security.istio.io", "ServiceEntry": "networking.istio.io",
		"Service": "", "Deployment": "apps", "DestinationRule": "networking.istio.io",
		"Gateway": "networking.istio.io", "VirtualService": "networking.istio.io",
	}
	out := map[string]uint8{}
	for kind, group := range groups {
		out[kind] = uint8(render.Rank(schema.GroupKind{Group: group, Kind: kind}))
	}
	return out
}()

// subsetsSelectOneVersion checks that each subset of a model's
// DestinationRule selects, among the pods its Service selects, those of
// exactly one Deployment. It compares the labels the builders put on the
// objects (serving.PodLabel, the Service selector, the subset labels).
func subsetsSelectOneVersion(model int, spec routing.Spec, m serving.Model) field.ErrorList {
	var errs field.ErrorList
	// The Service selects app=<model>; a subset without labels selects
	// version=<subset>.
	selected := func(k int, sub routing.Subset) bool {
		version := m.Versions[k].Name
		if v, ok := serving.PodLabel(m, version, labels.App); !ok || v != m.Name {
			return false
		}
		if len(sub.Labels) == 0 {
			v, ok := serving.PodLabel(m, version, labels.Version)
			return ok && v == sub.Name
		}
		for key, want := range sub.Labels {
			if v, ok := serving.PodLabel(m, version, key); !ok || v != want {
				return false
			}
		}
		return true
	}
	for i, sub := range spec.Subsets {
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
			errs = append(errs, field.Invalid(field.NewPath("models").Index(model).Child("versions").Index(i), sub.Name,
				fmt.Sprintf("subset %q selects the pods of %d Deployments (%s), want exactly 1", sub.Name, len(matched), strings.Join(matched, ", "))))
		}
	}
	return errs
}

// uniqueObjects reports objects that share a kind, namespace and name: one
// would overwrite the other when applied. The problem is reported at the
// spec element of the second.
func (p *plan) uniqueObjects(items []item) field.ErrorList {
	var errs field.ErrorList
	// items are sorted by rank, namespace and name, so objects of one
	// identity are in one run of equal rank, namespace and name.
	run := 0
	for i := range items {
		it := &items[i]
		if r := &items[run]; r.rank != it.rank || r.namespace != it.namespace || r.name != it.name {
			run = i
		}
		for prev := run; prev < i; prev++ {
			if items[prev].src.kind() != it.src.kind() {
				continue
			}
			kind := it.src.kind()
			k := kind + " " + it.namespace + "/" + it.name
			if it.namespace == "" {
				k = kind + " " + it.name
			}
			// Report at the later spec element, naming the earlier one.
			a, b := p.from(&items[prev]), p.from(it)
			if b.String() < a.String() {
				a, b = b, a
			}
			errs = append(errs, field.Invalid(b, field.OmitValueType{}, fmt.Sprintf("builds %s, which %s builds too", k, a)))
			break
		}
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
