// Command tfserving-canary prints the manifests of a 90/10 canary between two
// versions of a TensorFlow Serving model (seed 001): vjan-service v1 and v2,
// two replicas each, in a namespace labelled for sidecar injection, with
// strict mTLS.
//
//	go run ./examples/tfserving-canary
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
	objs, err := mesh.Build(scenarios.TFServingCanary(false))
	if err != nil {
		return err
	}
	return render.WriteYAML(w, objs)
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tfserving-canary:", err)
		os.Exit(1)
	}
}
