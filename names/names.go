// Package names holds the names mlmesh gives the objects it builds. Every
// builder takes its names from here, and VERSIONING.md promises that they
// do not change within a major version, so code beside mlmesh (a
// dashboard, a policy, a GitOps overlay, a registry's UI) may compute them
// instead of listing the cluster:
//
//	names.Deployment("fraud", "v2")      // "fraud-v2"
//	names.ServiceHost("fraud", "ml")     // "fraud.ml.svc.cluster.local"
//
// A model's own objects (its Service, DestinationRule, VirtualService,
// AuthorizationPolicy, RequestAuthentication, ServiceAccount and Sidecar)
// are named after the model, and a namespace's PeerAuthentication is
// "default": those need no function.
package names

import "strconv"

// Deployment is the name of a version's Deployment, and of everything
// else that is the version's own: its Service in the Gateway API dialect,
// its PodDisruptionBudget, HorizontalPodAutoscaler and InferencePool, and
// the DestinationRule of its Service: <model>-<version>.
func Deployment(model, version string) string { return model + "-" + version }

// ServiceHost is the cluster-local name of a Service:
// <service>.<namespace>.svc.cluster.local.
func ServiceHost(service, namespace string) string {
	return service + "." + namespace + ".svc.cluster.local"
}

// Ingress is the name of the VirtualService (or HTTPRoute) that binds an
// exposed model to its gateway: <model>-ingress.
func Ingress(model string) string { return model + "-ingress" }

// RequireJWT is the name of the AuthorizationPolicy that refuses requests
// to a model without a valid token: <model>-require-jwt.
func RequireJWT(model string) string { return model + "-require-jwt" }

// DefaultDeny is the name of a namespace's AuthorizationPolicy that allows
// nothing (Namespace.DefaultDeny).
const DefaultDeny = "default-deny"

// WaypointAllow is the name of the policy of an ambient namespace with a
// default deny that lets its waypoint reach the pods.
const WaypointAllow = "default-deny-waypoint"

// Waypoint is the name of an ambient namespace's waypoint when
// Namespace.Waypoint is empty.
const Waypoint = "waypoint"

// GatewayPolicy is the name of a gateway's RequestAuthentication
// (App.GatewayJWT): <gateway namespace>-<gateway>. Its token requirement
// is GatewayPolicy + "-require-jwt".
func GatewayPolicy(namespace, gateway string) string {
	if namespace == "" {
		namespace = "default"
	}
	return namespace + "-" + gateway
}

// HTTPSRedirect is the name of a Gateway API gateway's HTTPRoute that
// redirects plain HTTP to HTTPS: <gateway>-https-redirect.
func HTTPSRedirect(gateway string) string { return gateway + "-https-redirect" }

// GatewayRoute is the name of the HTTPRoute of a route spec on one of its
// ports in the Gateway API dialect: the spec's name when it has one port
// or none, <name>-<port> when it has several.
func GatewayRoute(name string, port uint32, ports int) string {
	if ports <= 1 {
		return name
	}
	return name + "-" + strconv.FormatUint(uint64(port), 10)
}

// EgressDestinationRule is the name of the DestinationRule that originates
// TLS for the i-th host (counting from 0) of an egress of n hosts: the
// egress's name when it has one host, else <egress>-<i>.
func EgressDestinationRule(egress string, i, n int) string {
	if n <= 1 {
		return egress
	}
	return egress + "-" + strconv.Itoa(i)
}

// GatewayService is the Service, and service account, that Istio makes
// for a Gateway API Gateway of a class: <gateway>-<class>.
func GatewayService(gateway, class string) string { return gateway + "-" + class }
