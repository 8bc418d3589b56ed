// Command pulumi-canary prints the canary of seed 004 done right: the
// ml-model v1 and v2 Deployments behind one Service, and 90/10 between two
// subsets of that one host. (The seed's sketch points its two destinations at
// two hosts, ml-model-v1 and ml-model-v2, that no Service defines: Envoy would
// answer 503.) The model speaks the Open Inference Protocol through MLServer.
//
//	go run ./examples/pulumi-canary
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
	objs, err := mesh.Build(scenarios.PulumiCanary(false))
	if err != nil {
		return err
	}
	return render.WriteYAML(w, objs)
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-canary:", err)
		os.Exit(1)
	}
}
