// Command tfserving-canary prints the manifests of a 90/10 canary between two
// versions of a TensorFlow Serving model (seed 001): vjan-service v1 and v2,
// two replicas each, in a namespace labelled for sidecar injection, with
// strict mTLS.
//
//	go run ./examples/tfserving-canary
//
// The App is scenarios.TFServingCanary, in internal/scenarios: the same value the
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

	// The scenario's mesh.App (scenarios.TFServingCanary), in the routing dialect asked
	// for.
	app, err := scenarios.Dialect("tfserving-canary", false, *api)
	if err == nil {
		// Render validates the App (every problem at once, each at the
		// field it names), cross-checks its objects and writes them as a
		// canonical YAML stream in apply order.
		err = mesh.Render(os.Stdout, app)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tfserving-canary:", err)
		os.Exit(1)
	}
}
