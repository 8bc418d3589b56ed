package routing_test

import (
	"fmt"

	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
)

// A smart canary: Chrome users go to v2, everyone else to v1.
func ExampleVirtualService() {
	vs, err := routing.VirtualService(routing.Spec{
		Name:      "vjan-service",
		Namespace: "vjan",
		Host:      "vjan-service.vjan.svc.cluster.local",
		Ports:     []uint32{8501},
		Subsets:   []routing.Subset{{Name: "v1"}, {Name: "v2"}},
		Rules: []routing.Rule{
			{
				Match: []routing.Match{{Headers: map[string]routing.StringMatch{"user-agent": routing.Regex(".*chrome.*")}}},
				Split: []routing.Destination{{Subset: "v2"}},
			},
			{Split: []routing.Destination{{Subset: "v1", Weight: 100}, {Subset: "v2", Weight: 0}}},
		},
	})
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(vs)
	fmt.Print(string(b))
	// Output:
	// apiVersion: networking.istio.io/v1
	// kind: VirtualService
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: vjan-service
	//   namespace: vjan
	// spec:
	//   hosts:
	//   - vjan-service.vjan.svc.cluster.local
	//   http:
	//   - match:
	//     - headers:
	//         user-agent:
	//           regex: .*chrome.*
	//     route:
	//     - destination:
	//         host: vjan-service.vjan.svc.cluster.local
	//         port:
	//           number: 8501
	//         subset: v2
	//       weight: 100
	//   - route:
	//     - destination:
	//         host: vjan-service.vjan.svc.cluster.local
	//         port:
	//           number: 8501
	//         subset: v1
	//       weight: 100
	//     - destination:
	//         host: vjan-service.vjan.svc.cluster.local
	//         port:
	//           number: 8501
	//         subset: v2
	//       weight: 0
}

// Subsets and circuit breaking for the same host.
func ExampleDestinationRule() {
	dr, err := routing.DestinationRule(routing.Spec{
		Name:    "vjan-service",
		Host:    "vjan-service.default.svc.cluster.local",
		Subsets: []routing.Subset{{Name: "v1"}, {Name: "v2"}},
		Rules:   []routing.Rule{{Split: []routing.Destination{{Subset: "v1"}}}},
		Policy: &routing.TrafficPolicy{
			TLS:              routing.TLSIstioMutual,
			OutlierDetection: &routing.OutlierDetection{Consecutive5xxErrors: 5},
		},
	})
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(dr)
	fmt.Print(string(b))
	// Output:
	// apiVersion: networking.istio.io/v1
	// kind: DestinationRule
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: vjan-service
	//   namespace: default
	// spec:
	//   host: vjan-service.default.svc.cluster.local
	//   subsets:
	//   - labels:
	//       version: v1
	//     name: v1
	//   - labels:
	//       version: v2
	//     name: v2
	//   trafficPolicy:
	//     outlierDetection:
	//       consecutive5xxErrors: 5
	//     tls:
	//       mode: ISTIO_MUTUAL
}
