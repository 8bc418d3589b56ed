// Command kubeflow-inception prints the manifests of the Kubeflow rollout of
// seed 003: the inception model served by TensorFlow Serving, the sidecar
// injected by pod annotation only (the namespace is not labelled), egress to
// Google Cloud Storage for the model files, and 5% of traffic moved to v2.
//
//	go run ./examples/kubeflow-inception
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

func app() mesh.App {
	return mesh.App{
		Namespace: mesh.Namespace{Name: "kubeflow", Injection: mesh.InjectPods},
		Egress:    []egress.Spec{egress.GCS("model-store-gcs", "")},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name:    "inception",
				Runtime: serving.TFServing(),
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "gs://kubeflow-examples-data/inception/1"},
					{Name: "v2", ModelURI: "gs://kubeflow-examples-data/inception/2"},
				},
			},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{
				Split: mesh.SplitOf(map[string]int32{"v1": 95, "v2": 5}),
			}}},
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
		fmt.Fprintln(os.Stderr, "kubeflow-inception:", err)
		os.Exit(1)
	}
}
