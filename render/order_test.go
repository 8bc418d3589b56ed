package render_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
)

// TestDenyingPoliciesLast: an AuthorizationPolicy that denies (DENY, or
// ALLOW with no rules) is applied after those that allow, whatever their
// names and whether typed or unstructured, so that a default deny never
// cuts traffic that a policy about to be applied would let through; and it
// is removed first.
func TestDenyingPoliciesLast(t *testing.T) {
	allow, err := security.AuthorizationPolicy(security.Policy{Name: "z-allow", Namespace: "ns", Rules: []security.Rule{{From: []security.Caller{{Namespace: "web"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	nothing, err := security.AuthorizationPolicy(security.Policy{Name: "a-default-deny", Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	deny := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
		"metadata": map[string]any{"name": "b-deny", "namespace": "ns"},
		"spec":     map[string]any{"action": "DENY", "rules": []any{map[string]any{}}},
	}}
	uallow := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
		"metadata": map[string]any{"name": "y-allow", "namespace": "ns"},
		"spec":     map[string]any{"rules": []any{map[string]any{}}},
	}}
	sa, err := security.ServiceAccount(security.Identity{Name: "m", Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	objs := []render.Object{sa, deny, nothing, allow, uallow}
	render.Sort(objs)
	names := func() string {
		var out []string
		for _, o := range objs {
			out = append(out, o.GetName())
		}
		return strings.Join(out, " ")
	}
	if got, want := names(), "y-allow z-allow a-default-deny b-deny m"; got != want {
		t.Errorf("apply order %s, want %s", got, want)
	}
	render.RemovalOrder(objs)
	if got, want := names(), "m b-deny a-default-deny z-allow y-allow"; got != want {
		t.Errorf("removal order %s, want %s", got, want)
	}
}

// TestWaypointBeforeServices: a waypoint, typed or unstructured, goes
// before the Services that use it, and other Gateway API Gateways after
// the workloads, as before.
func TestWaypointBeforeServices(t *testing.T) {
	gw := func(name, class string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
			"metadata": map[string]any{"name": name, "namespace": "ns"},
			"spec":     map[string]any{"gatewayClassName": class},
		}}
	}
	svc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "svc", "namespace": "ns"},
	}}
	objs := []render.Object{gw("edge", "istio"), svc, waypoint(t, "typed-waypoint"), gw("waypoint", "istio-waypoint")}
	render.Sort(objs)
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName())
	}
	if got, want := strings.Join(names, " "), "typed-waypoint waypoint svc edge"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

func waypoint(t *testing.T, name string) *gatewayv1.Gateway {
	t.Helper()
	gw, err := ingress.Waypoint(ingress.WaypointSpec{Name: name, Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	return gw
}
