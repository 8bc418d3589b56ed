// Package order is mlmesh's make-before-break order of kinds, shared by
// render (which sorts, writes and applies by it) and mesh (which lists its
// objects in it without sorting them twice).
package order

import (
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ranks is the make-before-break order: nothing is referenced before it
// exists. It is the document order of every rendered stream and the apply
// order, and so part of every user's golden files.
//
// DO NOT CHANGE the order of the existing entries: doing so changes output
// bytes for every user. New kinds may only be added where they do not move
// an existing kind relative to another.
var ranks = map[schema.GroupKind]int{
	{Group: "", Kind: "Namespace"}: 10,
	// Mesh security policy, before any workload it protects is created.
	{Group: "security.istio.io", Kind: "PeerAuthentication"}:    20,
	{Group: "security.istio.io", Kind: "RequestAuthentication"}: 21,
	{Group: "security.istio.io", Kind: "AuthorizationPolicy"}:   22,
	// (An AuthorizationPolicy that denies ranks DenyingPolicy, 23.)
	{Group: "networking.istio.io", Kind: "ServiceEntry"}: 30,
	{Group: "", Kind: "ServiceAccount"}:                  35,
	// (A Gateway API Gateway of class istio-waypoint ranks Waypoint, 38:
	// before the Services that name it.)
	{Group: "", Kind: "Service"}: 40,
	// What a pod's proxy receives, before the pods start with it.
	{Group: "networking.istio.io", Kind: "Sidecar"}: 45,
	{Group: "apps", Kind: "Deployment"}:             50,
	// What watches a Deployment's pods, once they exist.
	{Group: "policy", Kind: "PodDisruptionBudget"}:          52,
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}: 54,
	// A version's pods as a backend, before the routes that send to it.
	{Group: "inference.networking.k8s.io", Kind: "InferencePool"}: 56,
	// How a pool's endpoint picker rewrites the model of a request (an
	// adapter's canary between revisions), once the pool exists.
	{Group: "inference.networking.x-k8s.io", Kind: "InferenceModelRewrite"}: 57,
	// A pool's priority classes (an LLM endpoint's).
	{Group: "inference.networking.x-k8s.io", Kind: "InferenceObjective"}: 58,
	{Group: "networking.istio.io", Kind: "DestinationRule"}:              60,
	{Group: "networking.istio.io", Kind: "Gateway"}:                      70,
	{Group: "gateway.networking.k8s.io", Kind: "Gateway"}:                72,
	// A filter on a Gateway (an LLM endpoint's body router), before the
	// routes that match what it writes.
	{Group: "networking.istio.io", Kind: "EnvoyFilter"}:     76,
	{Group: "networking.istio.io", Kind: "VirtualService"}:  80,
	{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}: 82,
	{Group: "gateway.networking.k8s.io", Kind: "GRPCRoute"}: 84,
}

// DenyingPolicy is the rank of an AuthorizationPolicy that denies (action
// DENY or CUSTOM, or ALLOW with no rules, which allows nothing): after the
// policies that allow, so that a namespace's default deny never takes
// effect before the policies that let traffic through, and is removed
// before them.
const DenyingPolicy = 23

// Waypoint is the rank of a Gateway API Gateway of class istio-waypoint,
// an ambient namespace's waypoint: before the Services whose
// istio.io/use-waypoint label names it, since traffic to such a Service
// waits for its waypoint, and removed after them.
const Waypoint = 38

// WaypointClass is the GatewayClass of Istio's waypoints.
const WaypointClass = "istio-waypoint"

// GatewayRank is the rank of a Gateway API Gateway of the given class.
func GatewayRank(class string) int {
	if class == WaypointClass {
		return Waypoint
	}
	return ranks[GatewayAPIGateway]
}

// GatewayAPIGateway is the Gateway API's Gateway kind, whose rank depends
// on its class (GatewayRank).
var GatewayAPIGateway = schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "Gateway"}

// PolicyRank is the rank of an AuthorizationPolicy of the given action
// ("" is ALLOW) and number of rules.
func PolicyRank(action string, rules int) int {
	if action == "DENY" || action == "CUSTOM" || (action == "" || action == "ALLOW") && rules == 0 {
		return DenyingPolicy
	}
	return ranks[AuthorizationPolicy]
}

// AuthorizationPolicy is Istio's AuthorizationPolicy kind, whose rank
// depends on the policy (PolicyRank).
var AuthorizationPolicy = schema.GroupKind{Group: "security.istio.io", Kind: "AuthorizationPolicy"}

