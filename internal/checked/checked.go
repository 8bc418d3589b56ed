// Package checked lets mesh build objects from leaf-package specs that it
// has validated once, and build them into reused storage, without serving
// and routing exporting the means: validate-once and build-into are
// plumbing of mesh's streaming, not API a user should depend on.
//
// serving and routing set the functions in their init; mesh calls them with
// a pointer to its own copy of the spec, which the returned value keeps (no
// copy, no allocation) and which must not change afterwards.
package checked

import (
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	inferencev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Model is a serving.Model that passed validation.
type Model interface {
	// Service is the model's Service, as serving.Service builds it.
	Service() *corev1.Service
	// VersionService is the i-th version's Service, as
	// serving.VersionServices builds it.
	VersionService(i int) *corev1.Service
	// InferencePool is a version's pool on port, as serving.InferencePool
	// builds it, with a validated *serving.EndpointPicker.
	InferencePool(version string, port int32, picker any) *inferencev1.InferencePool
	// Deployment builds the Deployment of the i-th version, as
	// serving.Deployments does, into d, which is nil (a new Deployment) or
	// the result of an earlier call whose storage it reuses.
	Deployment(i int, d *appsv1.Deployment) *appsv1.Deployment
	// PodLabel is the value of one label of a version's pods, as
	// serving.PodLabels holds it, without building the map.
	PodLabel(version, key string) (string, bool)
	// NumPorts and Port are the ports of the model's runtime, its default
	// applied (one at a time: no slice to allocate per model).
	NumPorts() int
	Port(i int) Port
	// Paths are the runtime's path prefixes (serving.Runtime.Paths).
	Paths() []string
	// Autoscaled and Budgeted report whether the i-th version has a
	// HorizontalPodAutoscaler and a PodDisruptionBudget, which Autoscaler
	// and DisruptionBudget build.
	Autoscaled(i int) bool
	Budgeted(i int) bool
	Autoscaler(i int) *autoscalingv2.HorizontalPodAutoscaler
	DisruptionBudget(i int) *policyv1.PodDisruptionBudget
}

// Port is a runtime port as mesh routes it.
type Port struct {
	Number    int32
	Protocol  string // serving's Protocol: "HTTP", "HTTP2", "GRPC" or "TCP"
	Auxiliary bool
}

// Route is a routing.Spec that passed validation.
type Route interface {
	VirtualService() *networkingv1.VirtualService
	DestinationRule() *networkingv1.DestinationRule
	// GatewayRoutes are its Gateway API routes, as routing.GatewayRoutes
	// builds them (once ValidateGatewayAPI passed).
	GatewayRoutes() []*gatewayv1.HTTPRoute
}

// Set by serving and routing.
var (
	// NewModel validates *serving.Model.
	NewModel func(model any) (Model, error)
	// NewRoute validates *routing.Spec.
	NewRoute func(spec any) (Route, error)
)

// Security builds the objects of security's specs that mesh has validated
// (each as security's exported builder does, without validating again),
// from a pointer to the spec: *security.Identity, *security.Policy, and so
// on. Set by security.
var Security struct {
	ServiceAccount        func(spec any) *corev1.ServiceAccount
	AuthorizationPolicy   func(spec any) *securityv1.AuthorizationPolicy
	TokenRequired         func(spec any) *securityv1.AuthorizationPolicy
	RequestAuthentication func(spec any) *securityv1.RequestAuthentication
	PeerAuthentication    func(spec any) *securityv1.PeerAuthentication
	Sidecar               func(spec any) *networkingv1.Sidecar
}
