// Command tfserving-canary prints the manifests of a 90/10 canary between two
// versions of a TensorFlow Serving model (seed 001): vjan-service v1 and v2,
// two replicas each, in a namespace labelled for sidecar injection, with
// strict mTLS.
//
//	go run ./examples/tfserving-canary
package main

import "github.com/mlmesh/mlmesh/examples/scenarios"

func main() { scenarios.Main("tfserving-canary") }
