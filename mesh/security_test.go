package mesh_test

import (
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/security"
	"github.com/mlmesh/mlmesh/serving"
)

const gatewaySA = "istio-system/istio-ingressgateway-service-account"

// secureApp is a model behind a default deny, exposed on a gateway that
// requires a token, callable by web/frontend and the gateway.
func secureApp() mesh.App {
	issuer := security.JWT{Issuer: "https://auth.example.com", JWKSURI: "https://auth.example.com/jwks.json"}
	return mesh.App{
		Namespace:  mesh.Namespace{Name: "ranking", MTLS: mesh.MTLSStrict, DefaultDeny: true, ScopeSidecars: true},
		Egress:     []egress.Spec{egress.S3("store", "", "eu-west-1")},
		Gateways:   []ingress.Spec{{Name: "gw", Servers: []ingress.Server{{Port: 80, Hosts: []string{"ranker.example.com"}}}}},
		GatewayJWT: []mesh.GatewayJWT{{Gateway: "gw", JWT: []security.JWT{issuer}}},
		Models: []mesh.Model{{
			Model:    serving.Model{Name: "ranker", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}}},
			Identity: &security.Identity{},
			Access: &mesh.Access{Allow: []security.Rule{
				{From: []security.Caller{{ServiceAccount: "web/frontend"}}, Methods: []string{"POST"}},
				{From: []security.Caller{{ServiceAccount: gatewaySA}}, Ports: []uint32{8501}, Paths: []string{"/v1/models/ranker:predict"}},
			}},
			Expose: &mesh.Expose{Gateway: "gw", Hosts: []string{"ranker.example.com"}, RequireJWT: true},
		}},
	}
}

func TestSecureAppObjects(t *testing.T) {
	objs, err := mesh.Build(secureApp())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetObjectKind().GroupVersionKind().Kind+" "+o.GetNamespace()+"/"+o.GetName())
	}
	want := []string{
		"Namespace /ranking",
		"PeerAuthentication ranking/default",
		"RequestAuthentication istio-system/ranking-gw",
		"AuthorizationPolicy ranking/ranker",
		"AuthorizationPolicy istio-system/ranking-gw-require-jwt",
		"AuthorizationPolicy ranking/default-deny",
		"ServiceEntry ranking/store",
		"ServiceAccount ranking/ranker",
		"Service ranking/ranker",
		"Sidecar ranking/ranker",
		"Deployment ranking/ranker-v1",
		"DestinationRule ranking/ranker",
		"Gateway ranking/gw",
		"VirtualService ranking/ranker",
		"VirtualService ranking/ranker-ingress",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// render.Sort agrees with the order mesh lists them in: the policies
	// that deny after the one that allows.
	sorted := append([]render.Object(nil), objs...)
	for i, j := 0, len(sorted)-1; i < j; i, j = i+1, j-1 {
		sorted[i], sorted[j] = sorted[j], sorted[i]
	}
	render.Sort(sorted)
	for i := range objs {
		if sorted[i] != objs[i] {
			t.Fatalf("render.Sort puts %s at %d, mesh %s", sorted[i].GetName(), i, objs[i].GetName())
		}
	}
}

