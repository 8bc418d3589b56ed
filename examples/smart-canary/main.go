// Command smart-canary prints the manifests of a "smart canary" (seed 001):
// requests whose user-agent matches the RE2 regex .*chrome.* go to v2 of
// vjan-service, every other request to v1.
//
//	go run ./examples/smart-canary
//
// The App is scenarios.SmartCanary, in internal/scenarios: the same value the
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

	// The scenario's mesh.App (scenarios.SmartCanary), in the routing dialect asked
	// for.
	app, err := scenarios.Dialect("smart-canary", false, *api)
	if err == nil {
		// Render validates the App (every problem at once, each at the
		// field it names), cross-checks its objects and writes them as a
		// canonical YAML stream in apply order.
		err = mesh.Render(os.Stdout, app)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "smart-canary:", err)
		os.Exit(1)
	}
}
