package routing_test

import (
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/routing"
)

// TestPoolBackends: on a gateway, a pooled host's subsets are the
// InferencePools of their names, without a port, and the mirror still goes
// to the version's Service; a mesh route refuses pools.
func TestPoolBackends(t *testing.T) {
	s := gatewaySpec()
	s.Host, s.Hosts, s.Gateways = "chat.example.com", nil, []string{"ml/edge"}
	for i := range s.Rules {
		for j := range s.Rules[i].Split {
			s.Rules[i].Split[j].Host = "m.ml.svc.cluster.local"
		}
		for j := range s.Rules[i].Mirror {
			s.Rules[i].Mirror[j].Host = "m.ml.svc.cluster.local"
		}
	}
	s.Pools = []string{"m.ml.svc.cluster.local"}
	routes, err := routing.GatewayRoutes(s)
	if err != nil {
		t.Fatal(err)
	}
	refs := routes[0].Spec.Rules[1].BackendRefs
	if len(refs) != 2 {
		t.Fatalf("backends %+v", refs)
	}
	for k, name := range []string{"m-v1", "m-v2"} {
		r := refs[k].BackendObjectReference
		if string(r.Name) != name || r.Group == nil || *r.Group != "inference.networking.k8s.io" || r.Kind == nil || *r.Kind != "InferencePool" || r.Port != nil {
			t.Errorf("backend %d: %+v", k, r)
		}
	}
	if m := routes[0].Spec.Rules[1].Filters[0].RequestMirror.BackendRef; m.Kind != nil || m.Name != "m-v2" || m.Port == nil {
		t.Errorf("the mirror goes to the version's Service: %+v", m)
	}

	mesh := gatewaySpec()
	mesh.Pools = []string{mesh.Host}
	if _, err := routing.GatewayRoutes(mesh); err == nil || !strings.Contains(err.Error(), "pools: Forbidden: InferencePools are backends of routes on gateways") {
		t.Errorf("a mesh route with pools: %v", err)
	}
}
