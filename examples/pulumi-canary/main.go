// Command pulumi-canary prints the canary of seed 004 done right: the
// ml-model v1 and v2 Deployments behind one Service, and 90/10 between two
// subsets of that one host. (The seed's sketch points its two destinations at
// two hosts, ml-model-v1 and ml-model-v2, that no Service defines: Envoy would
// answer 503.) The model speaks the Open Inference Protocol through MLServer.
//
//	go run ./examples/pulumi-canary
package main

import "github.com/mlmesh/mlmesh/internal/scenarios"

// The App is scenarios.PulumiCanary (internal/scenarios): the value the golden files
// of testdata pin and the conformance suite checks, in the routing dialect
// of -api. Print renders it with mesh.Render, or says what is wrong.
func main() {
	app, err := scenarios.Dialect("pulumi-canary", false, scenarios.APIFlag())
	scenarios.Print("pulumi-canary", app, err)
}
