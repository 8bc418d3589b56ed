package serving_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/serving"
)

// The Service of a TF Serving model: gRPC and REST, named for Istio's
// protocol selection.
func ExampleService() {
	svc, err := serving.Service(serving.Model{
		Name:      "resnet",
		Namespace: "ml",
		Versions:  []serving.Version{{Name: "v1", ModelURI: "gs://models/resnet"}},
	})
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(svc)
	fmt.Print(string(b))
	// Output:
	// apiVersion: v1
	// kind: Service
	// metadata:
	//   labels:
	//     app: resnet
	//     app.kubernetes.io/component: tfserving
	//     app.kubernetes.io/managed-by: mlmesh
	//     app.kubernetes.io/name: resnet
	//   name: resnet
	//   namespace: ml
	// spec:
	//   ports:
	//   - appProtocol: grpc
	//     name: grpc
	//     port: 8500
	//     protocol: TCP
	//     targetPort: grpc
	//   - appProtocol: http
	//     name: http
	//     port: 8501
	//     protocol: TCP
	//     targetPort: http
	//   selector:
	//     app: resnet
}

// A Triton version on a GPU, its pods opting in to the sidecar.
func ExampleDeployments() {
	ds, err := serving.Deployments(serving.Model{
		Name:     "bert",
		Runtime:  serving.Triton(),
		Sidecar:  serving.SidecarInject,
		Versions: []serving.Version{{Name: "v1", ModelURI: "s3://models/bert", GPUs: 1}},
	})
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(ds[0])
	fmt.Print(string(b))
	// Output:
	// apiVersion: apps/v1
	// kind: Deployment
	// metadata:
	//   labels:
	//     app: bert
	//     app.kubernetes.io/component: triton
	//     app.kubernetes.io/instance: bert-v1
	//     app.kubernetes.io/managed-by: mlmesh
	//     app.kubernetes.io/name: bert
	//     app.kubernetes.io/version: v1
	//     version: v1
	//   name: bert-v1
	//   namespace: default
	// spec:
	//   replicas: 1
	//   selector:
	//     matchLabels:
	//       app: bert
	//       version: v1
	//   template:
	//     metadata:
	//       annotations:
	//         proxy.istio.io/config: "{\"holdApplicationUntilProxyStarts\":true}"
	//       labels:
	//         app: bert
	//         app.kubernetes.io/component: triton
	//         app.kubernetes.io/instance: bert-v1
	//         app.kubernetes.io/managed-by: mlmesh
	//         app.kubernetes.io/name: bert
	//         app.kubernetes.io/version: v1
	//         sidecar.istio.io/inject: "true"
	//         version: v1
	//     spec:
	//       containers:
	//       - args:
	//         - --model-repository=s3://models/bert
	//         - --http-port=8000
	//         - --grpc-port=8001
	//         - --metrics-port=8002
	//         command:
	//         - tritonserver
	//         image: nvcr.io/nvidia/tritonserver:24.08-py3
	//         name: model
	//         ports:
	//         - containerPort: 8000
	//           name: http
	//           protocol: TCP
	//         - containerPort: 8001
	//           name: grpc
	//           protocol: TCP
	//         - containerPort: 8002
	//           name: http-metrics
	//           protocol: TCP
	//         readinessProbe:
	//           httpGet:
	//             path: /v2/health/ready
	//             port: http
	//         resources:
	//           limits:
	//             nvidia.com/gpu: "1"
	//         securityContext:
	//           allowPrivilegeEscalation: false
	//           capabilities:
	//             drop:
	//             - ALL
	//         startupProbe:
	//           failureThreshold: 60
	//           httpGet:
	//             path: /v2/health/ready
	//             port: http
	//           periodSeconds: 10
	//       securityContext:
	//         runAsNonRoot: true
	//         runAsUser: 1000
	//         seccompProfile:
	//           type: RuntimeDefault
	//       tolerations:
	//       - effect: NoSchedule
	//         key: nvidia.com/gpu
	//         operator: Exists
}

// A fleet of models on one runtime, with one resource request: a Checker
// checks the runtime and the requests once, and the rest of each Model,
// and requests of its own, as Check does.
func ExampleChecker() {
	rt := serving.TFServing()
	shared := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	var checker serving.Checker
	for _, m := range []struct {
		name     string
		requests corev1.ResourceList
	}{
		{"ranker", shared},
		{"scorer", shared},
		{"embedder", corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}},
	} {
		model := serving.Model{Name: m.name, Runtime: rt, Versions: []serving.Version{
			{Name: "v1", ModelURI: "s3://models/" + m.name, Resources: corev1.ResourceRequirements{Requests: m.requests}},
		}}
		c, err := checker.Check(&model)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(c.Deployment(0, nil).Name, "checked")
	}
	// Output:
	// ranker-v1 checked
	// scorer-v1 checked
	// invalid serving.Model: versions[0].resources.requests[cpu]: invalid value "-1": must be 0 or more
}
