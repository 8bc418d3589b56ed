package routing_test

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/mlmesh/mlmesh/routing"
)

func gatewaySpec() routing.Spec {
	return routing.Spec{
		Name: "m", Namespace: "ml", Host: "m.ml.svc.cluster.local",
		Ports: []uint32{8501}, MatchPorts: true, Subsets: []routing.Subset{{Name: "v1", Labels: map[string]string{"version": "v1"}}, {Name: "v2", Labels: map[string]string{"version": "v2"}}},
		Rules: []routing.Rule{
			{Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-canary": routing.Exact("yes")}}}, Split: []routing.Destination{{Subset: "v2"}}},
			{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10}), Timeout: 1500 * time.Millisecond, Mirror: []routing.Mirror{{Subset: "v2", Percent: 5}}},
		},
	}
}

func p[T any](v T) *T { return &v }

// TestGatewayRouteOnAllPorts: one port without MatchPorts routes every
// port of the host to it, as the VirtualService without a port match does:
// the route attaches to the whole Service and sends to that port.
func TestGatewayRouteOnAllPorts(t *testing.T) {
	s := gatewaySpec()
	s.MatchPorts = false
	routes, err := routing.GatewayRoutes(s)
	if err != nil {
		t.Fatal(err)
	}
	parent := routes[0].Spec.ParentRefs[0]
	backend := routes[0].Spec.Rules[1].BackendRefs[0]
	if parent.Port != nil || parent.Name != "m" || backend.Port == nil || *backend.Port != 8501 {
		t.Errorf("parent %+v, backend %+v", parent, backend)
	}
}

func TestGatewayRoutes(t *testing.T) {
	routes, err := routing.GatewayRoutes(gatewaySpec())
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 1 || routes[0].Name != "m" {
		t.Fatalf("routes %v", routes)
	}
	backend := func(name string, w int32) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: p(gatewayv1.PortNumber(8501))}, Weight: p(w)}}
	}
	want := gatewayv1.HTTPRouteSpec{
		CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Group: p(gatewayv1.Group("")), Kind: p(gatewayv1.Kind("Service")), Name: "m", Port: p(gatewayv1.PortNumber(8501))}}},
		Rules: []gatewayv1.HTTPRouteRule{
			{
				Matches: []gatewayv1.HTTPRouteMatch{{
					Path:    &gatewayv1.HTTPPathMatch{Type: p(gatewayv1.PathMatchPathPrefix), Value: p("/")},
					Headers: []gatewayv1.HTTPHeaderMatch{{Type: p(gatewayv1.HeaderMatchExact), Name: "x-canary", Value: "yes"}},
				}},
				BackendRefs: []gatewayv1.HTTPBackendRef{backend("m-v2", 1)},
			},
			{
				BackendRefs: []gatewayv1.HTTPBackendRef{backend("m-v1", 90), backend("m-v2", 10)},
				Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{
					BackendRef: gatewayv1.BackendObjectReference{Name: "m-v2", Port: p(gatewayv1.PortNumber(8501))}, Percent: p(int32(5)),
				}}},
				Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: p(gatewayv1.Duration("1500ms"))},
			},
		},
	}
	if diff := cmp.Diff(want, routes[0].Spec); diff != "" {
		t.Errorf("HTTPRoute (-want +got):\n%s", diff)
	}
	// Bound to a gateway: its hosts, and the Gateway as parent.
	s := gatewaySpec()
	s.Host, s.Gateways = "*", []string{"edge/public"}
	for i := range s.Rules {
		for k := range s.Rules[i].Split {
			s.Rules[i].Split[k].Host = "m.ml.svc.cluster.local"
		}
		s.Rules[i].Mirror = nil
	}
	routes, err = routing.GatewayRoutes(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := routes[0].Spec.ParentRefs; len(got) != 1 || *got[0].Namespace != "edge" || got[0].Name != "public" || got[0].Kind != nil {
		t.Errorf("gateway parent %+v", got)
	}
	if h := routes[0].Spec.Hostnames; len(h) != 0 {
		t.Errorf("hostnames %v: \"*\" is every host of the listener, none written", h)
	}
	// Two ports: a route each.
	s = gatewaySpec()
	s.Ports, s.GRPCPorts = []uint32{8500, 8501}, []uint32{8500}
	if names := routing.GatewayRouteNames(s); strings.Join(names, " ") != "m-8500 m-8501" {
		t.Errorf("names %v", names)
	}
}

func TestGatewayAPIRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(s *routing.Spec)
		want   string
	}{
		{"fault", func(s *routing.Spec) {
			s.Rules[1].Fault = &routing.Fault{Abort: &routing.Abort{HTTPStatus: 503, Percent: 1}}
		}, "rules[1].fault: Forbidden: Gateway API has no fault injection"},
		{"retries", func(s *routing.Spec) { s.Rules[1].Retries = &routing.Retries{Attempts: 2} }, "rules[1].retries: Forbidden: retries are experimental"},
		{"header prefix", func(s *routing.Spec) {
			s.Rules[0].Match[0].Headers = map[string]routing.StringMatch{"x-user": routing.Prefix("a")}
		}, "rules[0].match[0].headers[x-user]: invalid value \"a\": exact or regex"},
		{"segment prefix", func(s *routing.Spec) { u := routing.Prefix("/v1/models"); s.Rules[0].Match[0].URI = &u }, "rules[0].match[0].uri: invalid value \"/v1/models\": a prefix ending in \"/\""},
		{"port match", func(s *routing.Spec) { s.MatchPorts = false; s.Rules[0].Match[0].Port = 8501 }, "rules[0].match[0].port: Forbidden"},
		{"egress destination", func(s *routing.Spec) {
			s.Rules[1].Split = []routing.Destination{{Host: "api.example.org", Weight: 100}}
		}, "rules[1].split[0].host: invalid value \"api.example.org\": a Service of the cluster"},
		{"mesh and gateway", func(s *routing.Spec) { s.Gateways = []string{"mesh", "edge/public"} }, "gateways: invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := gatewaySpec()
			tc.mutate(&s)
			_, err := routing.GatewayRoutes(s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant: %s", err, tc.want)
			}
		})
	}
}

