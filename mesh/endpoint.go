package mesh

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"
	istioapinet "istio.io/api/networking/v1alpha3"
	istiotype "istio.io/api/type/v1beta1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	inferencev1alpha2 "sigs.k8s.io/gateway-api-inference-extension/apix/v1alpha2"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
)

// The endpoint family: an OpenAI-compatible host in front of many models
// (App.Endpoints), routed by the model named in each request's JSON body.
// The Gateway API Inference Extension's body-based router (BBR) reads the
// body and copies its "model" into the ModelHeader; an ext_proc filter on
// the Gateway (an EnvoyFilter, the form Istio 1.31 takes it in) calls the
// router before Envoy's router filter; the endpoint's route (a front route,
// built by the front family) sends each name to the model or versions that
// serve it; and a name that no model serves is answered 404 with an
// OpenAI-style error body (the gateway's local reply for "no route"). The
// router runs in the mesh, so the gateway reaches it over mutual TLS with
// no DestinationRule of its own (the Inference Extension's install turns
// its TLS on and skips verifying it); an ALLOW policy lets only the
// gateway call it. Its Deployment, Service and policy are built here too.

// RouterImage is the body-based router of the Gateway API Inference
// Extension release mlmesh builds against.
const RouterImage = "registry.k8s.io/gateway-api-inference-extension/bbr:v1.5.0"

// routerPort is the router's gRPC port (ext_proc); routerHealthPort its
// gRPC health port.
const (
	routerPort       = 9004
	routerHealthPort = 9005
)

type endpointFamily struct {
	env      *appEnv
	gateways []ingress.Spec // each endpoint's gateway, in the App's namespace
	refs     refs[endpointRef]
}

// endpointRef is one of an endpoint's router objects, by kind, or one of
// its priority's objectives (objective, for kindObjective).
type endpointRef struct {
	endpoint, objective int32
	kind                kind
}

func deriveEndpoints(env *appEnv, gateways *gatewayFamily) (*endpointFamily, field.ErrorList) {
	f := &endpointFamily{env: env}
	var errs field.ErrorList
	served := nameClaims{} // across the App's endpoints
	for i, e := range env.app.Endpoints {
		ep := endpointPath(i)
		if !env.gatewayAPI() {
			errs = append(errs, field.Invalid(ep, e.Name, "the body-based router is an ext_proc filter on a Gateway of the endpoint's own: needs api: gateway"))
		}
		errs = append(errs, check.Name(fieldpath.New("endpoints").Index(i).Child("name"), e.Name)...)
		// The route's problems with the gateway are the front family's;
		// the filter's policy attachment needs the Gateway beside it.
		gw, _ := gateways.lookup(fieldpath.At(ep), e.Gateway)
		if gw.Name != "" && gw.Namespace != env.ns {
			errs = append(errs, field.Invalid(ep.Child("gateway"), e.Gateway,
				fmt.Sprintf("the gateway is in namespace %q: the router's filter attaches to a Gateway in the endpoint's namespace, %q", gw.Namespace, env.ns)))
		}
		if prev := slices.IndexFunc(env.app.Endpoints[:i], func(o Endpoint) bool { return o.Gateway == e.Gateway }); prev >= 0 && e.Gateway != "" {
			// Each router's filter runs on every request the gateway takes.
			errs = append(errs, field.Invalid(ep.Child("gateway"), e.Gateway, fmt.Sprintf("already carries the router of endpoints[%d]: one endpoint a gateway, whose models it lists", prev)))
		}
		f.gateways = append(f.gateways, gw)
		if len(e.Models) == 0 {
			errs = append(errs, field.Required(ep.Child("models"), "the App's models the endpoint serves"))
		}
		for j, p := range e.Paths {
			if !strings.HasPrefix(p, "/") {
				errs = append(errs, field.Invalid(ep.Child("paths").Index(j), p, "an absolute path: /v1/chat/completions"))
			}
		}
		if e.Router.Replicas != nil && *e.Router.Replicas < 1 {
			errs = append(errs, field.Invalid(ep.Child("router", "replicas"), *e.Router.Replicas, "at least 1: without a router no request is routed"))
		}
		for j, name := range e.Models {
			errs = append(errs, served.claimModel(env.app, nil, ep.Child("models").Index(j), name, "")...)
		}
		errs = append(errs, priorityErrors(env, ep, e)...)
	}
	return f, errs
}

