// Command llm prints the manifests of a large language model on vLLM: one
// GPU per pod, v1 and v2 at 90/10, each autoscaled on the mesh's requests
// per second with a disruption budget, /dev/shm and a weights cache, a
// startup probe sized for loading the model, and the gateway in front with
// a long timeout and retries off.
//
//	go run ./examples/llm
//	go run ./examples/llm -pools   # InferencePools, in the Gateway API dialect
package main

import (
	"flag"

	"github.com/mlmesh/mlmesh/internal/scenarios"
)

// The App is scenarios.LLM (internal/scenarios): the value the golden files
// of testdata pin and the conformance suite checks, in the routing dialect
// of -api. Print renders it with mesh.Render, or says what is wrong.
func main() {
	pools := flag.Bool("pools", false, "print the Gateway API dialect with an InferencePool per version (a header preview of v2)")
	if api := scenarios.APIFlag(); *pools {
		scenarios.Print("llm", scenarios.LLMPools(), nil)
	} else {
		app, err := scenarios.Dialect("llm", false, api)
		scenarios.Print("llm", app, err)
	}
}
