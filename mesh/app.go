package mesh

import (
	"sort"

	"github.com/mlmesh/mlmesh"
	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/security"
	"github.com/mlmesh/mlmesh/serving"
	"github.com/mlmesh/mlmesh/slo"
)

// ValidationError reports every problem in an App, each with its field path
// from the App's root ("models[0].traffic.rules[1].split"). Its Unwrap method
// returns each problem as a *field.Error
// (k8s.io/apimachinery/pkg/util/validation/field).
type ValidationError = mlmesh.ValidationError

// App is one application's models and the mesh around them, all in one
// namespace.
type App struct {
	// Namespace is the namespace and its mesh settings.
	Namespace Namespace
	// Models are the models served, names unique.
	Models []Model
	// Gateways are the ingress gateways the models may be exposed on. An
	// empty Namespace means the App's.
	Gateways []ingress.Spec
	// Egress are the external services (model stores, APIs) the models
	// reach. An empty Namespace means the App's.
	Egress []egress.Spec
	// Routes are front doors that are not one model's: a public hostname on
	// a gateway whose rules pick a model, by a header for instance (see
	// HeaderSelector).
	Routes []Route
	// Endpoints are OpenAI-compatible hosts serving several models, routed
	// by the model each request's body names (see Endpoint).
	Endpoints []Endpoint
	// API is the dialect of the routing objects: Istio's own (the zero
	// value) or Kubernetes' Gateway API.
	API API
	// GatewayJWT validates tokens on requests through a gateway of
	// App.Gateways (a RequestAuthentication selecting its pods, in their
	// namespace); Expose.RequireJWT then refuses a model's requests
	// without one.
	GatewayJWT []GatewayJWT
}

// API is the dialect an App's routing is written in.
type API string

const (
	// IstioAPI routes with Istio's VirtualServices, DestinationRule
	// subsets and Gateways. The zero value.
	IstioAPI API = ""
	// GatewayAPI routes with Kubernetes' Gateway API, as Istio recommends
	// for new deployments: HTTPRoutes (for gRPC ports too) attached to a model's
	// Service (in the mesh) and to Gateways of class istio (at the edge),
	// sending each version's share to a Service of its own,
	// <model>-<version>; a traffic policy is a DestinationRule per version
	// Service. What Gateway API's standard channel cannot say (fault
	// injection, retries, header prefixes) is refused, with the field.
	GatewayAPI API = "gateway"
)

// GatewayJWT is how one gateway validates tokens.
type GatewayJWT struct {
	// Gateway names one of App.Gateways. Required, once per gateway.
	Gateway string
	// JWT are the issuers whose tokens are valid. At least one.
	JWT []security.JWT
}

// Route is a VirtualService in front of several models: requests for its
// hosts on its gateway are sent to the models its rules name.
type Route struct {
	// Name names the VirtualService. A DNS-1123 label. Required.
	Name string
	// Gateway names one of App.Gateways. Required.
	Gateway string
	// Hosts are the public hostnames, each served by the gateway. At least one.
	Hosts []string
	// Rules are evaluated in order; each destination names a model by
	// Host (its name) and may name a version by Subset. A request that no
	// rule matches gets 404.
	Rules []routing.Rule
	// Port is the Service port routed to; 0 means each model's first HTTP
	// inference port (not an Auxiliary one).
	Port uint32
}

