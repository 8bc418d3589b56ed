package mesh_test

import (
	"os"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// The README's example: a TF Serving model with a 90/10 canary.
func ExampleBuild() {
	objs, err := mesh.Build(mesh.App{
		Namespace: mesh.Namespace{Name: "ml", MTLS: mesh.MTLSStrict},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name: "fraud",
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "s3://models/fraud/1"},
					{Name: "v2", ModelURI: "s3://models/fraud/2"},
				},
			},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{
				Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10}),
			}}},
		}},
	})
	if err != nil {
		panic(err)
	}
	for _, o := range objs {
		os.Stdout.WriteString(render.Describe(o) + "\n")
	}
	// Output:
	// Namespace ml
	// PeerAuthentication ml/default
	// Service ml/fraud
	// Deployment ml/fraud-v1
	// Deployment ml/fraud-v2
	// DestinationRule ml/fraud
	// VirtualService ml/fraud
}

// Validation reports every problem at once, each with its field path.
func ExampleBuild_errors() {
	_, err := mesh.Build(mesh.App{
		Namespace: mesh.Namespace{Name: "ml"},
		Models: []mesh.Model{{
			Model: serving.Model{Name: "fraud", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}, {Name: "v2", ModelURI: "s3://m/2"}}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{
				Split: []routing.Destination{{Subset: "v1", Weight: 90}, {Subset: "v3", Weight: 0}},
			}}},
		}},
	})
	os.Stdout.WriteString(err.Error() + "\n")
	// Output:
	// invalid mesh.App: models[0].traffic.rules[0].split: weights sum to 90, want 100; models[0].traffic.rules[0].split[1].subset: "v3" not found: want one of the subsets "v1", "v2"
}

// A single-version model on a custom image, streamed as YAML: its Service,
// Deployment, DestinationRule and VirtualService, with retries turned off.
func ExampleRender() {
	err := mesh.Render(os.Stdout, mesh.App{
		Namespace: mesh.Namespace{Name: "ml", Existing: true},
		Models: []mesh.Model{{
			Model: serving.Model{Name: "ranker", Runtime: serving.Custom("ghcr.io/example/ranker:1", serving.Port{Number: 8080}),
				Versions: []serving.Version{{Name: "v1"}}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: []routing.Destination{{Subset: "v1"}}, Retries: &routing.Retries{}}}},
		}},
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// apiVersion: v1
	// kind: Service
	// metadata:
	//   labels:
	//     app: ranker
	//     app.kubernetes.io/component: custom
	//     app.kubernetes.io/managed-by: mlmesh
	//     app.kubernetes.io/name: ranker
	//   name: ranker
	//   namespace: ml
	// spec:
	//   ports:
	//   - appProtocol: http
	//     name: http
	//     port: 8080
	//     protocol: TCP
	//     targetPort: http
	//   selector:
	//     app: ranker
	// ---
	// apiVersion: apps/v1
	// kind: Deployment
	// metadata:
	//   labels:
	//     app: ranker
	//     app.kubernetes.io/component: custom
	//     app.kubernetes.io/instance: ranker-v1
	//     app.kubernetes.io/managed-by: mlmesh
	//     app.kubernetes.io/name: ranker
	//     app.kubernetes.io/version: v1
	//     version: v1
	//   name: ranker-v1
	//   namespace: ml
	// spec:
	//   replicas: 1
	//   selector:
	//     matchLabels:
	//       app: ranker
	//       version: v1
	//   template:
	//     metadata:
	//       labels:
	//         app: ranker
	//         app.kubernetes.io/component: custom
	//         app.kubernetes.io/instance: ranker-v1
	//         app.kubernetes.io/managed-by: mlmesh
	//         app.kubernetes.io/name: ranker
	//         app.kubernetes.io/version: v1
	//         version: v1
	//     spec:
	//       containers:
	//       - env:
	//         - name: MODEL_NAME
	//           value: ranker
	//         - name: MODEL_URI
	//         image: ghcr.io/example/ranker:1
	//         name: model
	//         ports:
	//         - containerPort: 8080
	//           name: http
	//           protocol: TCP
	//         readinessProbe:
	//           tcpSocket:
	//             port: http
	//         securityContext:
	//           allowPrivilegeEscalation: false
	//           capabilities:
	//             drop:
	//             - ALL
	//       securityContext:
	//         runAsNonRoot: true
	//         runAsUser: 1000
	//         seccompProfile:
	//           type: RuntimeDefault
	// ---
	// apiVersion: networking.istio.io/v1
	// kind: DestinationRule
	// metadata:
	//   labels:
	//     app: ranker
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: ranker
	//   namespace: ml
	// spec:
	//   host: ranker.ml.svc.cluster.local
	//   subsets:
	//   - labels:
	//       version: v1
	//     name: v1
	// ---
	// apiVersion: networking.istio.io/v1
	// kind: VirtualService
	// metadata:
	//   labels:
	//     app: ranker
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: ranker
	//   namespace: ml
	// spec:
	//   hosts:
	//   - ranker.ml.svc.cluster.local
	//   http:
	//   - retries:
	//       attempts: 0
	//     route:
	//     - destination:
	//         host: ranker.ml.svc.cluster.local
	//         port:
	//           number: 8080
	//         subset: v1
	//       weight: 100
}
