package ingress_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	apiv1 "istio.io/api/networking/v1"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/fielderr/fielderrtest"
)

func TestGateway(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec ingress.Spec
		want *apiv1.Gateway
	}{
		{"HTTP on a fixed port, default selector", ingress.Spec{Name: "gw", Namespace: "ml", Servers: []ingress.Server{{Port: 31400, Hosts: []string{"*"}}}},
			&apiv1.Gateway{Selector: map[string]string{"istio": "ingressgateway"}, Servers: []*apiv1.Server{
				{Port: &apiv1.Port{Number: 31400, Name: "http-31400", Protocol: "HTTP"}, Hosts: []string{"*"}},
			}}},
		{"redirect, TLS termination and passthrough", ingress.Spec{Name: "gw", Namespace: "ml", Selector: map[string]string{"istio": "public"}, Servers: []ingress.Server{
			{Port: 80, Hosts: []string{"*.example.com"}, HTTPSRedirect: true},
			{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{"ml/*.example.com"}, TLS: &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "example-com"}},
			{Port: 8443, Name: "models", Protocol: ingress.TLS, Hosts: []string{"raw.example.com"}, TLS: &ingress.ServerTLS{Mode: ingress.TLSPassthrough}},
		}}, &apiv1.Gateway{Selector: map[string]string{"istio": "public"}, Servers: []*apiv1.Server{
			{Port: &apiv1.Port{Number: 80, Name: "http-80", Protocol: "HTTP"}, Hosts: []string{"*.example.com"}, Tls: &apiv1.ServerTLSSettings{HttpsRedirect: true}},
			{Port: &apiv1.Port{Number: 443, Name: "https-443", Protocol: "HTTPS"}, Hosts: []string{"ml/*.example.com"},
				Tls: &apiv1.ServerTLSSettings{Mode: apiv1.ServerTLSSettings_SIMPLE, CredentialName: "example-com"}},
			{Port: &apiv1.Port{Number: 8443, Name: "models", Protocol: "TLS"}, Hosts: []string{"raw.example.com"},
				Tls: &apiv1.ServerTLSSettings{Mode: apiv1.ServerTLSSettings_PASSTHROUGH}},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw, err := ingress.Gateway(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, &gw.Spec, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if gw.Name != tc.spec.Name || gw.Namespace != "ml" || gw.Labels["app.kubernetes.io/managed-by"] != "mlmesh" {
				t.Errorf("metadata %+v", gw.ObjectMeta)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	gw := ingress.Spec{Name: "gw", Namespace: "edge", Servers: []ingress.Server{
		{Port: 80, Hosts: []string{"*.example.com", "ml/models.internal", "./own.example.org"}},
	}}
	for _, tc := range []struct {
		host, ns string
		want     bool
	}{
		{"a.example.com", "ml", true},
		{"*.example.com", "ml", true},
		{"example.com", "ml", false}, // a wildcard covers subdomains only
		{"a.b.example.com", "ml", true},
		{"models.internal", "ml", true},
		{"models.internal", "other", false}, // limited to namespace ml
		{"own.example.org", "edge", true},   // "." is the gateway's namespace
		{"own.example.org", "ml", false},
		{"*", "ml", false}, // narrower servers do not cover everything
	} {
		if got := gw.Covers(tc.host, tc.ns); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.host, tc.ns, got, tc.want)
		}
	}
	if diff := cmp.Diff([]string{"*.example.com", "models.internal", "own.example.org"}, gw.Hosts()); diff != "" {
		t.Errorf("Hosts (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	valid := func() ingress.Spec {
		return ingress.Spec{Name: "gw", Servers: []ingress.Server{{Port: 80, Hosts: []string{"*"}}}}
	}
	tls := func(mode ingress.TLSMode, cred string) *ingress.ServerTLS {
		return &ingress.ServerTLS{Mode: mode, CredentialName: cred}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*ingress.Spec)
		want   []string
	}{
		{"valid", func(*ingress.Spec) {}, nil},
		{"no name", func(g *ingress.Spec) { g.Name = "" }, []string{"name: required"}},
		{"no servers", func(g *ingress.Spec) { g.Servers = nil }, []string{"servers: required"}},
		{"port 0", func(g *ingress.Spec) { g.Servers[0].Port = 0 }, []string{"servers[0].port"}},
		{"same port twice", func(g *ingress.Spec) {
			g.Servers = append(g.Servers, ingress.Server{Port: 80, Name: "again", Hosts: []string{"*"}})
		},
			[]string{"servers[1].port: duplicate value", "already served by servers[0]"}},
		{"no hosts", func(g *ingress.Spec) { g.Servers[0].Hosts = nil }, []string{"servers[0].hosts: required"}},
		{"bad host", func(g *ingress.Spec) { g.Servers[0].Hosts = []string{"Not_A_Host"} }, []string{"servers[0].hosts[0]"}},
		{"HTTPS without TLS", func(g *ingress.Spec) { g.Servers[0].Protocol = ingress.HTTPS }, []string{"servers[0].tls: required"}},
		{"SIMPLE without a credential", func(g *ingress.Spec) {
			g.Servers[0].Protocol, g.Servers[0].TLS = ingress.HTTPS, tls(ingress.TLSSimple, "")
		}, []string{"servers[0].tls.credentialName: required"}},
		{"passthrough with a credential", func(g *ingress.Spec) {
			g.Servers[0].Protocol, g.Servers[0].TLS = ingress.TLS, tls(ingress.TLSPassthrough, "cert")
		}, []string{"servers[0].tls.credentialName", "uses no credential"}},
		{"TLS on plain HTTP", func(g *ingress.Spec) { g.Servers[0].TLS = tls(ingress.TLSSimple, "cert") }, []string{"servers[0].protocol", "need protocol HTTPS or TLS"}},
		{"unknown TLS mode", func(g *ingress.Spec) {
			g.Servers[0].Protocol, g.Servers[0].TLS = ingress.HTTPS, tls("ISTIO_MUTUAL", "cert")
		}, []string{"servers[0].tls.mode: unsupported value"}},
		{"redirect from HTTPS", func(g *ingress.Spec) {
			g.Servers[0].Protocol, g.Servers[0].TLS, g.Servers[0].HTTPSRedirect = ingress.HTTPS, tls(ingress.TLSSimple, "cert"), true
		}, []string{"servers[0].httpsRedirect"}},
		{"unknown protocol", func(g *ingress.Spec) { g.Servers[0].Protocol = "QUIC" }, []string{"servers[0].protocol: unsupported value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := valid()
			tc.mutate(&g)
			err := g.Validate()
			fielderrtest.Want(t, err, tc.want)
			if len(tc.want) == 0 {
				return
			}
			if gw, err := ingress.Gateway(g); err == nil || gw != nil {
				t.Error("Gateway built an invalid spec")
			}
		})
	}
}

func TestWorkload(t *testing.T) {
	def := ingress.Spec{Name: "gw", Servers: []ingress.Server{{Port: 80, Hosts: []string{"*"}}}}
	if got := def.ServiceAccount(); got != "istio-system/istio-ingressgateway-service-account" {
		t.Errorf("default service account %s", got)
	}
	if def.TargetPort(80) != 8080 || def.TargetPort(443) != 8443 || def.TargetPort(31400) != 31400 {
		t.Errorf("default target ports %d %d %d", def.TargetPort(80), def.TargetPort(443), def.TargetPort(31400))
	}
	own := def
	own.Workload = ingress.Workload{Namespace: "gateways", ServiceAccount: "public", TargetPorts: map[uint32]uint32{80: 80}}
	if own.ServiceAccount() != "gateways/public" || own.WorkloadNamespace() != "gateways" || own.TargetPort(80) != 80 {
		t.Errorf("workload %s %s %d", own.ServiceAccount(), own.WorkloadNamespace(), own.TargetPort(80))
	}
	bad := def
	bad.Workload = ingress.Workload{Namespace: "Gateways", TargetPorts: map[uint32]uint32{80: 0}}
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "workload.namespace") || !strings.Contains(err.Error(), "workload.targetPorts[80]") {
		t.Errorf("bad workload: %v", err)
	}
}
