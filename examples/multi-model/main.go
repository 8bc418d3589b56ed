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

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/serving"
)

func model(name string) mesh.Model {
	return mesh.Model{Model: serving.Model{
		Name:     name,
		Versions: []serving.Version{{Name: "v1", ModelURI: "gs://vjan-models/" + name + "/1"}},
	}}
}

func app() mesh.App {
	return mesh.App{
		Namespace: mesh.Namespace{Name: "models"},
		Models:    []mesh.Model{model("resnet"), model("inception"), model("mobilenet")},
		Gateways: []ingress.Gateway{{
			Name:    "models-gateway",
			Servers: []ingress.Server{{Port: 80, Hosts: []string{"models.example.com"}}},
		}},
		Routes: []mesh.Route{{
			Name:    "models",
			Gateway: "models-gateway",
			Hosts:   []string{"models.example.com"},
			Rules: mesh.HeaderSelector("x-model", map[string]string{
				"resnet":    "resnet",
				"inception": "inception",
				"mobilenet": "mobilenet",
			}),
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
		fmt.Fprintln(os.Stderr, "multi-model:", err)
		os.Exit(1)
	}
}
