// Command smart-canary prints the manifests of a "smart canary" (seed 001):
// requests whose user-agent matches the RE2 regex .*chrome.* go to v2 of
// vjan-service, every other request to v1.
//
//	go run ./examples/smart-canary
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mlmesh/mlmesh/examples/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
)

func run(w io.Writer) error {
	objs, err := mesh.Build(scenarios.SmartCanary(false))
	if err != nil {
		return err
	}
	return render.WriteYAML(w, objs)
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "smart-canary:", err)
		os.Exit(1)
	}
}