// Endpoint is one OpenAI-compatible host serving several models and their
// LoRA adapters, each by the name clients give it in the "model" field of
// their requests: a model's ServedName (or Name) and its Adapters' names.
// Requests for a name that no model of the endpoint serves are answered
// 404 with an OpenAI-style error ({"error": {"code": "model_not_found",
// ...}}). Endpoints need the Gateway API dialect (api: gateway): the body
// router runs as a filter on a Gateway of the endpoint's own.
type Endpoint struct {
	// Name names the endpoint's objects: its HTTPRoute, and the router's
	// Deployment, Service, AuthorizationPolicy and EnvoyFilter,
	// <name>-router. A DNS-1123 label. Required.
	Name string
	// Gateway names one of App.Gateways. Required.
	Gateway string
	// Host is the public hostname. Required.
	Host string
	// Paths are the request paths routed by the body's model, matched
	// exactly; nil means /v1/chat/completions, /v1/completions and
	// /v1/embeddings.
	Paths []string
	// Models name the App's models the endpoint serves (Model.Name), each
	// under its served name and its adapters' names. At least one; every
	// name served at most once across the App's endpoints.
	Models []string
	// Router is the body-based router's settings.
	Router Router
	// Priority binds the router's scheduling headers (the caller's
	// objective, its priority class, and its fairness id) to claims of
	// the caller's token, which the gateway validates (App.GatewayJWT);
	// nil sends none. Whatever copies of those headers a client sends are
	// removed at the gateway before the token is read, so no caller picks
	// its own priority: a request without a valid token is scheduled as
	// the endpoint picker's default.
	Priority *EndpointPriority
}

// EndpointPriority names the claims of a caller's token that set the
// endpoint picker's headers.
type EndpointPriority struct {
	// ObjectiveClaim is the claim whose value names the caller's
	// InferenceObjective (its priority class): "tier". Copied into
	// ObjectiveHeader.
	ObjectiveClaim string
	// FairnessClaim is the claim whose value is the caller's fairness id
	// (the flow its requests share): "sub", "tenant". Copied into
	// FairnessHeader.
	FairnessClaim string
	// Objectives are the priority classes ObjectiveClaim's values name,
	// built as InferenceObjectives of the endpoint's InferencePool. The
	// Inference Extension v1.5 names objectives per namespace and gives
	// each one pool, so they need the endpoint's models to have exactly
	// one pool; with more, create each pool's objectives yourself.
	Objectives []EndpointObjective
}

// EndpointObjective is a priority class of an endpoint's callers.
type EndpointObjective struct {
	// Name is the class, as ObjectiveClaim's value names it. A DNS-1123
	// subdomain. Required.
	Name string
	// Priority orders the classes when the pool is saturated: a higher
	// one is served first, a negative one is shed first.
	Priority int
}

// Router is the body-based router of an endpoint: the Inference
// Extension's BBR, configured to copy the body's "model" into ModelHeader.
type Router struct {
	// Image is the router's image; empty means the Inference Extension's
	// v1.5.0 release (RouterImage).
	Image string
	// Replicas is its replica count; nil means 2, so that a restart does
	// not stop the endpoint (the filter fails closed).
	Replicas *int32
}

// HeaderSelector returns rules that send a request to the model named by
// the value of header: models maps header values to model names. Values are
// matched exactly and listed in lexical order.
func HeaderSelector(header string, models map[string]string) []routing.Rule {
	values := make([]string, 0, len(models))
	for v := range models {
		values = append(values, v)
	}
	sort.Strings(values)
	rules := make([]routing.Rule, len(values))
	for i, v := range values {
		rules[i] = routing.Rule{
			Name:  models[v],
			Match: []routing.Match{{Headers: map[string]routing.StringMatch{header: routing.Exact(v)}}},
			Split: []routing.Destination{{Host: models[v]}},
		}
	}
	return rules
}

// Injection is how pods get the Istio sidecar.
type Injection string

