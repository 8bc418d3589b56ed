package conformance

import (
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/security"
)

// The security menus (issue 13): identities, access rules, tokens, default
// deny and Sidecar scoping, with the mistakes a user could make among them:
// unknown service accounts, ports and paths the model does not serve,
// lower-case methods, request principals without a token, a gateway left
// out, a gateway that strips the token the model checks.

// fuzzJWKS is an inline key set of one public RSA key.
const fuzzJWKS = `{"keys":[{"kty":"RSA","e":"AQAB","n":"xhjSWcp7Jbhy0RVpVD7zRqOq0Sxj_GiBqPjRZ8V-0VRk3Q9wy3zqWQTmDUgvrGO9N0S5Kyi4V7u7FOTn9tHDWEXJTkI6qXnK8VIZ8ZzdmOYQ-s1zTvdNF6h6nUNQ3s4yYLaD9mJ-mZlSO8wTfC1nuFeljbcgH4Y6n8cX6Ik9S3ipSQ8M3rJrwBXX5zNVRS0rxBuahPnYv7SXr9m5mTKHg3qNLqjJfTjkKmbfXWd6m_J4QpYi7cXY7-iVZpfyBrDbUhK8EsMdh6Qq7U8AwJo8d6YvnRmDWfXFcH4SBfqZtQOa5v4n0qGZg2Om1pb3IujSK43wfXJ8d-NjlDrTymHlQ"}]}`

var (
	fuzzIssuers = []security.JWT{ // the mistakes last
		{Issuer: "https://auth.example.com", JWKSURI: "https://auth.example.com/jwks.json"},
		{Issuer: "https://auth.example.com", JWKSURI: "https://auth.example.com/jwks.json", ForwardOriginalToken: true},
		{Issuer: "inline", JWKS: fuzzJWKS, Audiences: []string{"models"}, ClaimHeaders: []security.ClaimHeader{{Claim: "sub", Header: "x-user"}}},
		{Issuer: "https://auth.example.com"},
		{Issuer: "x", JWKSURI: "ftp://keys.example.com/k"},
		{Issuer: "x", JWKS: `{"keys":[]}`},
		{Issuer: "x", JWKS: `{"keys":[{"kty":"RSA","e":"AQAB","n":"x"}]}`}, // n is not base64url
		{Issuer: "h", JWKSURI: "https://h.example.com/k", FromHeaders: []security.TokenHeader{{Name: "x-token"}}, FromParams: []string{"token"}},
	}
	fuzzCallers = []security.Caller{
		{ServiceAccount: "web/frontend"}, {ServiceAccount: "istio-system/istio-ingressgateway-service-account"},
		{ServiceAccount: "batch"}, {ServiceAccount: "ranker"}, {ServiceAccount: "a/b/c"}, {Namespace: "web"}, {Namespace: "istio-system"},
		{Principal: "cluster.local/ns/web/sa/frontend"}, {Principal: "cluster.local/ns/web/*"}, {Principal: "*/sa/istio-ingressgateway-service-account"},
		{Principal: "spiffe://cluster.local/ns/web/sa/frontend"}, {Principal: "web/frontend"}, {RequestPrincipal: "*"},
		{RequestPrincipal: "https://auth.example.com/alice"}, {}, {ServiceAccount: "web/frontend", Namespace: "web"},
	}
)

func fuzzRule(f *fuzzBytes) security.Rule {
	r := security.Rule{}
	for n := pick(f, 0, 1, 2); n > 0; n-- {
		r.From = append(r.From, pick(f, fuzzCallers...))
	}
	r.Methods = pick(f, nil, []string{"POST"}, []string{"GET", "POST"}, []string{"post"}, []string{"FETCH"}, []string{"GET"})
	r.Paths = pick(f, nil, []string{"/v1/models/*"}, []string{"/v2/*"}, []string{"*:predict"}, []string{"/v1/models/{*}/versions/{**}"},
		[]string{"/{**}/x/{*}"}, []string{"v1/models"}, []string{"/v1/models/ranker:predict", "/v1/models/ranker:predict"}, []string{"/metrics"})
	r.Ports = pick(f, nil, []uint32{8501}, []uint32{8500}, []uint32{8000, 8001}, []uint32{9000}, []uint32{0})
	r.Hosts = pick(f, nil, []string{"models.example.com"}, []string{"*.example.com"})
	return r
}

// securityMutation is the security menus' mutation.
func securityMutation(a *mesh.App, f *fuzzBytes) {
	switch f.next() % 6 {
	case 0:
		a.Namespace.DefaultDeny = pick(f, true, false)
		a.Namespace.ScopeSidecars = pick(f, true, false)
		a.Namespace.ServiceAccounts = pick(f, nil, []string{"batch"}, []string{"Bad_Name"})
	case 1:
		m := someModel(a, f)
		m.Identity = pick(f, nil, &security.Identity{}, &security.Identity{Name: "shared-sa"}, &security.Identity{Name: "Bad_Name"},
			&security.Identity{AWSRoleARN: "arn:aws:iam::123456789012:role/reader"}, &security.Identity{AWSRoleARN: "arn:aws:iam::12:role/x"},
			&security.Identity{GCPServiceAccount: "reader@project.iam.gserviceaccount.com"},
			&security.Identity{AzureClientID: "00000000-0000-0000-0000-000000000001"}, &security.Identity{Namespace: "other"})
		m.ServiceAccountName = pick(f, m.ServiceAccountName, "", "ranker", "other")
	case 2:
		m := someModel(a, f)
		acc := &mesh.Access{}
		for n := pick(f, 1, 2, 0); n > 0; n-- {
			acc.Allow = append(acc.Allow, fuzzRule(f))
		}
		m.Access = pick(f, acc, nil)
	case 3:
		m := someModel(a, f)
		if m.Access == nil {
			m.Access = &mesh.Access{}
		}
		acc := *m.Access
		acc.JWT = pick(f, nil, fuzzIssuers[:1], fuzzIssuers[2:3], fuzzIssuers[3:4], fuzzIssuers[4:5], fuzzIssuers[5:6], fuzzIssuers[6:7], []security.JWT{fuzzIssuers[0], fuzzIssuers[0]})
		acc.RequireJWT = pick(f, true, false)
		m.Access = &acc
	case 4:
		g := gateway(a, f)
		a.GatewayJWT = pick(f, nil, []mesh.GatewayJWT{{Gateway: g.Name, JWT: []security.JWT{pick(f, fuzzIssuers...)}}},
			[]mesh.GatewayJWT{{Gateway: "nowhere", JWT: fuzzIssuers[:1]}}, []mesh.GatewayJWT{{Gateway: g.Name}})
		m := someModel(a, f)
		if m.Expose != nil {
			x := *m.Expose
			x.RequireJWT = pick(f, true, false)
			m.Expose = &x
		}
	case 5:
		m := someModel(a, f)
		other := a.Models[f.next()%len(a.Models)].Name
		m.Calls = pick(f, nil, []string{other}, []string{"nowhere"})
	}
}
