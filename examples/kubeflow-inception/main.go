// Command kubeflow-inception prints the manifests of the Kubeflow rollout of
// seed 003: the inception model served by TensorFlow Serving, the sidecar
// injected by pod annotation only (the namespace is not labelled), egress to
// Google Cloud Storage for the model files, and 5% of traffic moved to v2.
//
//	go run ./examples/kubeflow-inception
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mlmesh/mlmesh/examples/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
)

func run(w io.Writer) error {
	objs, err := mesh.Build(scenarios.KubeflowInception(false))
	if err != nil {
		return err
	}
	return render.WriteYAML(w, objs)
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kubeflow-inception:", err)
		os.Exit(1)
	}
}
