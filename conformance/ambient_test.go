package conformance

import (
	"fmt"
	"strings"
	"testing"

	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestAmbientEquivalence feeds each example in an ambient namespace to
// Istio's config generator and holds the routes its waypoint applies, for
// every Service of the App, to the routes a sidecar receives in the Istio
// dialect: same matchers, weights per version (subset cluster ↔ version
// Service), timeouts and mirrors. The Gateway API gateway's routes are held
// to the Istio gateway's likewise.
func TestAmbientEquivalence(t *testing.T) {
	eachDialect(t, ".ambient", func(t *testing.T, ib, ab *Bundle, isc, igw RouteTable, base string) {
		m, err := NewAmbientMesh(t, ab)
		if err != nil {
			t.Fatal(err)
		}
		want := usingWaypoint(ab, fqdnOnly(onServicePorts(ib, isc)))
		if routeCount(want) == 0 {
			t.Fatal("no routes to compare")
		}
		for _, p := range sameRoutesBut("waypoint", want, m.WaypointRoutes(), true, retriesDiffer[base]) {
			t.Error(p)
		}
		if igw != nil {
			ggw := unpooled(ab, m.GatewayRoutes())
			if routeCount(ggw) == 0 {
				t.Error("the gateway has no routes")
			}
			// Pools on both sides, when the base is the Gateway API's
			// dialect too (an LLM endpoint's).
			for _, p := range sameRoutesBut("gateway", unpooled(ib, igw), ggw, false, retriesDiffer[base]) {
				t.Error(p)
			}
		}
		t.Logf("waypoint: %d routes; gateway: %d", routeCount(want), routeCount(igw))
	})
}

// TestAmbientEquivalenceCatches is the negative control: a changed weight,
// and a Service that no longer uses the waypoint, are each reported.
func TestAmbientEquivalenceCatches(t *testing.T) {
	byName := bundlesByName(t)
	ib, ab := byName["llm"], byName["llm.ambient"]
	isc, _, err := EnvoyRoutes(t, ib, ib.Namespace(), false)
	if err != nil {
		t.Fatal(err)
	}
	want := fqdnOnly(onServicePorts(ib, isc))
	for name, breakIt := range map[string]func(o *unstructured.Unstructured){
		"weight": func(o *unstructured.Unstructured) {
			if o.GetKind() == "HTTPRoute" && o.GetName() == "chat" {
				rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
				refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
				refs[0].(map[string]any)["weight"] = int64(80)
				_ = unstructured.SetNestedSlice(rules[0].(map[string]any), refs, "backendRefs")
				_ = unstructured.SetNestedSlice(o.Object, rules, "spec", "rules")
			}
		},
		"use-waypoint": func(o *unstructured.Unstructured) {
			if o.GetKind() == "Service" && o.GetName() == "chat" {
				l := o.GetLabels()
				delete(l, "istio.io/use-waypoint")
				o.SetLabels(l)
			}
		},
	} {
		mutated := &Bundle{Name: ab.Name}
		for _, o := range ab.Objects {
			c := o.DeepCopy()
			breakIt(c)
			mutated.Objects = append(mutated.Objects, c)
		}
		m, err := NewAmbientMesh(t, mutated)
		if err != nil {
			t.Fatal(err)
		}
		if len(sameRoutesBut("waypoint", want, m.WaypointRoutes(), true, retriesDiffer["llm"])) == 0 {
			t.Errorf("a broken %s went unnoticed", name)
		}
	}
}

func routeCount(t RouteTable) int {
	n := 0
	for _, hosts := range t {
		for _, routes := range hosts {
			n += len(routes)
		}
	}
	return n
}

func bundlesByName(t *testing.T) map[string]*Bundle {
	t.Helper()
	bundles, err := ExampleBundles()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Bundle{}
	for _, b := range bundles {
		out[b.Name] = b
	}
	return out
}

// usingWaypoint keeps, of a route table, the Services that use the
// waypoint in bundle b (istio.io/use-waypoint): the others (an LLM
// endpoint's body router, which only its gateway calls) are reached
// through ztunnel alone, with no routes of the waypoint's.
func usingWaypoint(b *Bundle, t RouteTable) RouteTable {
	uses := map[string]bool{}
	for _, o := range b.Objects {
		if o.GetKind() == "Service" && o.GetLabels()["istio.io/use-waypoint"] != "" {
			uses[o.GetName()+"."+o.GetNamespace()+".svc.cluster.local"] = true
		}
	}
	out := RouteTable{}
	for rc, hosts := range t {
		for domain, routes := range hosts {
			if uses[strings.TrimSuffix(domain, ".")] {
				if out[rc] == nil {
					out[rc] = map[string][]Route{}
				}
				out[rc][domain] = routes
			}
		}
	}
	return out
}

// fqdnOnly keeps, of a sidecar's route table, each Service's full name:
// a waypoint matches the Service's VIP, not the names a client may write.
func fqdnOnly(t RouteTable) RouteTable {
	out := RouteTable{}
	for rc, hosts := range t {
		for domain, routes := range hosts {
			if strings.HasSuffix(domain, ".svc.cluster.local") {
				if out[rc] == nil {
					out[rc] = map[string][]Route{}
				}
				out[rc][domain] = routes
			}
		}
	}
	return out
}

// TestAmbientAuthorization evaluates, as Envoy does, the RBAC filters that
// secure-model's waypoint applies to requests for the ranker's Services:
// the model's own rules, now attached to its Services, and nothing else.
// The negative control drops the model's policy: the waypoint no longer
// refuses anything.
func TestAmbientAuthorization(t *testing.T) {
	b := bundlesByName(t)["secure-model.ambient"]
	gatewayA := "spiffe://cluster.local/ns/ranking/sa/ranking-gateway-istio"
	cases := []struct {
		svc  string
		req  Request
		want bool
	}{
		{"ranker", Request{Peer: frontend, Method: "POST", Path: predict, Port: 8501}, true},
		{"ranker", Request{Peer: frontend, Method: "POST", Path: "/tensorflow.serving.PredictionService/Predict", Port: 8500}, true},
		{"ranker", Request{Peer: frontend, Method: "GET", Path: "/v1/models/ranker", Port: 8501}, false},
		{"ranker", Request{Peer: "spiffe://cluster.local/ns/web/sa/backend", Method: "POST", Path: predict, Port: 8501}, false},
		{"ranker", Request{Method: "POST", Path: predict, Port: 8501}, false},
		// The gateway's route sends to the version's Service.
		{"ranker-v1", Request{Peer: gatewayA, Method: "POST", Path: predict, Port: 8501}, true},
		{"ranker-v1", Request{Peer: gatewayA, Method: "POST", Path: "/v1/models/ranker/metadata", Port: 8501}, false},
		{"ranker-v1", Request{Peer: gatewayA, Method: "GET", Path: predict, Port: 8501}, false},
		{"ranker-v1", Request{Peer: gatewayP, Method: "POST", Path: predict, Port: 8501}, false},
	}
	evaluate := func(b *Bundle) (refused int) {
		m, err := NewAmbientMesh(t, b)
		if err != nil {
			t.Fatal(err)
		}
		chains := m.WaypointChains()
		for _, c := range cases {
			name := fmt.Sprintf("inbound-vip|%d|http|%s.ranking.svc.cluster.local", c.req.Port, c.svc)
			h, ok := chains[name]
			if !ok {
				t.Fatalf("the waypoint has no chain %s", name)
			}
			var rbac []*hcm.HttpFilter
			for _, f := range h.HttpFilters {
				if f.Name == "envoy.filters.http.rbac" {
					rbac = append(rbac, f)
				}
			}
			got, _, err := Authorized(rbac, c.req)
			if err != nil {
				t.Fatal(err)
			}
			if !got {
				refused++
			}
			if b.Name == "secure-model.ambient" && got != c.want {
				t.Errorf("waypoint, %s, %s: allowed %v, want %v", c.svc, c.req, got, c.want)
			}
		}
		return refused
	}
	wantRefused := 0
	for _, c := range cases {
		if !c.want {
			wantRefused++
		}
	}
	if n := evaluate(b); n != wantRefused {
		t.Errorf("%d requests refused, want %d", n, wantRefused)
	}
	dropped := &Bundle{Name: "dropped"}
	for _, o := range b.Objects {
		if !(o.GetKind() == "AuthorizationPolicy" && o.GetName() == "ranker") {
			dropped.Objects = append(dropped.Objects, o)
		}
	}
	if n := evaluate(dropped); n != 0 {
		t.Errorf("without the ranker's policy the waypoint still refused %d requests", n)
	}
}
