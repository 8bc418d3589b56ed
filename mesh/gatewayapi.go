package mesh

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
)

// The Gateway API dialect (App.API): the route families (routes, exposure,
// fronts) and gateways list and build these kinds instead of Istio's, from
// the same specs; the workload family adds a Service per version. The
// checks are the same, plus what Gateway API cannot say.

func checkAPI(api API) field.ErrorList {
	switch api {
	case IstioAPI, GatewayAPI:
		return nil
	}
	return field.ErrorList{field.NotSupported(field.NewPath("api"), api, []API{IstioAPI, GatewayAPI})}
}

// gatewayAPIRoutes lists the Gateway API routes of spec, an HTTPRoute per
// port (routing.GatewayRouteNames); j is the route's index.
func gatewayAPIRoutes(spec *routing.Spec, add func(name string, j int)) {
	for j, name := range routing.GatewayRouteNames(*spec) {
		add(name, j)
	}
}

// gatewayAPIRoute builds route j of a checked spec.
func gatewayAPIRoute(c routing.Checked, j int32) (render.Object, error) {
	routes, err := c.GatewayRoutes()
	if err != nil {
		return nil, err
	}
	return routes[j], nil
}

// versionPolicies lists a DestinationRule per version Service of model i,
// for its traffic policy: in the Gateway API dialect traffic reaches a
// version through its own Service, which the model's host does not cover.
func (r *routeFamily) versionPolicies(i int, add adder) {
	m := r.env.app.Models[i]
	if m.Traffic.Policy == nil {
		return
	}
	for k, v := range m.Versions {
		add(kindDestinationRule, r.env.ns, names.Deployment(m.Name, v.Name), r.refs.add(routeRef{model: int32(i), version: int32(k)}))
	}
}

// versionPolicy builds the DestinationRule of version k of model i: the
// model's own, for the version's Service and without subsets.
func (r *routeFamily) versionPolicy(i, k int) render.Object {
	m := r.env.app.Models[i]
	name := names.Deployment(m.Name, m.Versions[k].Name)
	dr := r.checked[i].DestinationRule(nil)
	dr.Name = name
	dr.Spec.Host = names.ServiceHost(name, r.env.ns)
	dr.Spec.Subsets = nil
	return modelLabel(dr, m.Name)
}

// gatewayAPIErrors checks what of spec the Gateway API dialect cannot say,
// re-rooted by reroot as the spec's other problems are.
func (env *appEnv) gatewayAPIErrors(spec *routing.Spec, reroot func(error) field.ErrorList) field.ErrorList {
	if !env.gatewayAPI() {
		return nil
	}
	if err := spec.ValidateGatewayAPI(); err != nil {
		return reroot(err)
	}
	return nil
}

// gatewayAPIGateway checks gateway i in the Gateway API dialect.
func (env *appEnv) gatewayAPIGatewayErrors(i int, g ingress.Spec) field.ErrorList {
	if !env.gatewayAPI() {
		return nil
	}
	return fielderr.Reroot(field.NewPath("gateways").Index(i), g.ValidateGatewayAPI())
}

// gatewayIdentity is the service account, namespace, pod selector and
// container port of server port port of a gateway's pods: Istio's default
// ingress gateway's (or Workload's) in the Istio dialect, the Deployment
// Istio makes for a Gateway API Gateway (<name>-istio, in its namespace,
// listening on the listeners' ports) in the other.
type gatewayIdentity struct {
	serviceAccount string // namespace/name
	namespace      string
	selector       map[string]string // the pods, in the Istio dialect
	gateway        string            // the Gateway API Gateway, policies' target
}

func (env *appEnv) gatewayPods(g ingress.Spec) gatewayIdentity {
	if !env.gatewayAPI() {
		return gatewayIdentity{serviceAccount: g.ServiceAccount(), namespace: g.WorkloadNamespace(), selector: g.SelectorLabels()}
	}
	ns := g.Namespace
	return gatewayIdentity{serviceAccount: ns + "/" + names.GatewayService(g.Name, ingress.GatewayClass), namespace: ns, gateway: g.Name}
}

func (env *appEnv) gatewayTargetPort(g ingress.Spec, port uint32) uint32 {
	if env.gatewayAPI() {
		return port
	}
	return g.TargetPort(port)
}

// GatewayServiceAccount returns the service account ("namespace/name")
// that the pods of App.Gateways' gateway of that name run as, in the App's
// API: ingress.Spec.ServiceAccount in the Istio dialect; in the Gateway
// API's, <name>-istio of the Gateway's namespace, the service account of
// the Deployment Istio makes for it. It is the caller an exposed model's
// Access must let in. false if the App has no such gateway.
func (a App) GatewayServiceAccount(name string) (string, bool) {
	for _, g := range a.Gateways {
		if g.Name != name {
			continue
		}
		if g.Namespace == "" {
			g.Namespace = a.Namespace.Name
		}
		return (&appEnv{app: a}).gatewayPods(g).serviceAccount, true
	}
	return "", false
}