// TestSecurityChecks: each problem is refused once, at the field written.
func TestSecurityChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(a *mesh.App)
		want   string
	}{
		{"default deny, model without access", func(a *mesh.App) { a.Models[0].Access = nil },
			`models[0].access: required: namespace.defaultDeny denies every request`},
		{"gateway not let in", func(a *mesh.App) { a.Models[0].Access.Allow = a.Models[0].Access.Allow[:1] },
			`models[0].access.allow: no rule lets in gateway "gw", which models[0].expose routes to the model: add {serviceAccount: "` + gatewaySA + `"}`},
		{"gateway let in on another port", func(a *mesh.App) { a.Models[0].Access.Allow[1].Ports = []uint32{8500} },
			`whose ports, if any, include 8501`},
		{"unknown service account of the namespace", func(a *mesh.App) {
			a.Models[0].Access.Allow[0].From = []security.Caller{{ServiceAccount: "batch"}}
		}, `models[0].access.allow[0].from[0].serviceAccount: service account "batch" of the App's namespace is not one a model runs as`},
		{"port not served", func(a *mesh.App) { a.Models[0].Access.Allow[0].Ports = []uint32{9000} },
			`models[0].access.allow[0].ports[0]: unsupported value`},
		{"path not served", func(a *mesh.App) { a.Models[0].Access.Allow[1].Paths = []string{"/v2/models/ranker/infer"} },
			`models[0].access.allow[1].paths[0]: invalid value "/v2/models/ranker/infer": a path the model's runtime serves`},
		{"GET on gRPC", func(a *mesh.App) {
			a.Models[0].Access.Allow[0].Ports, a.Models[0].Access.Allow[0].Methods = []uint32{8500}, []string{"GET"}
		}, `models[0].access.allow[0].methods: invalid value "[GET]": the rule's ports speak gRPC, whose calls are all POST`},
		{"request principal without a token", func(a *mesh.App) {
			a.Models[0].Access.Allow[0].From = []security.Caller{{RequestPrincipal: "*"}}
		}, `models[0].access.allow[0].from[0].requestPrincipal: invalid value "*": access.jwt is empty`},
		{"token required without issuers", func(a *mesh.App) { a.Models[0].Access.RequireJWT = true },
			`models[0].access.jwt: required: requireJWT is set`},
		{"gateway requirement without issuers", func(a *mesh.App) { a.GatewayJWT = nil },
			`gatewayJWT: required: models[0].expose.requireJWT is set`},
		{"gateway removes the token the model checks", func(a *mesh.App) {
			a.Models[0].Access.JWT = a.GatewayJWT[0].JWT
		}, `gatewayJWT[0].jwt[0].forwardOriginalToken: invalid value "false": models[0].access.jwt validates tokens of "https://auth.example.com" again`},
		{"identity in another namespace", func(a *mesh.App) { a.Models[0].Identity.Namespace = "other" },
			`models[0].identity.namespace: invalid value "other": empty or the App's namespace "ranking"`},
		{"bad role", func(a *mesh.App) { a.Models[0].Identity.AWSRoleARN = "arn:aws:iam::12:role/x" },
			`models[0].identity.awsRoleARN: invalid value "arn:aws:iam::12:role/x": an IAM role ARN`},
		{"two identities", func(a *mesh.App) { a.Models[0].ServiceAccountName = "other" },
			`models[0].serviceAccountName: invalid value "other": empty or the identity's name "ranker"`},
		{"lower-case method", func(a *mesh.App) { a.Models[0].Access.Allow[0].Methods = []string{"post"} },
			`models[0].access.allow[0].methods[0]: invalid value "post": an HTTP method in upper case ("POST")`},
		{"caller of two kinds", func(a *mesh.App) {
			a.Models[0].Access.Allow[0].From = []security.Caller{{ServiceAccount: "web/frontend", Namespace: "web"}}
		}, `models[0].access.allow[0].from[0]: invalid value "serviceAccount, namespace": exactly one of`},
		{"unknown call", func(a *mesh.App) { a.Models[0].Calls = []string{"embedder"} },
			`models[0].calls[0]: "embedder" not found`},
		{"reach without a namespace", func(a *mesh.App) { a.Models[0].Reaches = []string{"features.data.svc.cluster.local"} },
			`models[0].reaches[0]: invalid value "features.data.svc.cluster.local": "<namespace>/<host>"`},
		{"short egress host", func(a *mesh.App) { a.Egress[0].Hosts = append(a.Egress[0].Hosts, "models") },
			`egress[0].hosts[1]: invalid value "models": a fully qualified name: namespace.scopeSidecars`},
		{"no proxy to enforce", func(a *mesh.App) { a.Models[0].Sidecar = serving.SidecarSkip },
			`models[0].sidecar: invalid value "skip": the pods run without an Istio proxy`},
		{"bad model label, reported once", func(a *mesh.App) { a.Models[0].Labels = map[string]string{strings.Repeat("k", 64): "v"} },
			`models[0].labels[` + strings.Repeat("k", 64) + `]`},
		{"bad model name, reported once", func(a *mesh.App) { a.Models[0].Name = "Ranker" },
			`models[0].name: invalid value "Ranker"`},
		{"gateway without issuers", func(a *mesh.App) { a.GatewayJWT[0].JWT = nil },
			`gatewayJWT[0].jwt: required: at least one issuer`},
		{"front route around the token", func(a *mesh.App) {
			a.Gateways[0].Servers[0].Hosts = append(a.Gateways[0].Servers[0].Hosts, "front.example.com")
			a.Routes = []mesh.Route{{Name: "front", Gateway: "gw", Hosts: []string{"front.example.com"}, Rules: []routing.Rule{{Split: []routing.Destination{{Host: "ranker"}}}}}}
		}, `routes[0].hosts[0]: invalid value "front.example.com": routes to models[0], which requires a token on gateway "gw" for its own hosts only`},
		{"model store out of reach", func(a *mesh.App) { a.Egress = []egress.Spec{egress.GCS("gcs", "")} },
			`models[0].versions[0].modelURI: invalid value "s3://m/1": namespace.scopeSidecars lets the pods reach only the App's egress hosts, and none serves s3.amazonaws.com: add egress.S3`},
		{"policy name taken", func(a *mesh.App) {
			a.Models = append(a.Models, a.Models[0])
			m := &a.Models[1]
			m.Name, m.Expose, m.Identity = "default-deny", nil, nil
			m.Access = &mesh.Access{Allow: []security.Rule{{From: []security.Caller{{Namespace: "web"}}}}}
		}, `builds AuthorizationPolicy ranking/default-deny, which models[1].access.allow builds too`},
		{"spiffe scheme", func(a *mesh.App) {
			a.Models[0].Access.Allow[0].From = []security.Caller{{Principal: "spiffe://cluster.local/ns/web/sa/frontend"}}
		}, `models[0].access.allow[0].from[0].principal: invalid value "spiffe://cluster.local/ns/web/sa/frontend": without the spiffe:// scheme`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := secureApp()
			tc.break_(&a)
			refusedApp(t, a, tc.want, 1)
		})
	}
}