func (f *endpointFamily) objects(add adder) {
	for i, e := range f.env.app.Endpoints {
		for _, k := range []kind{kindAllowPolicy, kindService, kindDeployment, kindEnvoyFilter} {
			add(k, f.env.ns, e.Name+"-router", f.refs.add(endpointRef{int32(i), 0, k}))
		}
		if e.Priority != nil {
			for j, o := range e.Priority.Objectives {
				add(kindObjective, f.env.ns, o.Name, f.refs.add(endpointRef{int32(i), int32(j), kindObjective}))
			}
		}
	}
}

func (f *endpointFamily) from(k kind, ref int32) *field.Path {
	r := f.refs[ref]
	if k == kindObjective {
		return endpointPath(int(r.endpoint)).Child("priority", "objectives").Index(int(r.objective)).Child("name")
	}
	return endpointPath(int(r.endpoint)).Child("name")
}

// objective is a priority class as the InferenceObjective of the
// endpoint's one pool.
func (f *endpointFamily) objective(e Endpoint, j int32) render.Object {
	o := e.Priority.Objectives[j]
	priority := o.Priority
	return &inferencev1alpha2.InferenceObjective{
		TypeMeta: metav1.TypeMeta{APIVersion: inferencev1alpha2.GroupVersion.String(), Kind: "InferenceObjective"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: f.env.ns,
			Labels: map[string]string{labels.App: e.Name + "-router", labels.ManagedBy: labels.Manager}},
		Spec: inferencev1alpha2.InferenceObjectiveSpec{Priority: &priority,
			PoolRef: inferencev1alpha2.PoolObjectReference{Group: "inference.networking.k8s.io", Kind: "InferencePool",
				Name: inferencev1alpha2.ObjectName(endpointPools(f.env.app, e)[0])}},
	}
}

func (f *endpointFamily) build(k kind, ref int32) (render.Object, error) {
	e := f.env.app.Endpoints[f.refs[ref].endpoint]
	if k == kindObjective {
		return f.objective(e, f.refs[ref].objective), nil
	}
	meta := metav1.ObjectMeta{Name: e.Name + "-router", Namespace: f.env.ns,
		Labels: map[string]string{labels.App: e.Name + "-router", labels.ManagedBy: labels.Manager}}
	switch k {
	case kindService:
		return &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta,
			Spec: corev1.ServiceSpec{Selector: map[string]string{labels.App: meta.Name},
				Ports: []corev1.ServicePort{{Name: "grpc", Port: routerPort, TargetPort: intstr.FromInt32(routerPort), AppProtocol: ptr("grpc")}}}}, nil
	case kindDeployment:
		return f.routerDeployment(e, meta), nil
	case kindAllowPolicy:
		// Only the gateway calls the router.
		return security.AuthorizationPolicy(security.Policy{Name: meta.Name, Namespace: f.env.ns, Labels: meta.Labels,
			Selector: map[string]string{labels.App: meta.Name},
			Rules: []security.Rule{{From: []security.Caller{{ServiceAccount: f.env.gatewayPods(f.gateways[f.refs[ref].endpoint]).serviceAccount}},
				Ports: []uint32{routerPort}}}})
	}
	return f.envoyFilter(ref, e, meta)
}

// routerDeployment runs the body-based router: in the mesh, serving
// plaintext gRPC to its proxy (the mesh encrypts and authenticates), under
// the secure pod defaults, configured to copy the body's "model" into
// ModelHeader and nothing else.
func (f *endpointFamily) routerDeployment(e Endpoint, meta metav1.ObjectMeta) *appsv1.Deployment {
	replicas := int32(2)
	if e.Router.Replicas != nil {
		replicas = *e.Router.Replicas
	}
	pod := map[string]string{labels.App: meta.Name}
	no, yes := false, true
	return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{labels.App: meta.Name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: pod},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name:  "router",
						Image: cmp.Or(e.Router.Image, RouterImage),
						Args: []string{"--streaming", "--secure-serving=false", "--plugin",
							`body-field-to-header:model-name:{"fieldName":"model","headerName":"` + ModelHeader + `"}`},
						Ports:          []corev1.ContainerPort{{Name: "grpc", ContainerPort: routerPort}, {Name: "health", ContainerPort: routerHealthPort}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: routerHealthPort}}},
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
					}},
				},
			},
		}}
}

