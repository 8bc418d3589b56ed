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

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

func app() mesh.App {
	replicas := int32(2)
	return mesh.App{
		Namespace: mesh.Namespace{Name: "vjan"},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name: "vjan-service",
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "gs://vjan-models/vjan/1", Replicas: &replicas},
					{Name: "v2", ModelURI: "gs://vjan-models/vjan/2"},
				},
			},
			Traffic: mesh.Traffic{Rules: []routing.Rule{
				{
					Name:  "chrome",
					Match: []routing.Match{{Headers: map[string]routing.StringMatch{"user-agent": routing.Regex(".*chrome.*")}}},
					Split: []routing.Destination{{Subset: "v2"}},
				},
				{
					Name:  "default",
					Split: []routing.Destination{{Subset: "v1"}},
				},
			}},
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
		fmt.Fprintln(os.Stderr, "smart-canary:", err)
		os.Exit(1)
	}
}