// TestGatewayAPIDialect: the same App in Gateway API objects, the gateway's
// identity and policies in their Gateway API form, and what the dialect
// cannot say refused at the field.
func TestGatewayAPIDialect(t *testing.T) {
	a := secureApp()
	a.API = mesh.GatewayAPI
	sa, ok := a.GatewayServiceAccount("gw")
	if !ok || sa != "ranking/gw-istio" {
		t.Fatalf("gateway service account %q", sa)
	}
	a.Models[0].Access.Allow[1].From[0].ServiceAccount = sa
	objs, err := mesh.Build(a)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetObjectKind().GroupVersionKind().Kind+" "+o.GetNamespace()+"/"+o.GetName())
	}
	for _, want := range []string{"Service ranking/ranker-v1", "Gateway ranking/gw", "HTTPRoute ranking/ranker-8500", "HTTPRoute ranking/ranker-8501",
		"HTTPRoute ranking/ranker-ingress", "RequestAuthentication ranking/ranking-gw", "AuthorizationPolicy ranking/ranking-gw-require-jwt"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("no %s in:\n%s", want, strings.Join(got, "\n"))
		}
	}
	for _, o := range objs {
		if k := o.GetObjectKind().GroupVersionKind().Kind; k == "VirtualService" || k == "DestinationRule" {
			t.Errorf("%s %s in the Gateway API dialect", k, o.GetName())
		}
	}
	// The Istio dialect's gateway identity is not the Gateway API's.
	a.Models[0].Access.Allow[1].From[0].ServiceAccount = gatewaySA
	if _, err := mesh.Build(a); err == nil || !strings.Contains(err.Error(), `add {serviceAccount: "ranking/gw-istio"}`) {
		t.Errorf("got %v", err)
	}
	a.Models[0].Access.Allow[1].From[0].ServiceAccount = sa
	a.Models[0].Traffic.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: "v1"}}, Retries: &routing.Retries{Attempts: 3}}}
	if _, err := mesh.Build(a); err == nil || !strings.Contains(err.Error(), "models[0].traffic.rules[0].retries: Forbidden") {
		t.Errorf("got %v", err)
	}
	a.Models[0].Traffic.Rules = nil
	a.API = "gamma"
	if _, err := mesh.Build(a); err == nil || !strings.Contains(err.Error(), `api: unsupported value "gamma"`) {
		t.Errorf("got %v", err)
	}
}
