// Command llm prints the manifests of a large language model on vLLM: one
// GPU per pod, v1 and v2 at 90/10, each autoscaled on the mesh's requests
// per second with a disruption budget, /dev/shm and a weights cache, a
// startup probe sized for loading the model, and the gateway in front with
// a long timeout and retries off.
//
//	go run ./examples/llm
//	go run ./examples/llm -pools   # InferencePools, in the Gateway API dialect
//
// The App is scenarios.LLM, in internal/scenarios: the same value the
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
	pools := flag.Bool("pools", false, "print the Gateway API dialect with an InferencePool per version (a header preview of v2)")
	api := flag.String("api", "istio", scenarios.APIUsage)
	flag.Parse()

	// The scenario's mesh.App (scenarios.LLM), in the routing dialect asked
	// for.
	app, err := scenarios.Dialect("llm", false, *api)
	if *pools {
		app, err = scenarios.LLMPools(), nil
	}
	if err == nil {
		// Render validates the App (every problem at once, each at the
		// field it names), cross-checks its objects and writes them as a
		// canonical YAML stream in apply order.
		err = mesh.Render(os.Stdout, app)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "llm:", err)
		os.Exit(1)
	}
}