const (
	// InjectNamespace labels the namespace istio-injection=enabled, so that
	// every pod in it is injected. The zero value.
	InjectNamespace Injection = ""
	// InjectPods leaves the namespace unlabelled and labels each model's pods
	// sidecar.istio.io/inject: "true", for meshes whose injector is off
	// unless a pod asks (Kubeflow's setup, for one). Istio's analyzer reports
	// such a namespace as IST0102 (not enabled for injection), an
	// information message that is expected here.
	InjectPods Injection = "pods"
	// InjectNone marks nothing: injection is configured elsewhere.
	InjectNone Injection = "none"
	// InjectAmbient puts the namespace in Istio's ambient mode: it is
	// labelled istio.io/dataplane-mode=ambient and its pods run without a
	// sidecar, their traffic carried by the node's ztunnel (mTLS, L4
	// policy). Routing between versions and the models' Access policies are
	// applied by the namespace's waypoint (Namespace.Waypoint), which every
	// model's Services use (istio.io/use-waypoint) and, for the models a
	// gateway reaches, the gateway too (istio.io/ingress-use-waypoint), so
	// that its requests meet the same policies. It needs App.API
	// GatewayAPI: under ambient, VirtualService is alpha and mixing it with
	// HTTPRoute is undefined; Sidecar resources are ignored, so
	// ScopeSidecars is refused. Istio must be installed with the ambient
	// profile.
	InjectAmbient Injection = "ambient"
)

// MTLS is the namespace's peer authentication mode.
type MTLS string

const (
	// MTLSUnset builds no PeerAuthentication: the mesh-wide setting applies.
	MTLSUnset MTLS = ""
	// MTLSStrict accepts only mutual TLS from other workloads.
	MTLSStrict = MTLS(security.MTLSStrict)
	// MTLSPermissive accepts mutual TLS and plain text, for migrations.
	MTLSPermissive = MTLS(security.MTLSPermissive)
)

// Namespace is the App's namespace and its mesh settings.
type Namespace struct {
	// Name is the namespace. A DNS-1123 label. Required.
	Name string
	// Injection is how pods get the sidecar.
	Injection Injection
	// MTLS builds a PeerAuthentication named "default" with this mode.
	MTLS MTLS
	// Existing says the namespace is managed elsewhere: no Namespace object
	// is built. With InjectNamespace its owner must label it.
	Existing bool
	// Labels are added to the Namespace object.
	Labels map[string]string
	// DefaultDeny builds an allow-nothing AuthorizationPolicy named
	// "default-deny" for the namespace: a request reaches a workload only
	// if an ALLOW policy lets it, so every model must say who may call it
	// (Model.Access). It is applied after the models' own policies.
	// Kubelet's probes and Istio's merged metrics (port 15020) go through
	// the proxy's agent and are not affected; a Prometheus that scrapes a
	// model's own metrics port needs a rule of that model.
	DefaultDeny bool
	// ScopeSidecars builds a Sidecar per model (named after it, selecting
	// its pods) that limits what their proxies receive and may reach to
	// what the App declares: the egress hosts, the models of Model.Calls
	// and what their routes lead to, and Istio's control plane
	// (security.ControlPlane); anything else is refused (REGISTRY_ONLY).
	// A proxy's configuration then no longer grows with the mesh.
	ScopeSidecars bool
	// ServiceAccounts are service accounts that exist in the namespace
	// already, made by something other than this App (a batch job's, a
	// team's): Access may name them as callers, and a model without an
	// Identity may run as one (ServiceAccountName).
	ServiceAccounts []string
	// Waypoint names the waypoint an ambient namespace (InjectAmbient)
	// gets: a Gateway API Gateway of class istio-waypoint, for the
	// namespace's Services, whose Deployment and service account Istio
	// makes under the same name. Empty means "waypoint". Only with
	// InjectAmbient.
	Waypoint string
}

