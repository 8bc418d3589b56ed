// Command multi-model prints the manifests of "smart canarization" (seed
// 001): each model in its own Deployment and Service, all reached through one
// public host, models.example.com, with the model chosen by the x-model
// request header. A request naming no known model gets 404.
//
//	go run ./examples/multi-model
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
	objs, err := mesh.Build(scenarios.MultiModel(false))
	if err != nil {
		return err
	}
	return render.WriteYAML(w, objs)
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "multi-model:", err)
		os.Exit(1)
	}
}
