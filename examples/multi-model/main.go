// Command multi-model prints the manifests of "smart canarization" (seed
// 001): each model in its own Deployment and Service, all reached through one
// public host, models.example.com, with the model chosen by the x-model
// request header. A request naming no known model gets 404.
//
//	go run ./examples/multi-model
package main

import "github.com/mlmesh/mlmesh/internal/scenarios"

// The App is scenarios.MultiModel (internal/scenarios): the value the golden files
// of testdata pin and the conformance suite checks, in the routing dialect
// of -api. Print renders it with mesh.Render, or says what is wrong.
func main() {
	app, err := scenarios.Dialect("multi-model", false, scenarios.APIFlag())
	scenarios.Print("multi-model", app, err)
}
