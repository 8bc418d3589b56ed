// Command algorithm-selector prints the manifests of the algorithm selector of
// seeds 000 and 002: a namespace with sidecar injection, a ServiceEntry that
// lets the model servers read the S3 feature store, an ingress Gateway on port
// 31400, and a 70/30 canary between v1 and v2. With -promote it prints the
// promoted state: all traffic on v2, v1 kept running at weight 0 for a quick
// rollback.
//
//	go run ./examples/algorithm-selector [-promote]
package main

import (
	"flag"

	"github.com/mlmesh/mlmesh/internal/scenarios"
)

// The App is scenarios.AlgorithmSelector (internal/scenarios): the value the golden files
// of testdata pin and the conformance suite checks, in the routing dialect
// of -api. Print renders it with mesh.Render, or says what is wrong.
func main() {
	promote := flag.Bool("promote", false, "print the promoted state: 100% of traffic on v2")
	api := scenarios.APIFlag() // after the program's own flags: it parses them all
	app, err := scenarios.Dialect("algorithm-selector", *promote, api)
	scenarios.Print("algorithm-selector", app, err)
}
