package mesh_test

import (
	"testing"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// routedPorts returns, per HTTP route of the model's mesh VirtualService,
// the port it routes to and its abort (HTTP status, or gRPC status).
func routedPorts(t *testing.T, m mesh.Model) map[uint32]string {
	t.Helper()
	objs, err := mesh.Build(mesh.App{Namespace: mesh.Namespace{Name: "ml"}, Models: []mesh.Model{m}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32]string{}
	for _, o := range objs {
		vs, ok := o.(*networkingv1.VirtualService)
		if !ok {
			continue
		}
		for _, hr := range vs.Spec.Http {
			abort := "none"
			if a := hr.GetFault().GetAbort(); a != nil {
				if g := a.GetGrpcStatus(); g != "" {
					abort = "grpc " + g
				} else {
					abort = "http " + string(rune('0'+a.GetHttpStatus()/100)) + "xx"
				}
			}
			port := hr.Route[0].Destination.GetPort().GetNumber()
			if len(hr.Match) == 0 || hr.Match[0].Port != port {
				// Unmatched, the rule would take the requests of every
				// port of the Service, metrics and management included.
				t.Errorf("route to port %d does not match on it: %v", port, hr.Match)
			}
			got[port] = abort
		}
	}
	return got
}

// TestOnlyInferencePortsRouted: Triton's metrics port and TorchServe's
// management and metrics ports get no traffic rules; an HTTP abort answers
// gRPC clients with the gRPC status gRPC maps it to, unless the rule gives
// one.
func TestOnlyInferencePortsRouted(t *testing.T) {
	abort := func(a routing.Abort) []routing.Rule {
		a.Percent = 100
		return []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 80, "v2": 20}), Fault: &routing.Fault{Abort: &a}}}
	}
	versions := []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}, {Name: "v2", ModelURI: "s3://m/2"}}
	for _, tc := range []struct {
		name    string
		runtime serving.Runtime
		abort   routing.Abort
		want    map[uint32]string
	}{
		{"triton, HTTP status only", serving.Triton(), routing.Abort{HTTPStatus: 503},
			map[uint32]string{8000: "http 5xx", 8001: "grpc UNAVAILABLE"}},
		{"triton, both statuses", serving.Triton(), routing.Abort{HTTPStatus: 500, GRPCStatus: "INTERNAL"},
			map[uint32]string{8000: "http 5xx", 8001: "grpc INTERNAL"}},
		{"tf serving, 404", serving.TFServing(), routing.Abort{HTTPStatus: 404},
			map[uint32]string{8500: "grpc UNIMPLEMENTED", 8501: "http 4xx"}},
		{"torchserve", serving.TorchServe(), routing.Abort{HTTPStatus: 503},
			map[uint32]string{8080: "http 5xx"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mesh.Model{Model: serving.Model{Name: "m", Runtime: tc.runtime, Versions: versions}, Traffic: mesh.Traffic{Rules: abort(tc.abort)}}
			got := routedPorts(t, m)
			if len(got) != len(tc.want) {
				t.Errorf("routes on ports %v, want %v", got, tc.want)
			}
			for port, want := range tc.want {
				if got[port] != want {
					t.Errorf("port %d: abort %q, want %q", port, got[port], want)
				}
			}
		})
	}
}
