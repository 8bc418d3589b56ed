// Command tfserving-canary prints the manifests of a 90/10 canary between two
// versions of a TensorFlow Serving model (seed 001): vjan-service v1 and v2,
// two replicas each, in a namespace labelled for sidecar injection, with
// strict mTLS.
//
//	go run ./examples/tfserving-canary
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
		Namespace: mesh.Namespace{Name: "vjan", MTLS: mesh.MTLSStrict},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name:    "vjan-service",
				Runtime: serving.TFServing(),
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "gs://vjan-models/vjan/1", Replicas: &replicas},
					{Name: "v2", ModelURI: "gs://vjan-models/vjan/2", Replicas: &replicas},
				},
			},
			Traffic: mesh.Traffic{
				Rules: []routing.Rule{{
					Split: mesh.SplitOf(map[string]int32{"v1": 90, "v2": 10}),
				}},
				Policy: &routing.TrafficPolicy{TLS: routing.TLSIstioMutual},
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
		fmt.Fprintln(os.Stderr, "tfserving-canary:", err)
		os.Exit(1)
	}
}
