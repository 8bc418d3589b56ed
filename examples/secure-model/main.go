// Command secure-model prints the manifests of a locked-down model
// endpoint: strict mTLS and a default deny in its namespace; only the
// frontend of namespace web may POST to the ranker model; the ingress
// gateway requires a valid JWT and may call only the predict endpoint; the
// model's pods run as their own service account, which reads the S3 model
// store through an IAM role, and their proxies may reach that store and
// nothing else.
//
//	go run ./examples/secure-model
package main

import "github.com/mlmesh/mlmesh/internal/scenarios"

// The App is scenarios.SecureModel (internal/scenarios): the value the golden files
// of testdata pin and the conformance suite checks, in the routing dialect
// of -api. Print renders it with mesh.Render, or says what is wrong.
func main() {
	app, err := scenarios.Dialect("secure-model", false, scenarios.APIFlag())
	scenarios.Print("secure-model", app, err)
}
