// Command multi-model prints the manifests of "smart canarization" (seed
// 001): each model in its own Deployment and Service, all reached through one
// public host, models.example.com, with the model chosen by the x-model
// request header. A request naming no known model gets 404.
//
//	go run ./examples/multi-model
package main

import "github.com/mlmesh/mlmesh/examples/scenarios"

func main() { scenarios.Main("multi-model") }
