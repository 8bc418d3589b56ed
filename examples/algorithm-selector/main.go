// Command algorithm-selector prints the manifests of the algorithm selector of
// seeds 000 and 002: a namespace with sidecar injection, a ServiceEntry that
// lets the model servers read the S3 feature store, an ingress Gateway on port
// 31400, and a 70/30 canary between v1 and v2. With -promote it prints the
// promoted state: all traffic on v2, v1 kept running at weight 0 for a quick
// rollback.
//
//	go run ./examples/algorithm-selector [-promote]
//
// The App is scenarios.AlgorithmSelector, in internal/scenarios: the same value the
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
	promote := flag.Bool("promote", false, "print the promoted state: 100% of traffic on v2")
	api := flag.String("api", "istio", scenarios.APIUsage)
	flag.Parse()

	// The scenario's mesh.App (scenarios.AlgorithmSelector), in the routing dialect asked
	// for.
	app, err := scenarios.Dialect("algorithm-selector", *promote, *api)
	if err == nil {
		// Render validates the App (every problem at once, each at the
		// field it names), cross-checks its objects and writes them as a
		// canonical YAML stream in apply order.
		err = mesh.Render(os.Stdout, app)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "algorithm-selector:", err)
		os.Exit(1)
	}
}
