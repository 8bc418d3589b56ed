package ingress_test

import (
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/ingress"
)

func TestGatewayAPIGateway(t *testing.T) {
	g := ingress.Spec{Name: "public", Namespace: "edge", Servers: []ingress.Server{
		{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{"a.example.com", "b.example.com"}, TLS: &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "cert"}},
		{Port: 80, Hosts: []string{"*"}, HTTPSRedirect: true},
	}}
	gw, err := ingress.GatewayAPIGateway(g, "models")
	if err != nil {
		t.Fatal(err)
	}
	if gw.Spec.GatewayClassName != "istio" || len(gw.Spec.Listeners) != 3 {
		t.Fatalf("gateway %+v", gw.Spec)
	}
	l := gw.Spec.Listeners[1]
	if l.Name != "https-443-1" || *l.Hostname != "b.example.com" || l.Protocol != "HTTPS" || *l.TLS.Mode != "Terminate" || l.TLS.CertificateRefs[0].Name != "cert" {
		t.Errorf("listener %+v", l)
	}
	if ns := l.AllowedRoutes.Namespaces; *ns.From != "Selector" || ns.Selector.MatchLabels["kubernetes.io/metadata.name"] != "models" {
		t.Errorf("routes of models must be allowed: %+v", ns)
	}
	if gw.Spec.Listeners[2].Hostname != nil {
		t.Errorf("\"*\" is a listener without a hostname: %v", *gw.Spec.Listeners[2].Hostname)
	}
	r, err := ingress.HTTPSRedirectRoute(g)
	if err != nil || r == nil || r.Name != "public-https-redirect" || string(*r.Spec.ParentRefs[0].SectionName) != "http-80" || *r.Spec.Rules[0].Filters[0].RequestRedirect.Scheme != "https" {
		t.Errorf("redirect %+v, %v", r, err)
	}
	for _, tc := range []struct {
		mutate func(*ingress.Spec)
		want   string
	}{
		{func(g *ingress.Spec) { g.Selector = map[string]string{"istio": "gw"} }, "selector: Forbidden"},
		{func(g *ingress.Spec) { g.Servers[0].TLS.Mode = ingress.TLSMutual }, "servers[0].tls.mode: Forbidden: mutual TLS"},
		{func(g *ingress.Spec) { g.Servers[1].Hosts = []string{"models/*"} }, "servers[1].hosts[0]: invalid value \"models/*\""},
	} {
		bad := g
		bad.Servers = append([]ingress.Server(nil), g.Servers...)
		tls := *g.Servers[0].TLS
		bad.Servers[0].TLS = &tls
		tc.mutate(&bad)
		if err := bad.ValidateGatewayAPI(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
}

// TestWaypoint: the zero spec is the namespace "default"'s waypoint
// "waypoint"; a name that cannot name a Service is refused at its field.
func TestWaypoint(t *testing.T) {
	gw, err := ingress.Waypoint(ingress.WaypointSpec{})
	if err != nil || gw.Name != "waypoint" || gw.Namespace != "default" || gw.Spec.GatewayClassName != "istio-waypoint" {
		t.Fatalf("zero spec: %v %v", gw, err)
	}
	for _, tc := range []struct {
		spec ingress.WaypointSpec
		want string
	}{
		{ingress.WaypointSpec{Name: "1waypoint"}, "name: invalid value \"1waypoint\""},
		{ingress.WaypointSpec{Name: "wp", Namespace: "Bad_NS"}, "namespace: invalid value \"Bad_NS\""},
		{ingress.WaypointSpec{Name: "wp", Labels: map[string]string{"a b": "c"}}, "labels[a b]: invalid value"},
	} {
		if _, err := ingress.Waypoint(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// TestGatewayAPITCPListener: a TCP listener of the Gateway API has no
// hostname (its CRD refuses one): a TCP server's hosts must be "*" there.
func TestGatewayAPITCPListener(t *testing.T) {
	g := ingress.Spec{Name: "tcp", Namespace: "edge", Servers: []ingress.Server{{Port: 15443, Protocol: ingress.TCP, Hosts: []string{"a.example.com"}}}}
	if err := g.Validate(); err != nil {
		t.Fatalf("the Istio dialect refuses it: %v", err)
	}
	if err := g.ValidateGatewayAPI(); err == nil || !strings.Contains(err.Error(), "servers[0].hosts[0]") {
		t.Errorf("a TCP listener with a hostname: %v, want a problem at servers[0].hosts[0]", err)
	}
	g.Servers[0].Hosts = []string{"*"}
	gw, err := ingress.GatewayAPIGateway(g, "")
	if err != nil {
		t.Fatal(err)
	}
	if l := gw.Spec.Listeners[0]; l.Hostname != nil {
		t.Errorf("a TCP listener for \"*\" has hostname %q", *l.Hostname)
	}
}
