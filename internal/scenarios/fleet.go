package scenarios

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// AnchorFleet returns the App of the anchors' fleet (../shared/anchors) of
// n models in namespace "models" (which exists already): each with v1 (2
// replicas, weight 90) and v2 (1 replica, weight 10) on TF Serving, header
// routing of x-model-version: v2 to v2, a shared ingress Gateway and an S3
// ServiceEntry — 5N+2 objects. examples/fleet prints it, examples/fleetapply
// applies it.
func AnchorFleet(n int) mesh.App {
	two, one := int32(2), int32(1)
	requests := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1"),
		corev1.ResourceMemory: resource.MustParse("2Gi"),
	}
	app := mesh.App{
		Namespace: mesh.Namespace{Name: "models", Existing: true},
		Gateways: []ingress.Spec{{
			Name:    "models-gateway",
			Servers: []ingress.Server{{Port: 80, Name: "http", Hosts: []string{"*"}}},
		}},
		Egress: []egress.Spec{{
			Name:  "model-store-s3",
			Hosts: []string{"s3.amazonaws.com"},
			Ports: []egress.Port{{Number: 443, Name: "https", Protocol: egress.TLS}},
		}},
		Models: make([]mesh.Model, n),
	}
	// What every model shares is made once, as a user writing a fleet
	// would: mlmesh copies what it changes and never writes to its input.
	rt := serving.TFServing()
	traffic := mesh.Traffic{
		Port: 8501,
		Rules: []routing.Rule{
			{
				Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-model-version": routing.Exact("v2")}}},
				Split: []routing.Destination{{Subset: "v2"}},
			},
			{Split: []routing.Destination{{Subset: "v1", Weight: 90}, {Subset: "v2", Weight: 10}}},
		},
		Policy: &routing.TrafficPolicy{TLS: routing.TLSIstioMutual},
	}
	expose := &mesh.Expose{Gateway: "models-gateway"}
	for i := range app.Models {
		name := "model-" + strconv.Itoa(i)
		app.Models[i] = mesh.Model{
			Model: serving.Model{
				Name:    name,
				Runtime: rt,
				Sidecar: serving.SidecarInject,
				Versions: []serving.Version{
					// The anchors' chart has no disruption budget: the
					// same objects as Helm's (compare.sh checks it).
					{Name: "v1", ModelURI: "s3://models/" + name + "/1", Replicas: &two, Resources: corev1.ResourceRequirements{Requests: requests}, Disruption: &serving.Disruption{None: true}},
					{Name: "v2", ModelURI: "s3://models/" + name + "/2", Replicas: &one, Resources: corev1.ResourceRequirements{Requests: requests}},
				},
			},
			Traffic: traffic,
			Expose:  expose,
		}
	}
	return app
}
