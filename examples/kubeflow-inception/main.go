// Command kubeflow-inception prints the manifests of the Kubeflow rollout of
// seed 003: the inception model served by TensorFlow Serving, the sidecar
// injected by pod annotation only (the namespace is not labelled), egress to
// Google Cloud Storage for the model files, and 5% of traffic moved to v2.
//
//	go run ./examples/kubeflow-inception
//
// The App is scenarios.KubeflowInception, in internal/scenarios: the same value the
// golden files of testdata pin and the conformance suite checks.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
)

func main() {
	api := flag.String("api", "istio", scenarios.APIUsage)
	flag.Parse()

	// The scenario's mesh.App (scenarios.KubeflowInception), in the routing dialect asked
	// for.
	app, err := scenarios.Dialect("kubeflow-inception", false, *api)
	if err == nil {
		// Render validates the App (every problem at once, each at the
		// field it names), cross-checks its objects and writes them as a
		// canonical YAML stream in apply order.
		err = mesh.Render(os.Stdout, app)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeflow-inception:", err)
		os.Exit(1)
	}
}