// TestGatewayRuleOrder: a rule that Gateway API's precedence would put
// before an earlier one it overlaps is refused; one that overlaps nothing
// earlier may move.
func TestGatewayRuleOrder(t *testing.T) {
	prefix := func(v string) []routing.Match {
		return []routing.Match{{URI: &routing.StringMatch{Kind: routing.MatchPrefix, Value: v}}}
	}
	s := gatewaySpec()
	s.Rules = []routing.Rule{
		{Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-canary": routing.Exact("yes")}}}, Split: []routing.Destination{{Subset: "v2"}}},
		{Match: prefix("/v1/"), Split: []routing.Destination{{Subset: "v1"}}},
		{Split: []routing.Destination{{Subset: "v1"}}},
	}
	if _, err := routing.GatewayRoutes(s); err == nil || !strings.Contains(err.Error(), "rules[1].match[0]: Gateway API evaluates this match before rules[0]'s") {
		t.Errorf("a longer prefix after a header match: %v", err)
	}
	// Disjoint: the order does not matter.
	s.Rules[0].Match = prefix("/v2/models/")
	s.Rules[1].Match = append(prefix("/v1/"), routing.Match{URI: &routing.StringMatch{Kind: routing.MatchExact, Value: "/v2/models/x"}})
	if _, err := routing.GatewayRoutes(s); err == nil || !strings.Contains(err.Error(), "rules[1].match[1]") || strings.Contains(err.Error(), "rules[1].match[0]") {
		t.Errorf("an exact path under an earlier prefix, and a disjoint prefix: %v", err)
	}
	s.Rules[1].Match = prefix("/v1/")
	if _, err := routing.GatewayRoutes(s); err != nil {
		t.Errorf("disjoint prefixes: %v", err)
	}
	// Headers with different exact values are disjoint.
	s.Rules[0].Match = []routing.Match{{Headers: map[string]routing.StringMatch{"x-model": routing.Exact("a")}}}
	s.Rules[1].Match = []routing.Match{{URI: &routing.StringMatch{Kind: routing.MatchPrefix, Value: "/v1/"}, Headers: map[string]routing.StringMatch{"x-model": routing.Exact("b")}}}
	if _, err := routing.GatewayRoutes(s); err != nil {
		t.Errorf("disjoint headers: %v", err)
	}
}

// TestGatewayDurations: every timeout the dialect accepts is written in
// the form the Gateway API's CRD accepts (GEP-2257: at most four parts of
// at most five digits) and reads back as the same duration; durations
// that fit one part keep their one-part form.
func TestGatewayDurations(t *testing.T) {
	pattern := regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)
	route := func(d time.Duration) (string, error) {
		s := routing.Spec{Name: "m", Namespace: "ml", Host: "m", Subsets: []routing.Subset{{Name: "v1"}},
			Rules: []routing.Rule{{Timeout: d, Split: []routing.Destination{{Subset: "v1", Weight: 100}}}}}
		routes, err := routing.GatewayRoutes(s)
		if err != nil {
			return "", err
		}
		return string(*routes[0].Spec.Rules[0].Timeouts.Request), nil
	}
	for d, want := range map[time.Duration]string{
		90 * time.Second:                   "90s",
		1500 * time.Millisecond:            "1500ms",
		99999 * time.Second:                "99999s",
		100000 * time.Second:               "27h46m40s",
		3661001 * time.Millisecond:         "1h1m1s1ms",
		100*time.Second + time.Millisecond: "1m40s1ms",
		99999*time.Hour + 59*time.Minute + 59*time.Second + 999*time.Millisecond: "99999h59m59s999ms",
	} {
		if got, err := route(d); err != nil || got != want {
			t.Errorf("%v: %q (%v), want %q", d, got, err, want)
		}
	}
	r := rand.New(rand.NewSource(1))
	for range 2000 {
		d := time.Duration(r.Int63n(int64(99999*time.Hour))).Truncate(time.Millisecond) + time.Millisecond
		got, err := route(d)
		if err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		back, err := time.ParseDuration(got)
		if !pattern.MatchString(got) || err != nil || back != d {
			t.Fatalf("%v written %q: pattern %v, reads back %v (%v)", d, got, pattern.MatchString(got), back, err)
		}
	}
	if _, err := route(100000 * time.Hour); err == nil || !strings.Contains(err.Error(), "rules[0].timeout") {
		t.Errorf("a timeout longer than a Gateway API duration holds: %v", err)
	}
}

// TestGatewayPaths: exact and prefix paths the HTTPRoute CRD refuses are
// refused at the match's uri; the Istio dialect still takes them.
func TestGatewayPaths(t *testing.T) {
	spec := func(uri routing.StringMatch) routing.Spec {
		return routing.Spec{Name: "m", Namespace: "ml", Host: "m", Subsets: []routing.Subset{{Name: "v1"}},
			Rules: []routing.Rule{{Match: []routing.Match{{URI: &uri}}, Split: []routing.Destination{{Subset: "v1", Weight: 100}}}}}
	}
	for _, uri := range []routing.StringMatch{routing.Exact("/predictü"), routing.Exact("/a b"), routing.Exact("/a//b"), routing.Prefix("/a/../b/"), routing.Exact("/a%2Fb"), routing.Exact("/a#b")} {
		s := spec(uri)
		if err := s.Validate(); err != nil {
			t.Errorf("%q: the Istio dialect refuses it: %v", uri.Value, err)
		}
		if err := s.ValidateGatewayAPI(); err == nil || !strings.Contains(err.Error(), "rules[0].match[0].uri") {
			t.Errorf("%q: %v, want a problem at rules[0].match[0].uri", uri.Value, err)
		}
	}
	for _, uri := range []routing.StringMatch{routing.Exact("/v1/models/m:predict"), routing.Exact("/predict%C3%BC"), routing.Prefix("/v2/"), routing.Regex("/a b.*")} {
		if err := spec(uri).ValidateGatewayAPI(); err != nil {
			t.Errorf("%q: %v", uri.Value, err)
		}
	}
}
