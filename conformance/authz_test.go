package conformance

import (
	"strings"
	"testing"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	jwtfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
)

// rankerPod is the secure-model example's pod as the cluster runs it, with
// an address, so that the config generator builds its inbound listener.
const rankerPod = `apiVersion: v1
kind: Pod
metadata:
  name: ranker-v1-0
  namespace: ranking
  labels:
    app: ranker
    version: v1
spec:
  serviceAccountName: ranker
  containers:
  - name: model
    ports:
    - containerPort: 8500
      name: grpc
    - containerPort: 8501
      name: http
  - name: istio-proxy
    image: docker.io/istio/proxyv2:1.31.1
status:
  podIP: 10.0.0.50
  podIPs:
  - ip: 10.0.0.50
  phase: Running
`

// securityListeners feeds a bundle (without the objects drop names) to
// Istio's config generator and returns the listeners of the ranker's
// sidecar and of the ingress gateway.
func securityListeners(t *testing.T, b *Bundle, drop ...string) (sidecar, gateway []*listener.Listener) {
	kube, istio, err := configStrings(b, drop)
	if err != nil {
		t.Fatal(err)
	}
	kube = append(kube, rankerPod, ingressGatewayKube)
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		KubernetesObjectString: strings.Join(kube, "\n---\n"),
		ConfigString:           strings.Join(istio, "\n---\n"),
	})
	labels := map[string]string{"app": "ranker", "version": "v1"}
	meta := &model.NodeMetadata{IstioVersion: "1.31.1", Namespace: "ranking", Labels: labels, ServiceAccount: "ranker"}
	p := s.SetupProxy(&model.Proxy{ConfigNamespace: "ranking", Metadata: meta, Labels: labels, IPAddresses: []string{"10.0.0.50"}})
	gmeta := &model.NodeMetadata{IstioVersion: "1.31.1", Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}}
	g := s.SetupProxy(&model.Proxy{
		Type: model.Router, ConfigNamespace: "istio-system", Metadata: gmeta,
		Labels: map[string]string{"istio": "ingressgateway"}, IPAddresses: []string{"10.0.0.20"},
	})
	return s.Listeners(p), s.Listeners(g)
}

func secureBundle(t *testing.T) *Bundle {
	bundles, err := ExampleBundles()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bundles {
		if b.Name == "secure-model" {
			return b
		}
	}
	t.Fatal("no secure-model example")
	return nil
}

const (
	frontend = "spiffe://cluster.local/ns/web/sa/frontend"
	gatewayP = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
	predict  = "/v1/models/ranker:predict"
)

