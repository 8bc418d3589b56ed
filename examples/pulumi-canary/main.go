// Command pulumi-canary prints the canary of seed 004 done right: the
// ml-model v1 and v2 Deployments behind one Service, and 90/10 between two
// subsets of that one host. (The seed's sketch points its two destinations at
// two hosts, ml-model-v1 and ml-model-v2, that no Service defines: Envoy would
// answer 503.) The model speaks the Open Inference Protocol through MLServer.
//
//	go run ./examples/pulumi-canary
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

func app() mesh.App {
	return mesh.App{
		Namespace: mesh.Namespace{Name: "ml"},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name:    "ml-model",
				Runtime: serving.OpenInference("seldonio/mlserver:1.6.1"),
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "s3://ml-models/ml-model/1"},
					{Name: "v2", ModelURI: "s3://ml-models/ml-model/2"},
				},
			},
			Traffic: mesh.Traffic{
				Rules: []routing.Rule{{
					Split: mesh.SplitOf(map[string]int32{"v1": 90, "v2": 10}),
				}},
			},
		}},
	}
}

func run(w io.Writer) error {
	objs, err := mesh.Build(app())
	if err != nil {
		return err
	}
	return render.WriteYAML(w, objs)
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-canary:", err)
		os.Exit(1)
	}
}
