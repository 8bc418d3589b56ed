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

// Many models routed by one set of rules: a Checker checks the shared
// rules and policy once, and the rest of each Spec as Check does; rules
// it found valid are checked again against a Spec of other subsets.
func ExampleChecker() {
	rules := []routing.Rule{{Split: []routing.Destination{{Subset: "v1", Weight: 90}, {Subset: "v2", Weight: 10}}}}
	policy := &routing.TrafficPolicy{TLS: routing.TLSIstioMutual}
	var checker routing.Checker
	for _, m := range []struct {
		name     string
		versions []string
	}{{"ranker", []string{"v1", "v2"}}, {"scorer", []string{"v1", "v2"}}, {"embedder", []string{"v1"}}} {
		spec := routing.Spec{
			Name:      m.name,
			Namespace: "models",
			Host:      m.name + ".models.svc.cluster.local",
			Rules:     rules,
			Policy:    policy,
		}
		for _, v := range m.versions {
			spec.Subsets = append(spec.Subsets, routing.Subset{Name: v})
		}
		c, err := checker.Check(&spec)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(c.DestinationRule(nil).Name, "checked")
	}
	// Output:
	// ranker checked
	// scorer checked
	// invalid routing.Spec: rules[0].split[1].subset: "v2" not found: want one of the subsets "v1"
}
