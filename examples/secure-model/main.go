// Command secure-model prints the manifests of a locked-down model
// endpoint: strict mTLS and a default deny in its namespace; only the
// frontend of namespace web may POST to the ranker model; the ingress
// gateway requires a valid JWT and may call only the predict endpoint; the
// model's pods run as their own service account, which reads the S3 model
// store through an IAM role, and their proxies may reach that store and
// nothing else.
//
//	go run ./examples/secure-model
//
// The App is scenarios.SecureModel, in internal/scenarios: the same value the
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

	// The scenario's mesh.App (scenarios.SecureModel), in the routing dialect asked
	// for.
	app, err := scenarios.Dialect("secure-model", false, *api)
	if err == nil {
		// Render validates the App (every problem at once, each at the
		// field it names), cross-checks its objects and writes them as a
		// canonical YAML stream in apply order.
		err = mesh.Render(os.Stdout, app)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "secure-model:", err)
		os.Exit(1)
	}
}
