// Command kubeflow-inception prints the manifests of the Kubeflow rollout of
// seed 003: the inception model served by TensorFlow Serving, the sidecar
// injected by pod annotation only (the namespace is not labelled), egress to
// Google Cloud Storage for the model files, and 5% of traffic moved to v2.
//
//	go run ./examples/kubeflow-inception
package main

import "github.com/mlmesh/mlmesh/examples/scenarios"

func main() { scenarios.Main("kubeflow-inception") }
