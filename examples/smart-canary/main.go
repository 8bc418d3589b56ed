// Command smart-canary prints the manifests of a "smart canary" (seed 001):
// requests whose user-agent matches the RE2 regex .*chrome.* go to v2 of
// vjan-service, every other request to v1.
//
//	go run ./examples/smart-canary
package main

import "github.com/mlmesh/mlmesh/internal/scenarios"

// The App is scenarios.SmartCanary (internal/scenarios): the value the golden files
// of testdata pin and the conformance suite checks, in the routing dialect
// of -api. Print renders it with mesh.Render, or says what is wrong.
func main() {
	app, err := scenarios.Dialect("smart-canary", false, scenarios.APIFlag())
	scenarios.Print("smart-canary", app, err)
}