// envoyFilter puts the router on the endpoint's Gateway: an ext_proc filter
// before Envoy's router filter, which sends it each request's headers and
// body and routes on the header it sets (failing closed: a request the
// router could not read is not routed by guesswork), and a local reply for
// "no route" that answers as the OpenAI API does for an unknown model.
func (f *endpointFamily) envoyFilter(ref int32, e Endpoint, meta metav1.ObjectMeta) (render.Object, error) {
	cluster := fmt.Sprintf("outbound|%d||%s", routerPort, names.ServiceHost(meta.Name, f.env.ns))
	extProc, err := structpb.NewStruct(map[string]any{
		"name": "envoy.filters.http.ext_proc.bbr",
		"typed_config": map[string]any{
			"@type":               "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
			"failure_mode_allow":  false,
			"allow_mode_override": true,
			"processing_mode": map[string]any{
				"request_header_mode": "SEND", "request_body_mode": "FULL_DUPLEX_STREAMED", "request_trailer_mode": "SEND",
				"response_header_mode": "SKIP", "response_body_mode": "NONE", "response_trailer_mode": "SKIP",
			},
			"grpc_service": map[string]any{"envoy_grpc": map[string]any{"cluster_name": cluster}},
		},
	})
	if err != nil {
		return nil, err
	}
	notFound, err := structpb.NewStruct(map[string]any{
		"typed_config": map[string]any{
			"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
			"local_reply_config": map[string]any{"mappers": []any{map[string]any{
				"filter": map[string]any{"response_flag_filter": map[string]any{"flags": []any{"NR"}}},
				"body_format_override": map[string]any{
					"json_format": map[string]any{"error": map[string]any{
						"message": "The model '%REQ(" + ModelHeader + ")%' does not exist or is not served at %REQ(:PATH)%",
						"type":    "invalid_request_error", "param": "model", "code": "model_not_found",
					}},
					"content_type": "application/json",
				},
			}}},
		},
	})
	if err != nil {
		return nil, err
	}
	// First of all, before the token is read: no client sets what the
	// router, the token or the endpoint picker decide.
	removals := make([]any, len(reservedHeaders))
	for i, h := range reservedHeaders {
		removals[i] = map[string]any{"remove": h}
	}
	strip, err := structpb.NewStruct(map[string]any{
		"name": "envoy.filters.http.header_mutation.endpoint",
		"typed_config": map[string]any{
			"@type":     "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
			"mutations": map[string]any{"request_mutations": removals},
		},
	})
	if err != nil {
		return nil, err
	}
	hcm := &istioapinet.EnvoyFilter_ListenerMatch_FilterMatch{Name: "envoy.filters.network.http_connection_manager"}
	onGateway := func(sub string) *istioapinet.EnvoyFilter_EnvoyConfigObjectMatch {
		fm := &istioapinet.EnvoyFilter_ListenerMatch_FilterMatch{Name: hcm.Name}
		if sub != "" {
			fm.SubFilter = &istioapinet.EnvoyFilter_ListenerMatch_SubFilterMatch{Name: sub}
		}
		return &istioapinet.EnvoyFilter_EnvoyConfigObjectMatch{Context: istioapinet.EnvoyFilter_GATEWAY,
			ObjectTypes: &istioapinet.EnvoyFilter_EnvoyConfigObjectMatch_Listener{Listener: &istioapinet.EnvoyFilter_ListenerMatch{
				FilterChain: &istioapinet.EnvoyFilter_ListenerMatch_FilterChainMatch{Filter: fm}}}}
	}
	ef := &networkingv1alpha3.EnvoyFilter{TypeMeta: metav1.TypeMeta{APIVersion: "networking.istio.io/v1alpha3", Kind: "EnvoyFilter"}, ObjectMeta: meta}
	ef.Spec.TargetRefs = []*istiotype.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: f.gateways[f.refs[ref].endpoint].Name}}
	// After the filters of priority 0, so that the router filter it is
	// inserted before is in its final place (Istio's IST0151).
	ef.Spec.Priority = 10
	ef.Spec.ConfigPatches = []*istioapinet.EnvoyFilter_EnvoyConfigObjectPatch{
		{ApplyTo: istioapinet.EnvoyFilter_HTTP_FILTER, Match: onGateway(""),
			Patch: &istioapinet.EnvoyFilter_Patch{Operation: istioapinet.EnvoyFilter_Patch_INSERT_FIRST, Value: strip}},
		{ApplyTo: istioapinet.EnvoyFilter_HTTP_FILTER, Match: onGateway("envoy.filters.http.router"),
			Patch: &istioapinet.EnvoyFilter_Patch{Operation: istioapinet.EnvoyFilter_Patch_INSERT_BEFORE, Value: extProc}},
		{ApplyTo: istioapinet.EnvoyFilter_NETWORK_FILTER, Match: onGateway(""),
			Patch: &istioapinet.EnvoyFilter_Patch{Operation: istioapinet.EnvoyFilter_Patch_MERGE, Value: notFound}},
	}
	return ef, nil
}

func ptr[T any](v T) *T { return &v }
