// Command llm prints the manifests of a large language model on vLLM: one
// GPU per pod, v1 and v2 at 90/10, each autoscaled on the mesh's requests
// per second with a disruption budget, /dev/shm and a weights cache, a
// startup probe sized for loading the model, and the gateway in front with
// a long timeout and retries off.
//
//	go run ./examples/llm
//	go run ./examples/llm -pools   # InferencePools, in the Gateway API dialect
package main

import "github.com/mlmesh/mlmesh/examples/scenarios"

func main() { scenarios.Main("llm") }
