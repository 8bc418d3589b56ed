package mesh_test

import (
	"os"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// The README's example: a TF Serving model with a 90/10 canary.
func ExampleBuild() {
	objs, err := mesh.Build(mesh.App{
		Namespace: mesh.Namespace{Name: "ml", MTLS: mesh.MTLSStrict},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name: "fraud",
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "s3://models/fraud/1"},
					{Name: "v2", ModelURI: "s3://models/fraud/2"},
				},
			},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{
				Split: mesh.SplitOf(map[string]int32{"v1": 90, "v2": 10}),
			}}},
		}},
	})
	if err != nil {
		panic(err)
	}
	for _, o := range objs {
		os.Stdout.WriteString(render.Describe(o) + "\n")
	}
	// Output:
	// Namespace ml
	// PeerAuthentication ml/default
	// Service ml/fraud
	// Deployment ml/fraud-v1
	// Deployment ml/fraud-v2
	// DestinationRule ml/fraud
	// VirtualService ml/fraud
}

// Validation reports every problem at once, each with its field path.
func ExampleBuild_errors() {
	_, err := mesh.Build(mesh.App{
		Namespace: mesh.Namespace{Name: "ml"},
		Models: []mesh.Model{{
			Model: serving.Model{Name: "fraud", Versions: []serving.Version{{Name: "v1"}, {Name: "v2"}}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{
				Split: []routing.Destination{{Subset: "v1", Weight: 90}, {Subset: "v3", Weight: 0}},
			}}},
		}},
	})
	os.Stdout.WriteString(err.Error() + "\n")
	// Output:
	// invalid mesh.App: models[0].traffic.rules[0].split: weights sum to 90, want 100; models[0].traffic.rules[0].split[1].subset: "v3" not found: want one of the subsets "v1", "v2"
}
