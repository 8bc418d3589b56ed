// Command smart-canary prints the manifests of a "smart canary" (seed 001):
// requests whose user-agent matches the RE2 regex .*chrome.* go to v2 of
// vjan-service, every other request to v1.
//
//	go run ./examples/smart-canary
package main

import "github.com/mlmesh/mlmesh/examples/scenarios"

func main() { scenarios.Main("smart-canary") }
