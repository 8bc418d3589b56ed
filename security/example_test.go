package security_test

import (
	"fmt"

	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
)

// Only the frontend of namespace web may POST to the ranker's pods.
func ExampleAuthorizationPolicy() {
	ap, err := security.AuthorizationPolicy(security.Policy{
		Name: "ranker", Namespace: "serving",
		Selector: map[string]string{"app": "ranker"},
		Rules: []security.Rule{{
			From:    []security.Caller{{ServiceAccount: "web/frontend"}},
			Methods: []string{"POST"},
		}},
	})
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(ap)
	fmt.Print(string(b))
	// Output:
	// apiVersion: security.istio.io/v1
	// kind: AuthorizationPolicy
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: ranker
	//   namespace: serving
	// spec:
	//   rules:
	//   - from:
	//     - source:
	//         serviceAccounts:
	//         - web/frontend
	//     to:
	//     - operation:
	//         methods:
	//         - POST
	//   selector:
	//     matchLabels:
	//       app: ranker
}

// Tokens of one issuer validated on the default ingress gateway, and
// required for one host.
func ExampleTokenRequired() {
	ra, err := security.RequestAuthentication(security.Authentication{
		Name: "public", Namespace: "istio-system",
		Selector: map[string]string{"istio": "ingressgateway"},
		JWT:      []security.JWT{{Issuer: "https://auth.example.com", JWKSURI: "https://auth.example.com/jwks.json"}},
	})
	if err != nil {
		panic(err)
	}
	deny, err := security.TokenRequired(security.TokenPolicy{
		Name: "public-require-jwt", Namespace: "istio-system",
		Selector: map[string]string{"istio": "ingressgateway"},
		Hosts:    []string{"models.example.com"}, Ports: []uint32{8443},
	})
	if err != nil {
		panic(err)
	}
	b, _ := render.YAML([]render.Object{ra, deny})
	fmt.Print(string(b))
	// Output:
	// apiVersion: security.istio.io/v1
	// kind: RequestAuthentication
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: public
	//   namespace: istio-system
	// spec:
	//   jwtRules:
	//   - issuer: https://auth.example.com
	//     jwksUri: https://auth.example.com/jwks.json
	//   selector:
	//     matchLabels:
	//       istio: ingressgateway
	// ---
	// apiVersion: security.istio.io/v1
	// kind: AuthorizationPolicy
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: public-require-jwt
	//   namespace: istio-system
	// spec:
	//   action: DENY
	//   rules:
	//   - from:
	//     - source:
	//         notRequestPrincipals:
	//         - "*"
	//     to:
	//     - operation:
	//         hosts:
	//         - models.example.com
	//         - models.example.com:*
	//         ports:
	//         - "8443"
	//   selector:
	//     matchLabels:
	//       istio: ingressgateway
}

// A model server's identity on EKS: its pods read S3 through an IAM role.
func ExampleServiceAccount() {
	sa, err := security.ServiceAccount(security.Identity{
		Name: "ranker", Namespace: "serving",
		AWSRoleARN: "arn:aws:iam::123456789012:role/model-reader",
	})
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(sa)
	fmt.Print(string(b))
	// Output:
	// apiVersion: v1
	// automountServiceAccountToken: false
	// kind: ServiceAccount
	// metadata:
	//   annotations:
	//     eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/model-reader
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: ranker
	//   namespace: serving
}

// A model's proxies limited to the control plane and the model store.
func ExampleSidecar() {
	sc, err := security.Sidecar(security.Scope{
		Name: "ranker", Namespace: "serving",
		Selector: map[string]string{"app": "ranker"},
		Hosts:    []string{security.ControlPlane, "./s3.eu-west-1.amazonaws.com"},
	})
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(sc)
	fmt.Print(string(b))
	// Output:
	// apiVersion: networking.istio.io/v1
	// kind: Sidecar
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: ranker
	//   namespace: serving
	// spec:
	//   egress:
	//   - hosts:
	//     - ./s3.eu-west-1.amazonaws.com
	//     - istio-system/*
	//   outboundTrafficPolicy:
	//     mode: REGISTRY_ONLY
	//   workloadSelector:
	//     labels:
	//       app: ranker
}
