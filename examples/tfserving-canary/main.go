// Command tfserving-canary prints the manifests of a 90/10 canary between two
// versions of a TensorFlow Serving model (seed 001): vjan-service v1 and v2,
// two replicas each, in a namespace labelled for sidecar injection, with
// strict mTLS.
//
//	go run ./examples/tfserving-canary
package main

import "github.com/mlmesh/mlmesh/internal/scenarios"

// The App is scenarios.TFServingCanary (internal/scenarios): the value the golden files
// of testdata pin and the conformance suite checks, in the routing dialect
// of -api. Print renders it with mesh.Render, or says what is wrong.
func main() {
	app, err := scenarios.Dialect("tfserving-canary", false, scenarios.APIFlag())
	scenarios.Print("tfserving-canary", app, err)
}
