package egress_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	apiv1 "istio.io/api/networking/v1"
	"istio.io/api/networking/v1alpha3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/internal/fielderr/fielderrtest"
)

var managed = map[string]string{"app.kubernetes.io/managed-by": "mlmesh"}

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "ml", Labels: managed}
}

func TestServiceEntry(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec egress.Spec
		want *apiv1.ServiceEntry
	}{
		{"default port is TLS 443", egress.API("api", "ml", "api.example.com"), &apiv1.ServiceEntry{
			Hosts: []string{"api.example.com"}, Location: apiv1.ServiceEntry_MESH_EXTERNAL, Resolution: v1alpha3.ServiceEntry_DNS,
			Ports: []*apiv1.ServicePort{{Number: 443, Name: "tls", Protocol: "TLS"}},
		}},
		{"TLS origination beside 443", egress.Spec{Name: "s", Namespace: "ml", Hosts: []string{"a.example.com"}, Ports: egress.OriginateTLS()}, &apiv1.ServiceEntry{
			Hosts: []string{"a.example.com"}, Location: apiv1.ServiceEntry_MESH_EXTERNAL, Resolution: v1alpha3.ServiceEntry_DNS,
			Ports: []*apiv1.ServicePort{{Number: 80, Name: "http", Protocol: "HTTP", TargetPort: 443}, {Number: 443, Name: "tls", Protocol: "TLS"}},
		}},
		{"origination to another port", egress.Spec{Name: "s", Namespace: "ml", Hosts: []string{"a.example.com"},
			Addresses: []string{"192.0.2.10"},
			Ports:     []egress.Port{{Number: 8080, Name: "plain", OriginateTLS: true, TargetPort: 8443}, {Number: 5432, Protocol: egress.TCP}}}, &apiv1.ServiceEntry{
			Hosts: []string{"a.example.com"}, Addresses: []string{"192.0.2.10"}, Location: apiv1.ServiceEntry_MESH_EXTERNAL, Resolution: v1alpha3.ServiceEntry_DNS,
			Ports: []*apiv1.ServicePort{{Number: 8080, Name: "plain", Protocol: "HTTP", TargetPort: 8443}, {Number: 5432, Name: "tcp", Protocol: "TCP"}},
		}},
		{"wildcard resolved by the app", egress.Spec{Name: "s", Namespace: "ml", Hosts: []string{"*.blob.core.windows.net"}, Resolution: egress.None, ExportTo: []string{"."}}, &apiv1.ServiceEntry{
			Hosts: []string{"*.blob.core.windows.net"}, Location: apiv1.ServiceEntry_MESH_EXTERNAL, Resolution: v1alpha3.ServiceEntry_NONE, ExportTo: []string{"."},
			Ports: []*apiv1.ServicePort{{Number: 443, Name: "tls", Protocol: "TLS"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := egress.ServiceEntry(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(meta(tc.spec.Name), got.ObjectMeta); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, &got.Spec, protocmp.Transform()); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDestinationRules(t *testing.T) {
	verify := func(host string, port uint32, ca string) *apiv1.TrafficPolicy_PortTrafficPolicy {
		return &apiv1.TrafficPolicy_PortTrafficPolicy{
			Port: &apiv1.PortSelector{Number: port},
			Tls:  &apiv1.ClientTLSSettings{Mode: apiv1.ClientTLSSettings_SIMPLE, Sni: host, CaCertificates: ca},
		}
	}
	for _, tc := range []struct {
		name string
		spec egress.Spec
		want map[string]*apiv1.DestinationRule // by object name
	}{
		{"no origination, no rule", egress.S3("s3", "ml", "eu-west-1"), nil},
		{"one host, verified by the proxy's bundle", egress.Spec{Name: "reg", Namespace: "ml", Hosts: []string{"a.example.com"}, Ports: egress.OriginateTLS()},
			map[string]*apiv1.DestinationRule{"reg": {Host: "a.example.com", TrafficPolicy: &apiv1.TrafficPolicy{
				PortLevelSettings: []*apiv1.TrafficPolicy_PortTrafficPolicy{verify("a.example.com", 80, egress.DefaultCACertificates)}}}}},
		{"two hosts, own CA", egress.Spec{Name: "reg", Namespace: "ml", Hosts: []string{"a.example.com", "b.example.com"},
			CACertificates: "/etc/certs/corp-ca.pem", Ports: []egress.Port{{Number: 8080, OriginateTLS: true, TargetPort: 8443}}},
			map[string]*apiv1.DestinationRule{
				"reg-0": {Host: "a.example.com", TrafficPolicy: &apiv1.TrafficPolicy{PortLevelSettings: []*apiv1.TrafficPolicy_PortTrafficPolicy{verify("a.example.com", 8080, "/etc/certs/corp-ca.pem")}}},
				"reg-1": {Host: "b.example.com", TrafficPolicy: &apiv1.TrafficPolicy{PortLevelSettings: []*apiv1.TrafficPolicy_PortTrafficPolicy{verify("b.example.com", 8080, "/etc/certs/corp-ca.pem")}}},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drs, err := egress.DestinationRules(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*apiv1.DestinationRule{}
			for _, dr := range drs {
				if diff := cmp.Diff(meta(dr.Name), dr.ObjectMeta); diff != "" {
					t.Errorf("metadata (-want +got):\n%s", diff)
				}
				got[dr.Name] = &dr.Spec
			}
			if tc.want == nil {
				tc.want = map[string]*apiv1.DestinationRule{}
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	valid := func() egress.Spec {
		return egress.Spec{Name: "store", Namespace: "ml", Hosts: []string{"a.example.com"}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*egress.Spec)
		want   []string // each must appear
	}{
		{"valid", func(*egress.Spec) {}, nil},
		{"no name", func(s *egress.Spec) { s.Name = "" }, []string{"name: required"}},
		{"no hosts", func(s *egress.Spec) { s.Hosts = nil }, []string{"hosts: required"}},
		{"wildcard by DNS", func(s *egress.Spec) { s.Hosts = []string{"*.example.com"} }, []string{"hosts[0]", "resolution NONE"}},
		{"duplicate host", func(s *egress.Spec) { s.Hosts = []string{"a.example.com", "a.example.com"} }, []string{`hosts[1]: duplicate value "a.example.com"`}},
		{"bad resolution", func(s *egress.Spec) { s.Resolution = "STATIC" }, []string{`resolution: unsupported value "STATIC"`}},
		{"port out of range", func(s *egress.Spec) { s.Ports = []egress.Port{{Number: 70000, Protocol: egress.TLS}} }, []string{"ports[0].number"}},
		{"target port out of range", func(s *egress.Spec) { s.Ports = []egress.Port{{Number: 80, OriginateTLS: true, TargetPort: 70000}} }, []string{"ports[0].targetPort"}},
		{"duplicate port", func(s *egress.Spec) {
			s.Ports = []egress.Port{{Number: 443, Protocol: egress.TLS}, {Number: 443, Name: "again", Protocol: egress.TLS}}
		}, []string{"ports[1].number: duplicate value"}},
		{"missing protocol", func(s *egress.Spec) { s.Ports = []egress.Port{{Number: 9000}} }, []string{"ports[0].protocol: unsupported value"}},
		{"origination of TLS", func(s *egress.Spec) { s.Ports = []egress.Port{{Number: 443, Protocol: egress.TLS, OriginateTLS: true}} },
			[]string{"ports[0].protocol", "protocol HTTP"}},
		{"origination to a wildcard", func(s *egress.Spec) {
			s.Hosts, s.Resolution, s.Ports = []string{"*.example.com"}, egress.None, egress.OriginateTLS()
		}, []string{"hosts[0]", "ports[0] originates TLS, which needs a server name"}},
		{"relative CA path", func(s *egress.Spec) { s.CACertificates = "ca.pem" }, []string{"caCertificates", "absolute path"}},
		{"bad exportTo", func(s *egress.Spec) { s.ExportTo = []string{".", "."} }, []string{"exportTo[1]: duplicate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.mutate(&s)
			err := s.Validate()
			fielderrtest.Want(t, err, tc.want)
			if len(tc.want) == 0 {
				return
			}
			if se, err := egress.ServiceEntry(s); err == nil || se != nil {
				t.Errorf("ServiceEntry built an invalid spec")
			}
		})
	}
}
