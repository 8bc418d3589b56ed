package mesh

import (
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// The exposure family: a model published on an ingress gateway by
// Model.Expose gets a VirtualService <model>-ingress bound to the gateway,
// answering for the exposed hosts and routing to one Service port with the
// model's rules. When the model's routes are pinned to one port and the
// gateway serves the Service's own name, the model's mesh VirtualService is
// bound to the gateway too instead.

type exposureFamily struct {
	env       *appEnv
	gateways  *gatewayFamily
	workloads *workloadFamily
	models    *routeFamily // the models' own routes
	routes    []ingressRoute
	checked   []routing.Checked
	// bound are the models whose own VirtualService the gateway uses
	// instead (its reference, by model): compose binds them.
	bound map[int]string
	refs  refs[exposureRef]
}

// exposureRef is an ingress route's VirtualService, or one of its
// HTTPRoutes.
type exposureRef struct{ route, gatewayRoute int32 }

type ingressRoute struct {
	model int // index in App.Models
	spec  routing.Spec
}

func deriveExposure(env *appEnv, gateways *gatewayFamily, workloads *workloadFamily, models *routeFamily) (*exposureFamily, field.ErrorList) {
	var errs field.ErrorList
	x := &exposureFamily{env: env, gateways: gateways, workloads: workloads, models: models, bound: map[int]string{}}
	for i, m := range env.app.Models {
		if m.Expose == nil {
			continue
		}
		route, rerrs := x.expose(i, m)
		errs = append(errs, rerrs...)
		if route.Host != "" {
			x.routes = append(x.routes, ingressRoute{model: i, spec: route})
		}
	}
	return x, errs
}

// expose binds model i to its gateway. It returns the spec of the model's
// ingress VirtualService, or a zero spec when the model's own VirtualService
// is bound instead (or nothing can be built).
func (x *exposureFamily) expose(i int, m Model) (routing.Spec, field.ErrorList) {
	var errs field.ErrorList
	xp := fieldpath.New("models").Index(i).Child("expose") // exposePath(i), made on error
	gw, fe := x.gateways.lookup(xp, m.Expose.Gateway)
	if fe != nil {
		return routing.Spec{}, field.ErrorList{fe}
	}
	hosts := m.Expose.Hosts
	for j, h := range hosts {
		errs = append(errs, check.Host(xp.Child("hosts").Index(j), h, true, false)...)
	}
	errs = append(errs, x.gateways.served(func(k int) *field.Path { return xp.Child("hosts").Index(k).Field() }, gw, hosts, x.env.ns)...)
	spec := &x.models.specs[i]
	if m.Traffic.Port != 0 && len(hosts) == 0 && gw.Covers(spec.Host, x.env.ns) {
		if !x.env.gatewayAPI() {
			// The gateway serves the Service's own name: one VirtualService
			// for the mesh and the gateway.
			x.bound[i] = gw.Ref()
			return routing.Spec{}, errs
		}
		// A Gateway API route attaches to the Service or to Gateways: the
		// ingress route answers for the Service's name.
		hosts = []string{spec.Host}
	}
	port := m.Expose.Port
	if c := x.workloads.checked[i]; port != 0 && c.Model() != nil {
		if perrs := modelPort(xp.Child("port"), port, c); len(perrs) > 0 {
			return routing.Spec{}, append(errs, perrs...)
		}
	}
	if port == 0 {
		n, ok := serving.ServicePort(x.workloads.model(i), serving.HTTP)
		if !ok {
			errs = append(errs, field.Required(xp.Child("port").Field(), "the model has no HTTP port; name the Service port the gateway routes to"))
			return routing.Spec{}, errs
		}
		port = uint32(n)
	}
	if len(hosts) == 0 {
		// Answer for whatever the gateway serves: behind a "*" server,
		// requests carry any Host header.
		hosts = broadest(gw.Hosts())
	}
	if len(hosts) == 0 {
		return routing.Spec{}, errs // the gateway's own validation reports its missing hosts
	}
	ing := routing.Spec{
		Name:      names.Ingress(m.Name),
		Namespace: x.env.ns,
		Host:      hosts[0],
		Hosts:     hosts[1:],
		Gateways:  []string{gw.Ref()},
		Ports:     []uint32{port},
		GRPCPorts: grpcOnly(spec.GRPCPorts, port),
		Subsets:   spec.Subsets,
		Rules:     pinHost(spec.Rules, spec.Host),
	}
	return ing, errs
}

func (x *exposureFamily) check(poolHosts []string, claims hostClaims) field.ErrorList {
	var errs field.ErrorList
	x.checked = make([]routing.Checked, len(x.routes))
	for k := range x.routes {
		r := &x.routes[k]
		r.spec.Pools = poolHosts
		c, err := routing.Check(&r.spec)
		if err != nil {
			errs = append(errs, x.exposureErrors(r.model, err)...)
		}
		x.checked[k] = c
		errs = append(errs, x.env.gatewayAPIErrors(&r.spec, func(err error) field.ErrorList { return x.exposureErrors(r.model, err) })...)
		errs = append(errs, claims.claim(claimant{"models", r.model, "expose", len(x.env.app.Models[r.model].Expose.Hosts) > 0}, r.spec)...)
	}
	return errs
}

// exposureErrors re-roots the problems of model i's ingress routing.Spec:
// its hosts and port are Expose's; its rules are the model's own, reported
// once by modelRouteErrors.
func (x *exposureFamily) exposureErrors(i int, err error) field.ErrorList {
	xp := exposePath(i)
	userHosts := len(x.env.app.Models[i].Expose.Hosts) > 0
	return rerootRoute(err, xp, x.workloads.derivedValid(i, x.gateways.valid), func(step string, k int) *field.Path {
		switch {
		case step == "host" && userHosts:
			return xp.Child("hosts").Index(0)
		case step == "hosts" && userHosts:
			return indexed(xp.Child("hosts"), k+1)
		case step == "host" || step == "hosts" || step == "gateways":
			return xp.Child("gateway")
		case step == "ports" && x.env.app.Models[i].Expose.Port == 0:
			return skipError // the runtime's port, which serving reports
		case step == "ports":
			return xp.Child("port")
		case step == "rules" && !x.models.valid(i):
			return skipError // the model's own routes report their rules' problems
		case step == "rules":
			return indexed(modelPath(i).Child("traffic", "rules"), k)
		}
		return nil
	})
}

func (x *exposureFamily) objects(add adder) {
	for k := range x.routes {
		r := &x.routes[k]
		if x.env.gatewayAPI() {
			gatewayAPIRoutes(&r.spec, func(route string, j int) {
				add(kindHTTPRoute, x.env.ns, route, x.refs.add(exposureRef{int32(k), int32(j)}))
			})
			continue
		}
		add(kindVirtualService, x.env.ns, r.spec.Name, x.refs.add(exposureRef{route: int32(k)}))
	}
}

func (x *exposureFamily) build(k kind, ref int32) (render.Object, error) {
	r := x.refs[ref]
	c, model := x.checked[r.route], x.env.app.Models[x.routes[r.route].model].Name
	if k != kindVirtualService {
		o, err := gatewayAPIRoute(c, r.gatewayRoute)
		return modelLabel(o, model), err
	}
	return modelLabel(c.VirtualService(nil), model), nil
}

func (x *exposureFamily) from(_ kind, ref int32) *field.Path {
	return exposePath(x.routes[x.refs[ref].route].model)
}

// broadest drops the hosts that another of hosts covers ("a.example.com"
// beside "*", or beside "*.example.com"): Istio refuses a VirtualService
// whose hosts match each other, and the broader one answers for both.
func broadest(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if !slices.ContainsFunc(hosts, func(o string) bool { return o != h && check.Covers(o, h) }) {
			out = append(out, h)
		}
	}
	return out
}

// grpcOnly is []uint32{port} when port is one of grpcPorts.
func grpcOnly(grpcPorts []uint32, port uint32) []uint32 {
	if slices.Contains(grpcPorts, port) {
		return []uint32{port}
	}
	return nil
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
