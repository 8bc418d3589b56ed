package security

import (
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/mlmesh/mlmesh/internal/checked"
)

// mesh validates each spec once, with the rest of an App, and builds it
// through these.
func init() {
	checked.Security.ServiceAccount = func(s any) *corev1.ServiceAccount { return s.(*Identity).serviceAccount() }
	checked.Security.AuthorizationPolicy = func(s any) *securityv1.AuthorizationPolicy { return s.(*Policy).authorizationPolicy() }
	checked.Security.TokenRequired = func(s any) *securityv1.AuthorizationPolicy { return s.(*TokenPolicy).tokenRequired() }
	checked.Security.RequestAuthentication = func(s any) *securityv1.RequestAuthentication {
		return s.(*Authentication).requestAuthentication()
	}
	checked.Security.PeerAuthentication = func(s any) *securityv1.PeerAuthentication { return s.(*Peer).peerAuthentication() }
	checked.Security.Sidecar = func(s any) *networkingv1.Sidecar { return s.(*Scope).sidecar() }
}