// Model is a served model and how traffic reaches its versions.
type Model struct {
	// Model is the workload: name, runtime, versions. Its Namespace must
	// be empty or the App's; its Sidecar is set from the App's Injection
	// when left at SidecarDefault.
	serving.Model
	// Traffic is how requests reach the versions.
	Traffic Traffic
	// Expose publishes the model on an ingress gateway; nil keeps it
	// inside the mesh.
	Expose *Expose
	// Identity gives the model's pods a ServiceAccount of their own, named
	// after the model unless Identity.Name is set (its Namespace must be
	// empty or the App's), with cloud workload identity if asked. Model's
	// ServiceAccountName must then be empty or the same name.
	Identity *security.Identity
	// Access says who may call the model, and validates tokens; nil lets
	// any workload call it (unless Namespace.DefaultDeny is set).
	Access *Access
	// Calls names the other models of the App that the model's pods call
	// (a pipeline's next step), for Namespace.ScopeSidecars.
	Calls []string
	// Inference sends a gateway's requests for the model through an
	// InferencePool per version (see Inference); nil sends them to the
	// versions' Services.
	Inference *Inference
	// Reaches are further hosts the model's pods call, for
	// Namespace.ScopeSidecars, as a Sidecar lists them:
	// "<namespace>/<host>" ("data/features.data.svc.cluster.local", a
	// Service of another namespace, say).
	Reaches []string
	// SLO is what "healthy" means for the model: its availability and
	// latency objectives, from which package observe renders recording
	// rules and burn-rate alerts, and promgate.FromSLO a rollout's checks.
	// It builds no mesh object. nil declares none.
	SLO *slo.Objective
	// VersionSLOs are objectives of single versions, by version name,
	// in place of SLO for that version.
	VersionSLOs map[string]slo.Objective
}

// Access is who may call a model, as AuthorizationPolicies selecting its
// pods, and how tokens are validated, as a RequestAuthentication.
type Access struct {
	// Allow are the ways a request is allowed (an AuthorizationPolicy
	// named after the model): one must match. Its ports are the model's
	// runtime ports, its callers workloads that exist: a service account
	// of the App's namespace must be one a model runs as, or one of
	// Namespace.ServiceAccounts. An exposed model must let its gateway's
	// service account in (ingress.Spec.ServiceAccount). Empty builds no
	// ALLOW policy: any caller.
	Allow []security.Rule
	// JWT are the issuers whose tokens the model's proxies validate (a
	// RequestAuthentication named after the model); a request with an
	// invalid token is refused (401).
	JWT []security.JWT
	// RequireJWT refuses requests without a valid token on the model's
	// HTTP and gRPC ports (<model>-require-jwt, a DENY policy). It needs
	// JWT. A gateway in front that validates the same issuer must forward
	// the token (security.JWT.ForwardOriginalToken).
	RequireJWT bool
}

// Traffic is how requests for a model reach its versions.
type Traffic struct {
	// Rules are evaluated in order; destinations name versions by Subset
	// and may name another model's host (Host) for a model chosen by a
	// header. Empty routes everything to the only version; a model with
	// several versions must say how to split.
	Rules []routing.Rule
	// Port pins every route to this Service port. 0 routes every HTTP,
	// HTTP/2 and gRPC port of the model, each rule repeated per port, so
	// that REST and gRPC clients are split alike.
	Port uint32
	// Policy is the DestinationRule's traffic policy.
	Policy *routing.TrafficPolicy
}

// Expose publishes a model on an ingress gateway.
//
// Requests reach a gateway on the gateway's port, so they cannot be routed
// port by port as in the mesh: mlmesh builds a second VirtualService,
// <model>-ingress, bound to the gateway, answering for Hosts and routing to
// one Service port (Port, or the model's first HTTP inference port). When
// the model's routes are pinned to one port (Traffic.Port), Hosts is empty
// and the gateway serves the Service's own name (a "*" server, say), the
// model's one VirtualService is bound to both the mesh and the gateway
// instead.
type Expose struct {
	// Gateway names one of App.Gateways.
	Gateway string
	// Hosts are the hostnames the model answers for on the gateway; each
	// must be served by the gateway. Empty means every host the gateway
	// serves ("*" included, which takes any Host header).
	Hosts []string
	// Port is the Service port the gateway routes to when Traffic.Port is
	// 0; 0 means the first HTTP inference port (not an Auxiliary one).
	Port uint32
	// RequireJWT refuses requests for the model's hosts on the gateway
	// without a valid token (a DENY policy on the gateway's pods, for
	// those hosts, on its ports that serve them). It needs the gateway's
	// App.GatewayJWT.
	RequireJWT bool
}
