// Command kubeflow-inception prints the manifests of the Kubeflow rollout of
// seed 003: the inception model served by TensorFlow Serving, the sidecar
// injected by pod annotation only (the namespace is not labelled), egress to
// Google Cloud Storage for the model files, and 5% of traffic moved to v2.
//
//	go run ./examples/kubeflow-inception
package main

import "github.com/mlmesh/mlmesh/internal/scenarios"

// The App is scenarios.KubeflowInception (internal/scenarios): the value the golden files
// of testdata pin and the conformance suite checks, in the routing dialect
// of -api. Print renders it with mesh.Render, or says what is wrong.
func main() {
	app, err := scenarios.Dialect("kubeflow-inception", false, scenarios.APIFlag())
	scenarios.Print("kubeflow-inception", app, err)
}
