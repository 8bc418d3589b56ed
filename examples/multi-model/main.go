// Command multi-model prints the manifests of "smart canarization" (seed
// 001): each model in its own Deployment and Service, all reached through one
// public host, models.example.com, with the model chosen by the x-model
// request header. A request naming no known model gets 404.
//
//	go run ./examples/multi-model
//
// The App is scenarios.MultiModel, in internal/scenarios: the same value the
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

	// The scenario's mesh.App (scenarios.MultiModel), in the routing dialect asked
	// for.
	app, err := scenarios.Dialect("multi-model", false, *api)
	if err == nil {
		// Render validates the App (every problem at once, each at the
		// field it names), cross-checks its objects and writes them as a
		// canonical YAML stream in apply order.
		err = mesh.Render(os.Stdout, app)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "multi-model:", err)
		os.Exit(1)
	}
}