// TestSecureModelAuthorization checks, in what Istio's config generator
// gives the ranker's sidecar, that exactly the intended callers get in: the
// frontend of web by POST, the ingress gateway by POST to predict on 8501,
// and no one else; and, on the gateway, that a token is required for the
// ranker's host (with or without a port in it) and validated by the JWT
// filter, and not for other hosts. The negative controls remove the
// policies one by one and see the decisions change.
func TestSecureModelAuthorization(t *testing.T) {
	b := secureBundle(t)
	sidecar, gateway := securityListeners(t, b)
	inbound, err := HTTPFilters(sidecar, "virtualInbound")
	if err != nil {
		t.Fatal(err)
	}
	if len(inbound["envoy.filters.http.rbac"]) == 0 {
		t.Fatal("the ranker's sidecar has no RBAC filter")
	}
	if len(inbound["envoy.filters.http.jwt_authn"]) != 0 {
		t.Error("the ranker's sidecar validates tokens; only the gateway should")
	}
	cases := []struct {
		req  Request
		want bool
	}{
		{Request{Peer: frontend, Method: "POST", Path: predict, Port: 8501}, true},
		{Request{Peer: frontend, Method: "POST", Path: "/tensorflow.serving.PredictionService/Predict", Port: 8500}, true},
		{Request{Peer: frontend, Method: "GET", Path: "/v1/models/ranker", Port: 8501}, false},
		{Request{Peer: "spiffe://cluster.local/ns/web/sa/backend", Method: "POST", Path: predict, Port: 8501}, false},
		{Request{Peer: "spiffe://cluster.local/ns/other/sa/frontend", Method: "POST", Path: predict, Port: 8501}, false},
		{Request{Method: "POST", Path: predict, Port: 8501}, false}, // plain text: no peer identity
		{Request{Peer: gatewayP, Method: "POST", Path: predict, Port: 8501}, true},
		{Request{Peer: gatewayP, Method: "POST", Path: predict, Port: 8500}, false},
		{Request{Peer: gatewayP, Method: "POST", Path: "/v1/models/ranker/metadata", Port: 8501}, false},
		{Request{Peer: gatewayP, Method: "GET", Path: predict, Port: 8501}, false},
	}
	for _, c := range cases {
		got, why, err := Authorized(inbound["envoy.filters.http.rbac"], c.req)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("ranker sidecar, %s: allowed %v (%s), want %v", c.req, got, why, c.want)
		}
	}

	gw, err := HTTPFilters(gateway, "0.0.0.0_8443")
	if err != nil {
		t.Fatal(err)
	}
	jwts := gw["envoy.filters.http.jwt_authn"]
	if len(jwts) != 1 {
		t.Fatalf("the gateway has %d JWT filters, want 1", len(jwts))
	}
	cfg := &jwtfilter.JwtAuthentication{}
	if err := jwts[0].GetTypedConfig().UnmarshalTo(cfg); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range cfg.Providers {
		found = found || p.Issuer == "https://auth.example.com" && strings.Join(p.Audiences, ",") == "ranker"
	}
	if !found {
		t.Errorf("the gateway's JWT filter has no provider for https://auth.example.com, audience ranker: %v", cfg.Providers)
	}
	gcases := []struct {
		req  Request
		want bool
	}{
		{Request{Authority: "ranker.example.com", Method: "POST", Path: predict, Port: 8443}, false},
		{Request{Authority: "ranker.example.com:443", Method: "POST", Path: predict, Port: 8443}, false},
		{Request{Authority: "RANKER.example.com", Method: "POST", Path: predict, Port: 8443}, false},
		{Request{Authority: "ranker.example.com", Issuer: "https://auth.example.com", Subject: "alice", Method: "POST", Path: predict, Port: 8443}, true},
		{Request{Authority: "other.example.com", Method: "GET", Path: "/", Port: 8443}, true},
	}
	for _, c := range gcases {
		got, why, err := Authorized(gw["envoy.filters.http.rbac"], c.req)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("gateway, %s: allowed %v (%s), want %v", c.req, got, why, c.want)
		}
	}

	// Negative controls: without the ranker's own policy the default deny
	// refuses the frontend; without it too nothing is refused; without the
	// gateway's requirement a request without a token passes.
	ok := Request{Peer: frontend, Method: "POST", Path: predict, Port: 8501}
	stranger := Request{Peer: "spiffe://cluster.local/ns/web/sa/backend", Method: "GET", Path: "/", Port: 8501}
	noToken := Request{Authority: "ranker.example.com", Method: "POST", Path: predict, Port: 8443}
	for _, ctl := range []struct {
		drop []string
		req  Request
		want bool
		gw   bool
	}{
		{[]string{"AuthorizationPolicy/ranker"}, ok, false, false},
		{[]string{"AuthorizationPolicy/ranker", "AuthorizationPolicy/default-deny"}, stranger, true, false},
		{[]string{"AuthorizationPolicy/ranking-ranking-gateway-require-jwt"}, noToken, true, true},
	} {
		sc, gl := securityListeners(t, b, ctl.drop...)
		name, ls := "virtualInbound", sc
		if ctl.gw {
			name, ls = "0.0.0.0_8443", gl
		}
		fs, err := HTTPFilters(ls, name)
		if err != nil {
			t.Fatal(err)
		}
		got, why, err := Authorized(fs["envoy.filters.http.rbac"], ctl.req)
		if err != nil {
			t.Fatal(err)
		}
		if got != ctl.want {
			t.Errorf("without %v, %s: allowed %v (%s), want %v", ctl.drop, ctl.req, got, why, ctl.want)
		}
	}
}

// TestModelTokenRequired: a model that validates tokens itself
// (Access.JWT, RequireJWT) gets the JWT filter on its own sidecar, and its
// inference ports refuse a request without a valid token, whoever sends
// it; the gateway in front forwards the token it validated.
func TestModelTokenRequired(t *testing.T) {
	issuer := security.JWT{Issuer: "https://auth.example.com", JWKSURI: "https://auth.example.com/.well-known/jwks.json", ForwardOriginalToken: true}
	app := scenarios.SecureModel(false, mesh.IstioAPI)
	app.GatewayJWT[0].JWT = []security.JWT{issuer}
	app.Models[0].Access.JWT = []security.JWT{issuer}
	app.Models[0].Access.RequireJWT = true
	checkApp(t, app) // Istio's validation, the CRD schemas and the analyzers
	objs, err := mesh.Build(app)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle("secure-model-jwt", stream)
	if err != nil {
		t.Fatal(err)
	}
	sidecar, _ := securityListeners(t, b)
	inbound, err := HTTPFilters(sidecar, "virtualInbound")
	if err != nil {
		t.Fatal(err)
	}
	if len(inbound["envoy.filters.http.jwt_authn"]) != 1 {
		t.Fatalf("the ranker's sidecar has %d JWT filters, want 1", len(inbound["envoy.filters.http.jwt_authn"]))
	}
	for _, c := range []struct {
		req  Request
		want bool
	}{
		{Request{Peer: frontend, Method: "POST", Path: predict, Port: 8501}, false},
		{Request{Peer: frontend, Issuer: "https://auth.example.com", Subject: "alice", Method: "POST", Path: predict, Port: 8501}, true},
		{Request{Peer: gatewayP, Issuer: "https://auth.example.com", Subject: "alice", Method: "POST", Path: predict, Port: 8501}, true},
		{Request{Peer: gatewayP, Method: "POST", Path: predict, Port: 8501}, false},
		{Request{Peer: frontend, Method: "POST", Path: "/tensorflow.serving.PredictionService/Predict", Port: 8500}, false},
	} {
		got, why, err := Authorized(inbound["envoy.filters.http.rbac"], c.req)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("ranker sidecar, %s: allowed %v (%s), want %v", c.req, got, why, c.want)
		}
	}
}
