package routing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	apiv1 "istio.io/api/networking/v1"

	"github.com/mlmesh/mlmesh/internal/fielderr/fielderrtest"
	"github.com/mlmesh/mlmesh/routing"
)

const host = "m.ml.svc.cluster.local"

func dest(subset string, port uint32) *apiv1.Destination {
	d := &apiv1.Destination{Host: host, Subset: subset}
	if port != 0 {
		d.Port = &apiv1.PortSelector{Number: port}
	}
	return d
}

func canary() routing.Spec {
	return routing.Spec{
		Name: "m", Namespace: "ml", Host: host,
		Subsets: []routing.Subset{{Name: "v1"}, {Name: "v2"}},
		Rules:   []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})}},
	}
}

func TestVirtualService(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*routing.Spec)
		want   []*apiv1.HTTPRoute
	}{
		{"weighted split, no port", func(*routing.Spec) {}, []*apiv1.HTTPRoute{{
			Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v1", 0), Weight: 90}, {Destination: dest("v2", 0), Weight: 10}},
		}}},
		{"one destination takes weight 100", func(s *routing.Spec) {
			s.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: "v2"}}}}
		}, []*apiv1.HTTPRoute{{Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v2", 0), Weight: 100}}}}},
		{"one port pins destinations", func(s *routing.Spec) { s.Ports = []uint32{8501} }, []*apiv1.HTTPRoute{{
			Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v1", 8501), Weight: 90}, {Destination: dest("v2", 8501), Weight: 10}},
		}}},
		{"one port matched when the Service has others", func(s *routing.Spec) { s.Ports, s.MatchPorts = []uint32{8080}, true }, []*apiv1.HTTPRoute{{
			Match: []*apiv1.HTTPMatchRequest{{Port: 8080}},
			Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v1", 8080), Weight: 90}, {Destination: dest("v2", 8080), Weight: 10}},
		}}},
		{"each rule repeated per port, matched on it", func(s *routing.Spec) {
			s.Ports = []uint32{8500, 8501}
			s.Rules = []routing.Rule{
				{Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-canary": routing.Exact("1")}}}, Split: []routing.Destination{{Subset: "v2"}}},
				{Split: []routing.Destination{{Subset: "v1"}}},
			}
		}, []*apiv1.HTTPRoute{
			{Match: []*apiv1.HTTPMatchRequest{{Port: 8500, Headers: map[string]*apiv1.StringMatch{"x-canary": {MatchType: &apiv1.StringMatch_Exact{Exact: "1"}}}}},
				Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v2", 8500), Weight: 100}}},
			{Match: []*apiv1.HTTPMatchRequest{{Port: 8501, Headers: map[string]*apiv1.StringMatch{"x-canary": {MatchType: &apiv1.StringMatch_Exact{Exact: "1"}}}}},
				Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v2", 8501), Weight: 100}}},
			{Match: []*apiv1.HTTPMatchRequest{{Port: 8500}}, Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v1", 8500), Weight: 100}}},
			{Match: []*apiv1.HTTPMatchRequest{{Port: 8501}}, Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v1", 8501), Weight: 100}}},
		}},
		{"mirror, timeout, retries off", func(s *routing.Spec) {
			s.Rules[0].Mirror = []routing.Mirror{{Subset: "v2", Percent: 12.5}}
			s.Rules[0].Timeout = 1500 * time.Millisecond
			s.Rules[0].Retries = &routing.Retries{}
		}, []*apiv1.HTTPRoute{{
			Route:   []*apiv1.HTTPRouteDestination{{Destination: dest("v1", 0), Weight: 90}, {Destination: dest("v2", 0), Weight: 10}},
			Mirrors: []*apiv1.HTTPMirrorPolicy{{Destination: dest("v2", 0), Percentage: &apiv1.Percent{Value: 12.5}}},
			Timeout: durationpb.New(1500 * time.Millisecond),
			Retries: &apiv1.HTTPRetry{},
		}}},
		{"abort per protocol of the port", func(s *routing.Spec) {
			s.Ports, s.GRPCPorts = []uint32{8500, 8501}, []uint32{8500}
			s.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: "v1"}}, Fault: &routing.Fault{Abort: &routing.Abort{HTTPStatus: 503, Percent: 5}}}}
		}, []*apiv1.HTTPRoute{
			{Match: []*apiv1.HTTPMatchRequest{{Port: 8500}}, Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v1", 8500), Weight: 100}},
				Fault: &apiv1.HTTPFaultInjection{Abort: &apiv1.HTTPFaultInjection_Abort{
					ErrorType: &apiv1.HTTPFaultInjection_Abort_GrpcStatus{GrpcStatus: "UNAVAILABLE"}, Percentage: &apiv1.Percent{Value: 5}}}},
			{Match: []*apiv1.HTTPMatchRequest{{Port: 8501}}, Route: []*apiv1.HTTPRouteDestination{{Destination: dest("v1", 8501), Weight: 100}},
				Fault: &apiv1.HTTPFaultInjection{Abort: &apiv1.HTTPFaultInjection_Abort{
					ErrorType: &apiv1.HTTPFaultInjection_Abort_HttpStatus{HttpStatus: 503}, Percentage: &apiv1.Percent{Value: 5}}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := canary()
			tc.mutate(&s)
			vs, err := routing.VirtualService(s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{host}, vs.Spec.Hosts); diff != "" {
				t.Errorf("hosts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, vs.Spec.Http, protocmp.Transform()); diff != "" {
				t.Errorf("http routes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDestinationRule(t *testing.T) {
	s := canary()
	s.Subsets[1].Labels = map[string]string{"track": "canary"}
	s.Policy = &routing.TrafficPolicy{TLS: routing.TLSIstioMutual, LoadBalancer: &routing.LoadBalancer{HashHeader: "x-user"}}
	dr, err := routing.DestinationRule(s)
	if err != nil {
		t.Fatal(err)
	}
	want := &apiv1.DestinationRule{
		Host: host,
		Subsets: []*apiv1.Subset{
			{Name: "v1", Labels: map[string]string{"version": "v1"}},
			{Name: "v2", Labels: map[string]string{"track": "canary"}},
		},
		TrafficPolicy: &apiv1.TrafficPolicy{
			Tls: &apiv1.ClientTLSSettings{Mode: apiv1.ClientTLSSettings_ISTIO_MUTUAL},
			LoadBalancer: &apiv1.LoadBalancerSettings{LbPolicy: &apiv1.LoadBalancerSettings_ConsistentHash{
				ConsistentHash: &apiv1.LoadBalancerSettings_ConsistentHashLB{HashKey: &apiv1.LoadBalancerSettings_ConsistentHashLB_HttpHeaderName{HttpHeaderName: "x-user"}},
			}},
		},
	}
	if diff := cmp.Diff(want, &dr.Spec, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if dr.Name != "m" || dr.Namespace != "ml" || dr.Labels["app.kubernetes.io/managed-by"] != "mlmesh" {
		t.Errorf("metadata %+v", dr.ObjectMeta)
	}
}

// TestLocalityFailover: failover alone (no other policy) turns locality
// load balancing on with its pairs, beside the outlier detection.
func TestLocalityFailover(t *testing.T) {
	s := canary()
	s.Policy = &routing.TrafficPolicy{OutlierDetection: &routing.OutlierDetection{Consecutive5xxErrors: 5},
		LoadBalancer: &routing.LoadBalancer{Failover: []routing.LocalityFailover{{From: "eu-west1", To: "us-east1"}}}}
	dr, err := routing.DestinationRule(s)
	if err != nil {
		t.Fatal(err)
	}
	want := &apiv1.LoadBalancerSettings{LocalityLbSetting: &apiv1.LocalityLoadBalancerSetting{
		Enabled: wrapperspb.Bool(true), Failover: []*apiv1.LocalityLoadBalancerSetting_Failover{{From: "eu-west1", To: "us-east1"}}}}
	if diff := cmp.Diff(want, dr.Spec.TrafficPolicy.LoadBalancer, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	rule := func(s *routing.Spec) *routing.Rule { return &s.Rules[0] }
	for _, tc := range []struct {
		name   string
		mutate func(*routing.Spec)
		want   []string
	}{
		{"valid", func(*routing.Spec) {}, nil},
		{"failover without outlier detection", func(s *routing.Spec) {
			s.Policy = &routing.TrafficPolicy{LoadBalancer: &routing.LoadBalancer{Failover: []routing.LocalityFailover{{From: "eu", To: "us"}}}}
		}, []string{"policy.outlierDetection: required: locality failover needs outlier detection"}},
		{"failover to itself, twice, unnamed", func(s *routing.Spec) {
			s.Policy = &routing.TrafficPolicy{OutlierDetection: &routing.OutlierDetection{}, LoadBalancer: &routing.LoadBalancer{
				Failover: []routing.LocalityFailover{{From: "eu", To: "eu"}, {From: "eu", To: "us"}, {To: "us"}}}}
		}, []string{`policy.loadBalancer.failover[0].to: invalid value "eu": a region fails over to another`,
			`policy.loadBalancer.failover[1].from: duplicate value "eu"`, "policy.loadBalancer.failover[2].from: required"}},
		{"no host", func(s *routing.Spec) { s.Host = "" }, []string{"host: required"}},
		{"weights not 100", func(s *routing.Spec) { rule(s).Split[1].Weight = 20 }, []string{"rules[0].split: weights sum to 110, want 100"}},
		{"negative weight", func(s *routing.Spec) { rule(s).Split[0].Weight, rule(s).Split[1].Weight = 110, -10 }, []string{"rules[0].split[1].weight"}},
		{"single destination weight 50", func(s *routing.Spec) { rule(s).Split = []routing.Destination{{Subset: "v1", Weight: 50}} }, []string{"rules[0].split[0].weight", "leave weight 0 or set 100"}},
		{"unknown subset", func(s *routing.Spec) { rule(s).Split[1].Subset = "v3" }, []string{`rules[0].split[1].subset: "v3" not found`}},
		{"same destination twice", func(s *routing.Spec) { rule(s).Split[1].Subset = "v1" }, []string{"rules[0].split[1]", `rules[0].split[1]: duplicate value "v1": already split[0]`}},
		{"bad regex", func(s *routing.Spec) {
			rule(s).Match = []routing.Match{{Headers: map[string]routing.StringMatch{"ua": routing.Regex("(")}}}
			s.Rules = append(s.Rules, routing.Rule{Split: []routing.Destination{{Subset: "v1"}}})
		}, []string{"rules[0].match[0].headers[ua]"}},
		{"uppercase header", func(s *routing.Spec) {
			rule(s).Match = []routing.Match{{Headers: map[string]routing.StringMatch{"X-Canary": routing.Exact("1")}}}
			s.Rules = append(s.Rules, routing.Rule{Split: []routing.Destination{{Subset: "v1"}}})
		}, []string{"headers[X-Canary]", "lowercase"}},
		{"unreachable rule", func(s *routing.Spec) { s.Rules = append(s.Rules, s.Rules[0]) }, []string{"rules[0].match", "unreachable"}},
		{"timeout under 1ms", func(s *routing.Spec) { rule(s).Timeout = time.Microsecond }, []string{"rules[0].timeout"}},
		{"retry policy without attempts", func(s *routing.Spec) { rule(s).Retries = &routing.Retries{RetryOn: []string{"5xx"}} }, []string{"rules[0].retries.attempts"}},
		{"unknown retry condition", func(s *routing.Spec) { rule(s).Retries = &routing.Retries{Attempts: 1, RetryOn: []string{"sometimes"}} }, []string{"rules[0].retries.retryOn[0]"}},
		{"abort without status", func(s *routing.Spec) { rule(s).Fault = &routing.Fault{Abort: &routing.Abort{Percent: 1}} }, []string{"rules[0].fault.abort.httpStatus: required"}},
		{"abort with an unknown gRPC status", func(s *routing.Spec) {
			rule(s).Fault = &routing.Fault{Abort: &routing.Abort{HTTPStatus: 503, GRPCStatus: "BROKEN", Percent: 1}}
		}, []string{"rules[0].fault.abort.grpcStatus"}},
		{"matchPorts without ports", func(s *routing.Spec) { s.MatchPorts = true }, []string{"ports: required", "matchPorts"}},
		{"gRPC port not routed", func(s *routing.Spec) { s.Ports, s.GRPCPorts = []uint32{8501}, []uint32{8500} }, []string{"grpcPorts[0]", "one of ports"}},
		{"duplicate subset", func(s *routing.Spec) { s.Subsets[1].Name = "v1" }, []string{`subsets[1].name: duplicate value "v1"`}},
		{"unknown subset among duplicates", func(s *routing.Spec) {
			s.Subsets = []routing.Subset{{Name: "v2"}, {Name: "v1"}, {Name: "v1"}}
			rule(s).Split[1].Subset = "v3"
		}, []string{`subsets[2].name: duplicate value "v1"`, `rules[0].split[1].subset: "v3" not found: want one of the subsets "v1", "v2"`}},
		{"duplicate hosts", func(s *routing.Spec) { s.Hosts = []string{"a.example.com", s.Host, "b.example.com", "a.example.com"} }, []string{
			`hosts[1]: duplicate value "` + host + `"`, `hosts[3]: duplicate value "a.example.com"`}},
		{"TLS files without SIMPLE or MUTUAL", func(s *routing.Spec) {
			s.Policy = &routing.TrafficPolicy{TLS: routing.TLSIstioMutual, SNI: "m.example.com", CACertificates: "/ca.pem", PrivateKey: "/key.pem"}
		}, []string{`policy.caCertificates: Forbidden: only TLS modes SIMPLE and MUTUAL use it, not "ISTIO_MUTUAL"; policy.privateKey: Forbidden: only TLS modes SIMPLE and MUTUAL use it, not "ISTIO_MUTUAL"; policy.sni: Forbidden`}},
		{"client certificate without MUTUAL", func(s *routing.Spec) {
			s.Policy = &routing.TrafficPolicy{TLS: routing.TLSSimple, CACertificates: "/ca.pem", ClientCertificate: "/cert.pem", PrivateKey: "/key.pem"}
		}, []string{`policy.clientCertificate: Forbidden: only MUTUAL TLS presents a client certificate; policy.privateKey: Forbidden`}},
		{"duplicate port", func(s *routing.Spec) { s.Ports, s.GRPCPorts = []uint32{8500, 8501, 8500}, []uint32{8501} }, []string{`ports[2]: duplicate value "8500"`}},
		{"wildcard on the mesh", func(s *routing.Spec) { s.Hosts = []string{"*"} }, []string{"hosts[0]", "not allowed for a VirtualService bound to the mesh"}},
		{"duplicate gateway", func(s *routing.Spec) { s.Gateways = []string{"mesh", "ml/gw", "gw", "ml/gw", "mesh"} }, []string{
			`gateways[3]: duplicate value "ml/gw"`, `gateways[4]: duplicate value "mesh"`}},
		{"bad gateway reference", func(s *routing.Spec) { s.Gateways = []string{"a/b/c"} }, []string{"gateways[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := canary()
			tc.mutate(&s)
			err := s.Validate()
			fielderrtest.Want(t, err, tc.want)
			if len(tc.want) == 0 {
				return
			}
			if vs, err := routing.VirtualService(s); err == nil || vs != nil {
				t.Error("VirtualService built an invalid spec")
			}
		})
	}
}

// TestCheckerAgreesWithCheck checks a sequence of Specs that share their
// rules and policy with one Checker, and requires of each the errors
// Check reports: the Checker may skip what it found valid only where the
// Spec around it would not make it invalid (other subsets, a wildcard
// host, several ports, a host its destinations name, another policy).
func TestCheckerAgreesWithCheck(t *testing.T) {
	split := []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})}}
	portMatch := []routing.Rule{
		{Match: []routing.Match{{Port: 8501}}, Split: []routing.Destination{{Subset: "v2"}}},
		{Split: []routing.Destination{{Subset: "v1"}}},
	}
	elsewhere := []routing.Rule{{Split: []routing.Destination{{Host: "b.ml.svc.cluster.local", Subset: "v9"}}}}
	mtls := &routing.TrafficPolicy{TLS: routing.TLSIstioMutual}
	badTLS := &routing.TrafficPolicy{TLS: routing.TLSIstioMutual, SNI: "x.example.com"}
	with := func(f func(s *routing.Spec)) routing.Spec {
		s := canary()
		s.Rules, s.Policy = split, mtls
		f(&s)
		return s
	}
	specs := []routing.Spec{
		with(func(*routing.Spec) {}),
		with(func(*routing.Spec) {}),
		with(func(s *routing.Spec) { s.Name = "other" }),
		with(func(s *routing.Spec) { s.Subsets = s.Subsets[:1] }),
		with(func(s *routing.Spec) { s.Subsets = []routing.Subset{{Name: "v1"}, {Name: "v3"}} }),
		with(func(s *routing.Spec) { s.Host, s.Gateways = "*.example.com", []string{"gw"} }),
		with(func(*routing.Spec) {}),
		with(func(s *routing.Spec) { s.Rules = portMatch }),
		with(func(s *routing.Spec) { s.Rules, s.Ports = portMatch, []uint32{8500, 8501} }),
		with(func(s *routing.Spec) { s.Rules, s.MatchPorts, s.Ports = portMatch, true, []uint32{8501} }),
		with(func(s *routing.Spec) { s.Rules, s.Host = elsewhere, "a.ml.svc.cluster.local" }),
		with(func(s *routing.Spec) { s.Rules, s.Host = elsewhere, "b.ml.svc.cluster.local" }),
		with(func(s *routing.Spec) { s.Policy = badTLS }),
		with(func(*routing.Spec) {}),
		with(func(s *routing.Spec) { s.Policy = badTLS }),
	}
	var c routing.Checker
	invalid := 0
	for i := range specs {
		_, want := routing.Check(&specs[i])
		_, got := c.Check(&specs[i])
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("spec %d: the Checker reports %v, Check %v", i, got, want)
		}
		if want != nil {
			invalid++
			t.Logf("spec %d: %v", i, want)
		}
	}
	if invalid != 8 {
		t.Errorf("%d of the specs are invalid, want 8: the sequence no longer tests what it should", invalid)
	}
}

func TestRuleNamesHost(t *testing.T) {
	for _, tc := range []struct {
		rule routing.Rule
		want bool
	}{
		{routing.Rule{Split: []routing.Destination{{Subset: "v1"}}, Mirror: []routing.Mirror{{Subset: "v2"}}}, false},
		{routing.Rule{Split: []routing.Destination{{Subset: "v1"}, {Host: "other", Subset: "v1"}}}, true},
		{routing.Rule{Split: []routing.Destination{{Subset: "v1"}}, Mirror: []routing.Mirror{{Host: "shadow"}}}, true},
	} {
		if got := tc.rule.NamesHost(); got != tc.want {
			t.Errorf("%+v: NamesHost() = %v, want %v", tc.rule, got, tc.want)
		}
	}
}
