// Package security synthesizes the Istio and Kubernetes objects that say who
// may call a model and what its pods may reach: AuthorizationPolicy (who may
// call, by service account, namespace, SPIFFE principal or token, and how),
// RequestAuthentication (JWT validation), PeerAuthentication (mTLS), the
// ServiceAccount that gives the pods their identity (with the annotations of
// cloud workload identity, so that they reach model stores without keys),
// and Sidecar, which limits what a proxy receives and may reach.
//
// The smallest use, only the frontend of namespace web may POST to the
// ranker's pods:
//
//	ap, err := security.AuthorizationPolicy(security.Policy{
//		Name: "ranker", Namespace: "serving",
//		Selector: map[string]string{"app": "ranker"},
//		Rules: []security.Rule{{
//			From:    []security.Caller{{ServiceAccount: "web/frontend"}},
//			Methods: []string{"POST"},
//		}},
//	})
//
// Istio allows a request to a workload that an ALLOW policy selects only if
// one of its rules matches; DENY policies are evaluated first. A Policy with
// no rules allows nothing (the namespace-wide default deny). TokenRequired
// is Istio's pattern for "a valid token is required": a DENY of requests
// without a request principal.
//
// Each builder validates its spec first and reports every problem at once,
// each with its field path, as a *ValidationError. mesh composes these per
// model and cross-checks them against the rest of an App (a caller's
// service account exists, a port is served, the gateway of an exposed model
// is let in).
package security
