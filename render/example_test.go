package render_test

import (
	"os"

	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
)

// Objects in any order come out in apply order, canonical.
func ExampleWriteYAML() {
	spec := routing.Spec{
		Name: "fraud", Namespace: "ml", Host: "fraud.ml.svc.cluster.local",
		Subsets: []routing.Subset{{Name: "v1"}, {Name: "v2"}},
		Rules:   []routing.Rule{{Split: []routing.Destination{{Subset: "v1", Weight: 100}, {Subset: "v2", Weight: 0}}}},
	}
	vs, _ := routing.VirtualService(spec)
	dr, _ := routing.DestinationRule(spec)
	if err := render.WriteYAML(os.Stdout, []render.Object{vs, dr}); err != nil {
		panic(err)
	}
	// Output:
	// apiVersion: networking.istio.io/v1
	// kind: DestinationRule
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: fraud
	//   namespace: ml
	// spec:
	//   host: fraud.ml.svc.cluster.local
	//   subsets:
	//   - labels:
	//       version: v1
	//     name: v1
	//   - labels:
	//       version: v2
	//     name: v2
	// ---
	// apiVersion: networking.istio.io/v1
	// kind: VirtualService
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: fraud
	//   namespace: ml
	// spec:
	//   hosts:
	//   - fraud.ml.svc.cluster.local
	//   http:
	//   - route:
	//     - destination:
	//         host: fraud.ml.svc.cluster.local
	//         subset: v1
	//       weight: 100
	//     - destination:
	//         host: fraud.ml.svc.cluster.local
	//         subset: v2
	//       weight: 0
}
