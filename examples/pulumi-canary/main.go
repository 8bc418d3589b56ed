// Command pulumi-canary prints the canary of seed 004 done right: the
// ml-model v1 and v2 Deployments behind one Service, and 90/10 between two
// subsets of that one host. (The seed's sketch points its two destinations at
// two hosts, ml-model-v1 and ml-model-v2, that no Service defines: Envoy would
// answer 503.) The model speaks the Open Inference Protocol through MLServer.
//
//	go run ./examples/pulumi-canary
//
// The App is scenarios.PulumiCanary, in internal/scenarios: the same value the
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

	// The scenario's mesh.App (scenarios.PulumiCanary), in the routing dialect asked
	// for.
	app, err := scenarios.Dialect("pulumi-canary", false, *api)
	if err == nil {
		// Render validates the App (every problem at once, each at the
		// field it names), cross-checks its objects and writes them as a
		// canonical YAML stream in apply order.
		err = mesh.Render(os.Stdout, app)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-canary:", err)
		os.Exit(1)
	}
}