// IsRoute reports whether objects of a kind route traffic to workloads:
// Istio's VirtualService and the Gateway API's HTTPRoute and GRPCRoute,
// last in the apply order. Applying one is what moves traffic, so a
// transition waits for new workloads before the first (apply), and a
// rollout knows where a model's traffic goes by them (rollout).
func IsRoute(gk schema.GroupKind) bool {
	switch gk {
	case schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"},
		schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"},
		schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "GRPCRoute"}:
		return true
	}
	return false
}

// Unknown is the rank of kinds mlmesh does not know: after all known ones,
// ordered among themselves by group and kind.
const Unknown = 1000

// Rank returns the position of a kind in the apply order; a lower rank is
// applied first and rendered first.
func Rank(gk schema.GroupKind) int {
	if r, ok := ranks[gk]; ok {
		return r
	}
	return Unknown
}

// Built are the namespaced kinds mesh builds, in apply order: what
// apply.Managed lists by default. A family that builds a new kind adds it
// here.
var Built = []schema.GroupVersionKind{
	{Group: "security.istio.io", Version: "v1", Kind: "PeerAuthentication"},
	{Group: "security.istio.io", Version: "v1", Kind: "RequestAuthentication"},
	{Group: "security.istio.io", Version: "v1", Kind: "AuthorizationPolicy"},
	{Group: "networking.istio.io", Version: "v1", Kind: "ServiceEntry"},
	{Group: "", Version: "v1", Kind: "ServiceAccount"},
	{Group: "", Version: "v1", Kind: "Service"},
	{Group: "networking.istio.io", Version: "v1", Kind: "Sidecar"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"},
	{Group: "inference.networking.k8s.io", Version: "v1", Kind: "InferencePool"},
	{Group: "inference.networking.x-k8s.io", Version: "v1alpha2", Kind: "InferenceModelRewrite"},
	{Group: "inference.networking.x-k8s.io", Version: "v1alpha2", Kind: "InferenceObjective"},
	{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"},
	{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"},
	{Group: "networking.istio.io", Version: "v1alpha3", Kind: "EnvoyFilter"},
	{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "GRPCRoute"},
}

// Key is an object's place in the order: its rank, then, for kinds of no
// rank, its group and kind, then its namespace and name.
type Key struct {
	Rank      int
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// Object is an object with a kind and metadata, as render.Object is.
type Object interface {
	metav1.Object
	runtime.Object
}

// KeyOf returns an object's key. Its kind must be set.
func KeyOf(o Object) Key {
	gvk := o.GetObjectKind().GroupVersionKind()
	k := Key{Rank: Rank(gvk.GroupKind()), Namespace: o.GetNamespace(), Name: o.GetName()}
	switch gvk.GroupKind() {
	case AuthorizationPolicy:
		k.Rank = policyRank(o)
	case GatewayAPIGateway:
		k.Rank = gatewayRank(o)
	}
	if k.Rank == Unknown {
		k.Group, k.Kind = gvk.Group, gvk.Kind
	}
	return k
}

// Less reports whether a goes before b.
func (a Key) Less(b Key) bool {
	switch {
	case a.Rank != b.Rank:
		return a.Rank < b.Rank
	case a.Group != b.Group:
		return a.Group < b.Group
	case a.Kind != b.Kind:
		return a.Kind < b.Kind
	case a.Namespace != b.Namespace:
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// gatewayRank is the rank of a Gateway API Gateway: a waypoint goes before
// the Services that use it (GatewayRank).
func gatewayRank(o Object) int {
	switch g := o.(type) {
	case *gatewayv1.Gateway:
		return GatewayRank(string(g.Spec.GatewayClassName))
	case *unstructured.Unstructured:
		class, _, _ := unstructured.NestedString(g.Object, "spec", "gatewayClassName")
		return GatewayRank(class)
	}
	return Rank(GatewayAPIGateway)
}

// policyRank is the rank of an AuthorizationPolicy: one that denies goes
// after those that allow (PolicyRank).
func policyRank(o Object) int {
	switch p := o.(type) {
	case *securityv1.AuthorizationPolicy:
		return PolicyRank(p.Spec.Action.String(), len(p.Spec.Rules))
	case *unstructured.Unstructured:
		action, _, _ := unstructured.NestedString(p.Object, "spec", "action")
		rules, _, _ := unstructured.NestedFieldNoCopy(p.Object, "spec", "rules")
		list, _ := rules.([]any)
		return PolicyRank(action, len(list))
	}
	return Rank(AuthorizationPolicy)
}
