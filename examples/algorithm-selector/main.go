// Command algorithm-selector prints the manifests of the algorithm selector of
// seeds 000 and 002: a namespace with sidecar injection, a ServiceEntry that
// lets the model servers read the S3 feature store, an ingress Gateway on port
// 31400, and a 70/30 canary between v1 and v2. With -promote it prints the
// promoted state: all traffic on v2, v1 kept running at weight 0 for a quick
// rollback.
//
//	go run ./examples/algorithm-selector [-promote]
package main

import "github.com/mlmesh/mlmesh/examples/scenarios"

func main() { scenarios.Main("algorithm-selector") }
